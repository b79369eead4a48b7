import Foundation
import TOMLKit
import TrainingCore
import TrainingObjectStore

/// Every problem found in a configuration file, not only the first.
public struct ConfigurationFailure: Error, Sendable, CustomStringConvertible {
    public var errors: [ConfigurationError]

    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

extension DaemonConfiguration {
    /// Where the packaged daemon reads its configuration when neither `--root` nor `--config` is given.
    public static let packagedPath = "/etc/trainingd/trainingd.conf"

    /// Reads and checks a configuration file (TOML).
    public static func load(contentsOf path: String) throws(ConfigurationFailure) -> DaemonConfiguration {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationFailure(errors: [ConfigurationError(
                .unreadable, file: path, "cannot read the configuration (\(error.localizedDescription)); check the path given to --config")])
        }
        return try parse(text, file: path)
    }

    /// Checks configuration text; `file` names it in messages.
    public static func parse(_ text: String, file: String) throws(ConfigurationFailure) -> DaemonConfiguration {
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw ConfigurationFailure(errors: [ConfigurationError(
                .syntax, file: file, "line \(error.source.begin.line), column \(error.source.begin.column): \(error.description)")])
        } catch {
            throw ConfigurationFailure(errors: [ConfigurationError(.syntax, file: file, "\(error)")])
        }
        var reader = ConfigurationReader(file: file)
        var configuration = DaemonConfiguration()
        configuration.sourcePath = file
        reader.read(table, into: &configuration)
        if !reader.errors.isEmpty { throw ConfigurationFailure(errors: reader.errors) }
        return configuration
    }
}

/// Walks the TOML tables section by section, collecting every unknown key and bad value.
private struct ConfigurationReader {
    let file: String
    var errors: [ConfigurationError] = []

    private static let sections: [String: [String]] = [
        "paths": ["spool", "state", "jobs", "logs", "socket", "algorithms", "buckets"],
        "daemon": ["log_level", "region", "account_id"],
        "jobs": ["on_daemon_stop", "max_interruptions", "checkpoint_settle_seconds", "stuck_job_sweep_seconds", "warm_keepers", "allow_oversubscription", "max_concurrent", "stop_grace_period_seconds", "volume_retention_seconds", "log_cap", "job_user", "isolation"],
        "control": ["socket_group", "admin_group", "max_connections", "idle_timeout_seconds"],
        "s3": ["endpoint", "region", "addressing", "profile", "access_key_id", "secret_access_key", "session_token", "rclone"],
        "containers": ["podman"],
        "aws_api": ["listen", "allow_remote", "credentials_file", "job_credentials"],
        "capacity": ["gpus", "cpus", "memory", "instance_scale"],
        "queue": ["max_running_per_user", "max_queued_per_user", "backfill"],
        "limits": ["cgroups", "processes_per_vcpu", "volume_size"],
        "images": [],
        "instance_types": [],
        "filesystems": [],
        "buckets": [],
    ]

    mutating func read(_ root: TOMLTable, into configuration: inout DaemonConfiguration) {
        for (section, value) in root {
            guard let allowed = Self.sections[section] else {
                unknown(section, among: Array(Self.sections.keys), what: "section")
                continue
            }
            guard let table = value.table else {
                bad(section, "must be a [\(section)] section")
                continue
            }
            if section == "images" {
                readImages(table, into: &configuration)
            } else if section == "filesystems" {
                readFileSystems(table, into: &configuration)
            } else if section == "buckets" {
                readBuckets(table, into: &configuration)
            } else if section == "instance_types" {
                readInstanceTypes(table, into: &configuration)
            } else {
                for (key, _) in table where !allowed.contains(key) {
                    unknown("\(section).\(key)", among: allowed.map { "\(section).\($0)" }, what: "key")
                }
                readSection(section, table, into: &configuration)
            }
        }
    }

    private mutating func readSection(_ section: String, _ table: TOMLTable, into c: inout DaemonConfiguration) {
        switch section {
        case "paths":
            for key in ["spool", "state", "jobs", "logs", "socket", "algorithms", "buckets"] {
                guard let path = absolutePath(table, section, key) else { continue }
                switch key {
                case "spool": c.paths.spool = path
                case "state": c.paths.state = path
                case "jobs": c.paths.jobs = path
                case "logs": c.paths.logs = path
                case "socket": c.paths.socket = path
                case "buckets": c.paths.buckets = path
                default: c.paths.algorithms = path
                }
            }
        case "daemon":
            if let level = oneOf(table, section, "log_level", DaemonConfiguration.LogLevel.self) { c.logLevel = level }
            if let region = string(table, section, "region") {
                if region.isEmpty || region.contains(":") { bad("daemon.region", "must be a non-empty name without ':'") } else { c.region = region }
            }
            if let account = string(table, section, "account_id") {
                if account.count == 12, account.allSatisfy(\.isNumber) { c.accountID = account } else { bad("daemon.account_id", "must be 12 digits, like 000000000000") }
            }
        case "jobs":
            if let count = integer(table, section, "max_concurrent", min: 0) { c.maxConcurrentJobs = count == 0 ? nil : count }
            if let grace = integer(table, section, "stop_grace_period_seconds", min: 0) { c.stopGracePeriodSeconds = grace }
            if let retention = integer(table, section, "volume_retention_seconds", min: 0) { c.volumeRetentionSeconds = retention }
            if let cap = byteSize(table, section, "log_cap", min: 4096) { c.logCapBytes = cap }
            if let user = string(table, section, "job_user") { c.jobUser = user.isEmpty ? nil : user }
            if let isolation = oneOf(table, section, "isolation", DaemonConfiguration.Isolation.self) { c.isolation = isolation }
            if let policy = oneOf(table, section, "on_daemon_stop", DaemonConfiguration.DaemonStopPolicy.self) { c.onDaemonStop = policy }
            if let limit = integer(table, section, "max_interruptions", min: 0) { c.maxInterruptions = limit }
            if let settle = integer(table, section, "checkpoint_settle_seconds", min: 0) { c.checkpointSettleSeconds = settle }
            if let warm = integer(table, section, "warm_keepers", min: 0) {
                if warm > 64 { bad("jobs.warm_keepers", "must be at most 64 (each is a waiting process); 2 covers a start at a time") } else { c.warmKeepers = warm }
            }
            if let sweep = integer(table, section, "stuck_job_sweep_seconds", min: 1) { c.stuckJobSweepSeconds = sweep }
            if let value = table["allow_oversubscription"] {
                if let flag = value.bool { c.allowOversubscription = flag } else { bad("\(section).allow_oversubscription", "must be true or false") }
            }
        case "s3":
            c.s3.endpoint = string(table, section, "endpoint")
            c.s3.region = string(table, section, "region")
            if let addressing = string(table, section, "addressing") {
                if ["path", "virtual"].contains(addressing) { c.s3.addressing = addressing } else { bad("s3.addressing", "must be \"path\" or \"virtual\"") }
            }
            c.s3.profile = string(table, section, "profile")
            c.s3.accessKeyID = string(table, section, "access_key_id")
            c.s3.secretAccessKey = string(table, section, "secret_access_key")
            c.s3.sessionToken = string(table, section, "session_token")
            if let rclone = string(table, section, "rclone") {
                if rclone.isEmpty || rclone.hasPrefix("/") { c.rclone = rclone } else { bad("s3.rclone", "must be an absolute path, like \"/usr/bin/rclone\", or \"\" to download FastFile channels instead of mounting them") }
            }
            if (c.s3.accessKeyID == nil) != (c.s3.secretAccessKey == nil) {
                bad("s3", "access_key_id and secret_access_key go together: set both, or neither (then the AWS environment and profiles are used)")
            }
            if let endpoint = c.s3.endpoint, !(endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://")) {
                bad("s3.endpoint", "must be an http:// or https:// URL, like \"http://127.0.0.1:9000\"")
            }
        case "containers":
            if let podman = string(table, section, "podman") {
                if podman.isEmpty || podman.hasPrefix("/") { c.podman = podman } else { bad("containers.podman", "must be an absolute path, like \"/usr/bin/podman\", or \"\" to run no container images") }
            }
        case "queue":
            if let count = integer(table, section, "max_running_per_user", min: 0) { c.queue.maxRunningPerUser = count == 0 ? nil : count }
            if let count = integer(table, section, "max_queued_per_user", min: 0) { c.queue.maxQueuedPerUser = count == 0 ? nil : count }
            if let value = table["backfill"] {
                if let flag = value.bool { c.queue.backfill = flag } else { bad("queue.backfill", "must be true or false") }
            }
        case "limits":
            if let mode = string(table, section, "cgroups") {
                if let value = HostLimitPolicy.Enforcement(rawValue: mode) { c.limits.cgroups = value } else {
                    bad("limits.cgroups", "must be \"auto\" (limit what the cgroup controllers here can), \"required\" (refuse to start without them) or \"none\"")
                }
            }
            if let count = integer(table, section, "processes_per_vcpu", min: 1) { c.limits.processesPerVCPU = count }
            if let mode = string(table, section, "volume_size") {
                if let value = HostLimitPolicy.Enforcement(rawValue: mode) { c.limits.volumeSize = value } else {
                    bad("limits.volume_size", "must be \"auto\" (each volume a file system of VolumeSizeInGB where the daemon can make one), \"required\" (refuse to start otherwise) or \"none\"")
                }
            }
        case "capacity":
            if let count = integer(table, section, "cpus", min: 1) { c.capacityCPUs = count }
            if let size = byteSize(table, section, "memory", min: 1 << 20) { c.capacityMemoryMiB = size >> 20 }
            if let value = table["instance_scale"] {
                if let factor = value.double ?? value.int.map(Double.init), factor > 0, factor <= 1 {
                    c.instanceScale = factor
                } else {
                    bad("capacity.instance_scale", "must be a number above 0 and at most 1, like 0.25 (each host then needs a quarter of its instance type's vCPUs and memory)")
                }
            }
            if let value = table["gpus"] {
                let example = "[{ index = 0, uuid = \"GPU-...\" }, ...] (index as in /dev/nvidiaN, uuid as nvidia-smi -L shows it)"
                guard let list = value.array else {
                    bad("capacity.gpus", "must be a list of GPUs: \(example)")
                    break
                }
                var devices: [GPUDevice] = []
                for (position, entry) in list.enumerated() {
                    guard let gpu = entry.table, let index = gpu["index"]?.int, index >= 0, gpu.keys.allSatisfy({ ["index", "uuid"].contains($0) }) else {
                        bad("capacity.gpus[\(position)]", "must be { index = N, uuid = \"GPU-...\" } with N a whole number from 0: \(example)")
                        continue
                    }
                    let device = GPUDevice(index: index, uuid: gpu["uuid"]?.string ?? "")
                    if devices.contains(where: { $0.index == index || (!device.uuid.isEmpty && $0.uuid == device.uuid) }) {
                        bad("capacity.gpus[\(position)]", "GPU \(index) is listed twice; each GPU once")
                        continue
                    }
                    devices.append(device)
                }
                c.gpus = devices
            }
        case "aws_api":
            if let listen = string(table, section, "listen") { c.awsAPI.listen = listen.isEmpty ? nil : listen }
            if let value = table["allow_remote"] {
                if let flag = value.bool { c.awsAPI.allowRemote = flag } else { bad("aws_api.allow_remote", "must be true or false") }
            }
            if let path = string(table, section, "credentials_file") {
                if path.hasPrefix("/") { c.paths.awsCredentials = path } else { bad("aws_api.credentials_file", "must be an absolute path, like \"/etc/trainingd/aws-credentials\"") }
            }
            if let mode = string(table, section, "job_credentials") {
                if let value = DaemonConfiguration.AWSAPI.JobCredentials(rawValue: mode) {
                    c.awsAPI.jobCredentials = value
                } else {
                    bad("aws_api.job_credentials", "must be \"owner\" (the owner's key of the credentials file) or \"none\"")
                }
            }
            if let listen = c.awsAPI.listen {
                switch ListenAddress.parse(listen) {
                case .failure(let reason):
                    bad("aws_api.listen", reason.reason)
                case .success(let address) where !address.isLoopback && !c.awsAPI.allowRemote:
                    bad("aws_api.listen", "\(listen) is not a loopback address; the API is plain HTTP, so it listens on 127.0.0.1 or [::1] unless allow_remote = true says otherwise")
                default:
                    break
                }
            }
        case "control":
            if let group = string(table, section, "socket_group") { c.socketGroup = group.isEmpty ? nil : group }
            if let group = string(table, section, "admin_group") { c.adminGroup = group.isEmpty ? nil : group }
            if let count = integer(table, section, "max_connections", min: 1) { c.maxConnections = count }
            if let seconds = integer(table, section, "idle_timeout_seconds", min: 1) { c.idleTimeoutSeconds = seconds }
        default:
            break
        }
    }

    private mutating func readImages(_ table: TOMLTable, into c: inout DaemonConfiguration) {
        for (name, value) in table {
            let section = "images.\"\(name)\""
            guard let image = value.table else {
                bad(section, "must be a table: [images.\"\(name)\"] with entrypoint = [...]")
                continue
            }
            let keys = ["entrypoint", "root_filesystem", "environment", "image"]
            for (key, _) in image where !keys.contains(key) {
                unknown("\(section).\(key)", among: keys.map { "\(section).\($0)" }, what: "key")
            }
            var entry = ImageEntry(entrypoint: [])
            if let reference = image["image"] {
                guard let text = reference.string, !text.isEmpty, !text.hasPrefix("/") else {
                    bad("\(section).image", "must name an image of the local container storage, like \"localhost/my-algorithm:1\" (see `podman images`)")
                    continue
                }
                if image["entrypoint"] != nil || image["root_filesystem"] != nil {
                    bad(section, "gives an image and an entrypoint or root_filesystem: use image = \"...\" (a container image, whose own configuration says what it runs), or entrypoint (and root_filesystem), not both")
                    continue
                }
                entry.reference = text
            } else {
                guard let entrypoint = image["entrypoint"]?.array?.compactMap({ $0.string }),
                    entrypoint.count == image["entrypoint"]?.array?.count, !entrypoint.isEmpty
                else {
                    bad("\(section).entrypoint", "is required: a non-empty list of strings, e.g. [\"/usr/bin/python3\", \"/opt/program/train.py\"], or give image = \"...\" (a local container image)")
                    continue
                }
                entry.entrypoint = entrypoint
            }
            if image["root_filesystem"] != nil {
                guard let root = absolutePath(image, section, "root_filesystem") else { continue }
                entry.rootFilesystem = root
            }
            if let environment = image["environment"] {
                guard let variables = environment.table else {
                    bad("\(section).environment", "must be a table of strings, e.g. { PYTHONUNBUFFERED = \"1\" }")
                    continue
                }
                for (key, value) in variables {
                    guard let text = value.string else {
                        bad("\(section).environment.\(key)", "must be a string")
                        continue
                    }
                    entry.environment[key] = text
                }
            }
            c.images[name] = entry
        }
    }

    private mutating func readFileSystems(_ table: TOMLTable, into c: inout DaemonConfiguration) {
        for (id, value) in table {
            let section = "filesystems.\(id)"
            if !Patterns.fileSystemId.matches(id) {
                bad(section, "is not a FileSystemId; use the form fs-0123456789abcdef0")
            }
            guard let fileSystem = value.table else {
                bad(section, "must be a table: [filesystems.\(id)] with path = \"/srv/...\"")
                continue
            }
            for (key, _) in fileSystem where !["path", "read_only"].contains(key) {
                unknown("\(section).\(key)", among: ["\(section).path", "\(section).read_only"], what: "key")
            }
            guard let path = absolutePath(fileSystem, section, "path", required: true) else { continue }
            var mount = FileSystemMount(path: path)
            if let readOnly = fileSystem["read_only"] {
                guard let flag = readOnly.bool else {
                    bad("\(section).read_only", "must be true or false")
                    continue
                }
                mount.readOnly = flag
            }
            c.fileSystems[id] = mount
        }
    }

    private mutating func readBuckets(_ table: TOMLTable, into c: inout DaemonConfiguration) {
        let s3Keys = ["endpoint", "region", "addressing", "profile", "access_key_id", "secret_access_key", "session_token"]
        for (name, value) in table {
            let section = "buckets.\"\(name)\""
            if !LocalBuckets.isValidBucketName(name) {
                bad(section, "is not an S3 bucket name (3 to 63 of a-z, 0-9, '.' and '-', starting and ending with a letter or digit)")
                continue
            }
            guard let bucket = value.table else {
                bad(section, "must be a table: [buckets.\"\(name)\"] with path = \"/srv/buckets/\(name)\", or S3 keys (endpoint, profile, ...)")
                continue
            }
            for (key, _) in bucket where key != "path" && !s3Keys.contains(key) {
                unknown("\(section).\(key)", among: (["path"] + s3Keys).map { "\(section).\($0)" }, what: "key")
            }
            let s3Given = bucket.contains { s3Keys.contains($0.0) }
            if bucket["path"] != nil, s3Given {
                bad(section, "has both path (a local bucket) and S3 keys (a bucket on an S3 endpoint); keep one")
                continue
            }
            guard s3Given else {
                guard let path = absolutePath(bucket, section, "path", required: true) else { continue }
                c.buckets[name] = path
                continue
            }
            // A bucket of its own S3 endpoint (or profile, or keys): what is not set here comes from [s3] and the AWS environment.
            var settings = S3Settings.Configured()
            settings.endpoint = string(bucket, section, "endpoint")
            settings.region = string(bucket, section, "region")
            if let addressing = string(bucket, section, "addressing") {
                if ["path", "virtual"].contains(addressing) { settings.addressing = addressing } else { bad("\(section).addressing", "must be \"path\" or \"virtual\"") }
            }
            settings.profile = string(bucket, section, "profile")
            settings.accessKeyID = string(bucket, section, "access_key_id")
            settings.secretAccessKey = string(bucket, section, "secret_access_key")
            settings.sessionToken = string(bucket, section, "session_token")
            if (settings.accessKeyID == nil) != (settings.secretAccessKey == nil) {
                bad(section, "access_key_id and secret_access_key go together: set both, or neither")
            }
            c.bucketS3[name] = settings
        }
    }

    /// `[instance_types."ml.custom.large"] vcpus = 4, memory = "16GiB", gpus = 0`: a type of the
    /// site's own, or a built-in type's figures replaced (all three keys, so that none is guessed).
    private mutating func readInstanceTypes(_ table: TOMLTable, into c: inout DaemonConfiguration) {
        let keys = ["vcpus", "memory", "gpus"]
        for (name, value) in table {
            let section = "instance_types.\"\(name)\""
            guard name.hasPrefix("ml."), name.count <= 64, name.split(separator: ".", omittingEmptySubsequences: false).count == 3 else {
                bad(section, "is not an instance type name: ml.FAMILY.SIZE, like \"ml.m5.xlarge\", at most 64 characters")
                continue
            }
            guard let entry = value.table else {
                bad(section, "must be a table: [\(section)] with vcpus = 4, memory = \"16GiB\", gpus = 0")
                continue
            }
            for (key, _) in entry where !keys.contains(key) {
                unknown("\(section).\(key)", among: keys.map { "\(section).\($0)" }, what: "key")
            }
            let vcpus = integer(entry, section, "vcpus", min: 1)
            let memory = byteSize(entry, section, "memory", min: 1 << 20)
            let gpus = integer(entry, section, "gpus", min: 0)
            guard let vcpus, let memory, let gpus else {
                let missing = zip(keys, [vcpus as Int?, memory, gpus]).filter { entry[$0.0] == nil }.map(\.0)
                if !missing.isEmpty { bad(section, "needs \(missing.joined(separator: ", ")) as well: each type says all of vcpus, memory and gpus") }
                continue
            }
            c.instanceTypes[name] = InstanceSpec(vcpus: vcpus, memoryMiB: memory >> 20, gpus: gpus)
        }
    }

    private mutating func string(_ table: TOMLTable, _ section: String, _ key: String) -> String? {
        guard let value = table[key] else { return nil }
        guard let text = value.string else {
            bad("\(section).\(key)", "must be a string in double quotes")
            return nil
        }
        return text
    }

    private mutating func absolutePath(_ table: TOMLTable, _ section: String, _ key: String, required: Bool = false) -> String? {
        guard table[key] != nil else {
            if required { bad("\(section).\(key)", "is required: an absolute path") }
            return nil
        }
        guard let path = string(table, section, key) else { return nil }
        guard path.hasPrefix("/") else {
            bad("\(section).\(key)", "must be an absolute path, not '\(path)'")
            return nil
        }
        return path
    }

    private mutating func integer(_ table: TOMLTable, _ section: String, _ key: String, min: Int) -> Int? {
        guard let value = table[key] else { return nil }
        guard let number = value.int, number >= min else {
            bad("\(section).\(key)", "must be a whole number of at least \(min)")
            return nil
        }
        return number
    }

    private mutating func byteSize(_ table: TOMLTable, _ section: String, _ key: String, min: Int) -> Int? {
        guard let value = table[key] else { return nil }
        let size = value.int ?? value.string.flatMap(ByteSize.parse)
        guard let size, size >= min else {
            bad("\(section).\(key)", "must be a size of at least \(min) bytes: a number of bytes or a string such as \"64MiB\"")
            return nil
        }
        return size
    }

    private mutating func oneOf<E: RawRepresentable & CaseIterable>(_ table: TOMLTable, _ section: String, _ key: String, _ type: E.Type) -> E?
    where E.RawValue == String {
        guard let text = string(table, section, key) else { return nil }
        guard let value = E(rawValue: text) else {
            bad("\(section).\(key)", "must be one of \(E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")), not \"\(text)\"")
            return nil
        }
        return value
    }

    private mutating func bad(_ key: String, _ message: String) {
        errors.append(ConfigurationError(.badValue, file: file, key: key, message))
    }

    private mutating func unknown(_ key: String, among known: [String], what: String) {
        var message = "unknown \(what)"
        if let suggestion = Spelling.closest(to: key, among: known) {
            message += "; did you mean '\(suggestion)'?"
        } else {
            message += "; etc/trainingd/trainingd.conf lists every key"
        }
        errors.append(ConfigurationError(.unknownKey, file: file, key: key, message))
    }
}

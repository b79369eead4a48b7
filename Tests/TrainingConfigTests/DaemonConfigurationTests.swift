import Foundation
import Testing
import TrainingConfig
import TrainingCore

@Suite("Daemon configuration")
struct DaemonConfigurationTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func errors(_ text: String) -> [String] {
        do {
            _ = try DaemonConfiguration.parse(text, file: "t.conf")
            return []
        } catch {
            return error.errors.map(\.description)
        }
    }

    @Test("the shipped example parses and equals the defaults")
    func example() throws {
        var configuration = try DaemonConfiguration.load(contentsOf: Self.repository.appendingPathComponent("etc/trainingd/trainingd.conf").path)
        #expect(configuration.sourcePath?.hasSuffix("etc/trainingd/trainingd.conf") == true)
        configuration.sourcePath = nil
        #expect(configuration == DaemonConfiguration())
    }

    @Test("defaults without a file")
    func defaults() {
        let configuration = DaemonConfiguration()
        #expect(configuration.stopGracePeriodSeconds == 120)
        #expect(configuration.paths.socket == "/run/trainingd/control.sock")
        #expect(configuration.paths.database == "/var/lib/trainingd/state/trainingd.db")
        #expect(configuration.maxConcurrentJobs == nil)
        #expect(configuration.maxConnections == 1024 && configuration.idleTimeoutSeconds == 60)
        #expect(configuration.arn(ofJob: "j") == "arn:aws:sagemaker:local:000000000000:training-job/j")
    }

    @Test("--root puts every path inside the root")
    func root() {
        let paths = DaemonConfiguration.Paths(root: "/tmp/r/")
        for path in [paths.spool, paths.state, paths.jobs, paths.logs, paths.socket, paths.database] {
            #expect(path.hasPrefix("/tmp/r/"))
        }
    }

    @Test("values are read, sizes take units")
    func values() throws {
        let configuration = try DaemonConfiguration.parse("""
            [jobs]
            max_concurrent = 2
            stop_grace_period_seconds = 5
            log_cap = "1 MiB"
            isolation = "none"
            [images."algo:1"]
            entrypoint = ["/bin/sh", "-c", "echo"]
            root_filesystem = "/srv/root"
            environment = { A = "1" }
            [filesystems.fs-0123456789abcdef0]
            path = "/srv/fs"
            read_only = true
            """, file: "t.conf")
        #expect(configuration.maxConcurrentJobs == 2)
        #expect(configuration.stopGracePeriodSeconds == 5)
        #expect(configuration.logCapBytes == 1_048_576)
        #expect(configuration.isolation == .none)
        #expect(configuration.images["algo:1"] == ImageEntry(entrypoint: ["/bin/sh", "-c", "echo"], rootFilesystem: "/srv/root", environment: ["A": "1"]))
        #expect(configuration.fileSystems["fs-0123456789abcdef0"] == FileSystemMount(path: "/srv/fs", readOnly: true))
    }

    @Test("container images: an image-table entry maps a URI to a local image; [containers] podman names the tool; mixing both kinds of entry is an error")
    func containerImages() throws {
        let configuration = try DaemonConfiguration.parse("""
            [containers]
            podman = "/opt/podman/bin/podman"
            [images."683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"]
            image = "localhost/sklearn:1.2"
            environment = { A = "1" }
            """, file: "t.conf")
        #expect(configuration.podman == "/opt/podman/bin/podman")
        let entry = try #require(configuration.images["683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"])
        #expect(entry.reference == "localhost/sklearn:1.2" && entry.environment == ["A": "1"] && entry.container == nil)
        #expect(DaemonConfiguration().podman == "/usr/bin/podman")
        for (text, key) in [("[images.\"a\"]\nimage = \"x\"\nentrypoint = [\"/t\"]", "images.\"a\""), ("[images.\"a\"]\nimage = \"/x\"", "images.\"a\".image"),
                            ("[containers]\npodman = \"podman\"", "containers.podman"), ("[containers]\nengine = \"x\"", "containers.engine")] {
            do {
                _ = try DaemonConfiguration.parse(text, file: "t.conf")
                Issue.record("accepted: \(text)")
            } catch {
                #expect("\(error)".contains(key), "\(error)")
            }
        }
    }

    @Test("the TCP API: listen on loopback, the credentials file and what jobs get; other addresses only when allowed; bad values name their key")
    func awsAPI() throws {
        #expect(DaemonConfiguration().awsAPI.listen == nil)
        #expect(DaemonConfiguration().awsAPI.jobCredentials == .owner)
        #expect(DaemonConfiguration.Paths(root: "/r").awsCredentials == "/r/aws-credentials")
        let configuration = try DaemonConfiguration.parse("""
            [aws_api]
            listen = "127.0.0.1:8470"
            credentials_file = "/srv/keys"
            job_credentials = "none"
            """, file: "t.conf")
        #expect(configuration.awsAPI.listen == "127.0.0.1:8470")
        #expect(configuration.paths.awsCredentials == "/srv/keys")
        #expect(configuration.awsAPI.jobCredentials == DaemonConfiguration.AWSAPI.JobCredentials.none)
        #expect(try DaemonConfiguration.parse("[aws_api]\nlisten = \"[::1]:8470\"", file: "t.conf").awsAPI.listen == "[::1]:8470")
        #expect(try DaemonConfiguration.parse("[aws_api]\nlisten = \"10.0.0.5:8470\"\nallow_remote = true", file: "t.conf").awsAPI.allowRemote)
        for (text, message) in [
            ("listen = \"10.0.0.5:8470\"", "not a loopback address"), ("listen = \"0.0.0.0:8470\"", "not a loopback address"),
            ("listen = \"localhost:8470\"", "must be an IP address"), ("listen = \"127.0.0.1\"", "address:port"),
            ("listen = \"127.0.0.1:99999\"", "from 1 to 65535"), ("job_credentials = \"daemon\"", "aws_api.job_credentials"),
            ("credentials_file = \"keys\"", "aws_api.credentials_file"), ("port = 1", "aws_api.port"),
        ] {
            Self.expectRefused("[aws_api]\n" + text, saying: message)
        }
    }

    /// `text` is refused, with `message` in what is said.
    static func expectRefused(_ text: String, saying message: String) {
        do {
            _ = try DaemonConfiguration.parse(text, file: "t.conf")
            Issue.record("accepted: \(text)")
        } catch {
            #expect("\(error)".contains(message), "\(error)")
        }
    }

    @Test("[capacity] gpus: a list of GPUs by index and UUID, each once; by default none configured (the driver's are used)")
    func capacityGPUs() throws {
        #expect(DaemonConfiguration().gpus == nil)
        let configuration = try DaemonConfiguration.parse("[capacity]\ngpus = [{ index = 0, uuid = \"GPU-a\" }, { index = 3 }]", file: "t.conf")
        #expect(configuration.gpus == [GPUDevice(index: 0, uuid: "GPU-a"), GPUDevice(index: 3, uuid: "")])
        #expect(try DaemonConfiguration.parse("[capacity]\ngpus = []", file: "t.conf").gpus == [])
        for (text, key) in [("gpus = 2", "capacity.gpus"), ("gpus = [{ index = -1 }]", "capacity.gpus[0]"),
                            ("gpus = [{ index = 0 }, { index = 0 }]", "capacity.gpus[1]"), ("gpus = [{ index = 0, name = \"x\" }]", "capacity.gpus[0]")] {
            Self.expectRefused("[capacity]\n" + text, saying: key)
        }
    }

    @Test("[capacity] cpus, memory and instance_scale; [instance_types] adds or replaces types; [queue] limits and backfill")
    func capacityAndQueue() throws {
        let configuration = try DaemonConfiguration.parse("""
            [capacity]
            cpus = 16
            memory = "64GiB"
            instance_scale = 0.25
            [instance_types."ml.lab.small"]
            vcpus = 2
            memory = "4GiB"
            gpus = 0
            [queue]
            max_running_per_user = 4
            max_queued_per_user = 100
            backfill = false
            """, file: "t.conf")
        #expect(configuration.capacityCPUs == 16 && configuration.capacityMemoryMiB == 64 * 1024 && configuration.instanceScale == 0.25)
        #expect(configuration.instanceTypes == ["ml.lab.small": InstanceSpec(vcpus: 2, memoryMiB: 4096)])
        #expect(configuration.queue.maxRunningPerUser == 4 && configuration.queue.maxQueuedPerUser == 100 && !configuration.queue.backfill)
        let site = try configuration.loadSiteCatalog()
        #expect(site.machine?.cpus == 16 && site.machine?.memoryMiB == 64 * 1024 && site.machine?.instanceScale == 0.25)
        #expect(site.instanceTypes.spec(of: "ml.lab.small") != nil && site.instanceTypes.spec(of: "ml.m5.large") != nil)
        let defaults = DaemonConfiguration()
        #expect(defaults.instanceScale == 1 && defaults.queue.backfill && defaults.queue.maxRunningPerUser == nil)
        for (text, key) in [("[capacity]\ninstance_scale = 2", "capacity.instance_scale"), ("[capacity]\ninstance_scale = 0", "capacity.instance_scale"),
                            ("[capacity]\ncpus = 0", "capacity.cpus"), ("[capacity]\nmemory = \"lots\"", "capacity.memory"),
                            ("[instance_types.\"m5.large\"]\nvcpus = 2\nmemory = \"8GiB\"\ngpus = 0", "is not an instance type name"),
                            ("[instance_types.\"ml.lab.x\"]\nvcpus = 2", "needs memory, gpus as well"),
                            ("[instance_types.\"ml.lab.x\"]\nvcpus = 2\nmemory = \"8GiB\"\ngpus = 0\ncores = 1", "ml.lab.x\".cores"),
                            ("[queue]\nbackfill = 1", "queue.backfill")] {
            Self.expectRefused(text, saying: key)
        }
    }

    @Test("[limits]: cgroups auto, required or none, and processes per vCPU; a bad value names the key and the choices")
    func limits() throws {
        let configuration = try DaemonConfiguration.parse("""
            [limits]
            cgroups = "required"
            processes_per_vcpu = 256
            """, file: "t.conf")
        #expect(configuration.limits.cgroups == .required && configuration.limits.processesPerVCPU == 256)
        #expect(DaemonConfiguration().limits == HostLimitPolicy())
        #expect(DaemonConfiguration().limits.cgroups == .auto && DaemonConfiguration().limits.processesPerVCPU == 1024)
        Self.expectRefused("[limits]\ncgroups = \"on\"", saying: "limits.cgroups")
        Self.expectRefused("[limits]\nprocesses_per_vcpu = 0", saying: "limits.processes_per_vcpu")
        Self.expectRefused("[limits]\nmemory = 1", saying: "limits.memory")
        // A reload applies the process count; the cgroup mode needs a restart.
        let reloaded = try DaemonConfiguration.parse("[limits]\ncgroups = \"none\"\nprocesses_per_vcpu = 8", file: "t.conf")
        #expect(configuration.restartOnlyChanges(in: reloaded).contains("limits.cgroups"))
        #expect(configuration.reloaded(from: reloaded).limits.processesPerVCPU == 8)
    }

    @Test("local buckets: by name, and the default directory under [paths] (the root's buckets/ with --root); bad names are reported")
    func buckets() throws {
        let configuration = try DaemonConfiguration.parse("""
            [paths]
            buckets = "/srv/buckets"
            [buckets."my-bucket"]
            path = "/srv/elsewhere"
            """, file: "t.conf")
        #expect(configuration.buckets == ["my-bucket": "/srv/elsewhere"])
        #expect(configuration.paths.buckets == "/srv/buckets")
        #expect(DaemonConfiguration.Paths(root: "/tmp/r").buckets == "/tmp/r/buckets")
        #expect(errors("[buckets.\"Not_A_Bucket\"]\npath = \"/x\"\n").first?.contains("is not an S3 bucket name") == true)
        #expect(errors("[buckets.\"ok-bucket\"]\ndirectory = \"/x\"\n").contains { $0.contains("buckets.\"ok-bucket\".directory: unknown key") })
        #expect(errors("[buckets.\"ok-bucket\"]\npath = \"x\"\n").contains { $0.contains("must be an absolute path") })
    }

    @Test("[s3] and buckets of their own endpoint: the keys are read, and what cannot work is named")
    func s3Sections() throws {
        let configuration = try DaemonConfiguration.parse("""
            [s3]
            endpoint = "http://127.0.0.1:9000"
            region = "eu-west-1"
            addressing = "path"
            [buckets."remote-data"]
            endpoint = "https://store.example.com"
            profile = "datasets"
            """, file: "t.conf")
        #expect(configuration.s3.endpoint == "http://127.0.0.1:9000" && configuration.s3.region == "eu-west-1" && configuration.s3.addressing == "path")
        #expect(configuration.bucketS3["remote-data"]?.endpoint == "https://store.example.com")
        #expect(configuration.bucketS3["remote-data"]?.profile == "datasets")
        #expect(configuration.buckets.isEmpty)
        #expect(errors("[s3]\naddressing = \"sideways\"\n").contains { $0.contains("s3.addressing") })
        #expect(errors("[s3]\nendpoint = \"ftp://x\"\n").contains { $0.contains("s3.endpoint") })
        #expect(errors("[s3]\naccess_key_id = \"A\"\n").contains { $0.contains("go together") })
        #expect(errors("[buckets.\"both-ways\"]\npath = \"/x\"\nendpoint = \"http://y\"\n").contains { $0.contains("keep one") })
    }

    @Test("unknown keys and sections are named, with a suggestion")
    func unknownKeys() {
        #expect(errors("[jobs]\nmax_concurent = 1\n") == ["t.conf: jobs.max_concurent: unknown key; did you mean 'jobs.max_concurrent'?"])
        #expect(errors("[job]\n") == ["t.conf: job: unknown section; did you mean 'jobs'?"])
        #expect(errors("[images.\"a\"]\nentrypoint = [\"/x\"]\nrootfs = \"/r\"\n").first?.contains("images.\"a\".rootfs: unknown key") == true)
    }

    @Test("bad values are named and every one is reported")
    func badValues() {
        let found = errors("""
            [jobs]
            stop_grace_period_seconds = -1
            isolation = "full"
            log_cap = "lots"
            [paths]
            spool = "relative/dir"
            [daemon]
            account_id = "12"
            """)
        #expect(found.count == 5)
        #expect(found.contains("t.conf: jobs.stop_grace_period_seconds: must be a whole number of at least 0"))
        #expect(found.contains("t.conf: jobs.isolation: must be one of \"auto\", \"namespaces\", \"none\", not \"full\""))
        #expect(found.contains("t.conf: paths.spool: must be an absolute path, not 'relative/dir'"))
    }

    @Test("syntax errors give the line")
    func syntax() {
        #expect(errors("[jobs]\nmax_concurrent = = 1\n").first?.hasPrefix("t.conf: line 2") == true)
        #expect(errors("a = 1\na = 2\n").first?.hasPrefix("t.conf: line 2") == true)
    }

    @Test("the algorithms directory is loaded and checked")
    func algorithms() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("algos-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let algorithm = #"{"AlgorithmName":"lin","TrainingSpecification":{"TrainingImage":"/bin/true","SupportedTrainingInstanceTypes":["ml.m5.large"],"TrainingChannels":[{"Name":"train","SupportedContentTypes":["text/csv"],"SupportedInputModes":["File"]}]}}"#
        try algorithm.write(to: directory.appendingPathComponent("lin.json"), atomically: true, encoding: .utf8)
        var configuration = DaemonConfiguration()
        configuration.paths.algorithms = directory.path
        let site = try configuration.loadSiteCatalog()
        #expect(site.algorithms.keys.sorted() == ["lin"])
        #expect(site.resolveImage("/bin/true") != nil)
        #expect(site.resolveImage("/etc/passwd") == nil)

        try algorithm.write(to: directory.appendingPathComponent("other.json"), atomically: true, encoding: .utf8)
        #expect(throws: ConfigurationFailure.self) { try configuration.loadSiteCatalog() }
    }
}

@Suite("Configuration reload")
struct ConfigurationReloadTests {
    @Test("a reload takes the reloadable keys and keeps the rest")
    func reloadable() throws {
        let running = try DaemonConfiguration.parse("""
            [jobs]
            max_concurrent = 2
            stop_grace_period_seconds = 120
            isolation = "auto"
            [paths]
            spool = "/srv/spool"
            """, file: "old.conf")
        let edited = try DaemonConfiguration.parse("""
            [daemon]
            log_level = "debug"
            region = "eu-west-1"
            [jobs]
            max_concurrent = 8
            stop_grace_period_seconds = 30
            job_user = "trainer"
            log_cap = "1MiB"
            isolation = "none"
            [paths]
            spool = "/srv/other-spool"
            [images."tiny:1"]
            entrypoint = ["/bin/true"]
            """, file: "new.conf")
        #expect(running.restartOnlyChanges(in: edited) == ["paths.spool", "daemon.region", "jobs.isolation"])
        let applied = running.reloaded(from: edited)
        #expect(applied.logLevel == .debug && applied.maxConcurrentJobs == 8 && applied.stopGracePeriodSeconds == 30)
        #expect(applied.jobUser == "trainer" && applied.logCapBytes == 1 << 20 && applied.images.keys.sorted() == ["tiny:1"])
        #expect(applied.paths.spool == "/srv/spool" && applied.region == "local" && applied.isolation == .auto)
        #expect(running.restartOnlyChanges(in: applied).isEmpty)
    }

    @Test("the control socket's limits are read, checked, and need a restart")
    func controlLimits() throws {
        let running = DaemonConfiguration()
        let edited = try DaemonConfiguration.parse("""
            [control]
            max_connections = 16
            idle_timeout_seconds = 1
            """, file: "new.conf")
        #expect(edited.maxConnections == 16 && edited.idleTimeoutSeconds == 1)
        #expect(running.restartOnlyChanges(in: edited) == ["control.max_connections", "control.idle_timeout_seconds"])
        #expect(running.reloaded(from: edited).maxConnections == 1024)
        #expect(throws: ConfigurationFailure.self) { try DaemonConfiguration.parse("[control]\nmax_connections = 0", file: "t.conf") }
        #expect(throws: ConfigurationFailure.self) { try DaemonConfiguration.parse("[control]\nidle_timeout_seconds = \"1m\"", file: "t.conf") }
    }
}

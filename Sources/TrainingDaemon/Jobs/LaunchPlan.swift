import Foundation
import TrainingCore
import TrainingStaging
import TrainingObjectStore
import TrainingRuntime

/// How jobs see their volume on this host.
enum VolumeMode: Sendable, Equatable {
    /// A private mount namespace binds the volume at /opt/ml (and FastFile and file-system channels inside it).
    case boundAtOptML
    /// No namespaces: the algorithm finds the volume through SAGEMAKER_BASE_DIR and the SM_* paths.
    case environmentOnly
}

/// A bind mount in the job's view.
struct PlannedBind: Sendable, Equatable {
    var source: String
    var target: String
    var readOnly: Bool
}

/// Everything needed to stage and start one host of a job, computed without side effects.
struct HostLaunchPlan: Sendable {
    var host: ClusterLayout.Host
    var volume: HostVolume
    var staging: StagingRequest
    var argv: [String]
    var environment: [String: String]
    var binds: [PlannedBind]
    var workingDirectory: String
    /// A note for the job's status message (e.g. how the volume is reached).
    var notes: [String]
    /// Intermediate and TensorBoard output, copied to their `file://` locations while the algorithm runs.
    var syncedDirectories: [SyncedDirectory] = []
    /// The host's name in its own UTS namespace (`algo-N`); nil without namespaces.
    var hostname: String?
    /// Pipe-mode channels, streamed by the host's Pipe worker while the algorithm runs.
    var pipeChannels: [PipeChannel] = []
    /// FastFile channels of the S3 endpoint, mounted (read-only, by rclone) before the algorithm
    /// starts and bound at their channel's path; unmounted when it ends.
    var remoteMounts: [RemoteMount] = []
    /// A container of the image's layers as the algorithm's root, its writable layer in the
    /// job's `.work` (`JobFiles.containerDirectoryName`); nil for an executable of the host.
    var container: ContainerRoot?
}

/// A FastFile channel of the S3 endpoint, mounted at `mount.mountPoint` in the job's `.work`.
struct RemoteMount: Sendable, Equatable {
    var channel: String
    var mount: RcloneMount
}

/// Why a job cannot be planned: always the job's or its configuration's fault (ClientError).
struct PlanningError: Error {
    var message: String
}

enum LaunchPlanner {
    static let defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

    static func plan(
        request: CreateTrainingJobRequest, jobArn: String, site: SiteCatalog, locations: ObjectLocations, jobDirectory: String,
        owner: UserAccount, mode: VolumeMode, cpuCount: Int, rclone: String? = nil, awsEnvironment: [String: String] = [:],
        gpus: [String: [GPUDevice]] = [:], deviceDirectory: String = "/dev"
    ) throws(PlanningError) -> [HostLaunchPlan] {
        let cluster = ClusterLayout(resources: request.resourceConfig)
        let image = try resolveImage(request, site: site)
        if image.container != nil || image.rootFilesystem != nil, mode != .boundAtOptML {
            throw PlanningError(message: "the training image runs in a container (an image, or a root_filesystem), which needs a mount namespace, and this host has none for jobs (the /opt/ml mount point is missing or [jobs] isolation is \"none\"); create /opt/ml, or give an executable")
        }
        return try cluster.hosts.map { host throws(PlanningError) in
            let volume = HostVolume(root: jobDirectory + "/" + host.name)
            let configuration = AlgorithmConfiguration(request: request, cluster: cluster, host: host)
            var staging = StagingRequest(volume: volume, configFiles: Dictionary(uniqueKeysWithValues: configuration.configFiles(jobArn: jobArn).map { ($0.name, $0.contents) }))
            var binds: [PlannedBind] = []
            var notes: [String] = []
            var remoteMounts: [RemoteMount] = []
            if mode == .boundAtOptML { binds.append(PlannedBind(source: volume.root, target: "/opt/ml", readOnly: false)) }
            if mode == .boundAtOptML {
                // The job's /etc/hosts names every algo-N (HostNetwork); a container gets one
                // even if its image has none (the keeper makes the target in its writable layer).
                binds.append(PlannedBind(source: jobDirectory + "/" + JobFiles.hostsFileName, target: "/etc/hosts", readOnly: true))
            }
            var pipeChannels: [PipeChannel] = []
            for channel in request.inputDataConfig ?? [] {
                let target = "/opt/ml/input/data/" + channel.channelName
                let modeOfChannel = request.inputMode(of: channel)
                func piped(_ source: ChannelSource, _ distribution: S3DataDistributionType) -> PipeChannel {
                    PipeChannel(name: channel.channelName, source: source, distribution: distribution, rank: host.rank, hostCount: cluster.hosts.count,
                                gzip: channel.compressionType == .gzip, recordIO: channel.recordWrapperType == .recordIO,
                                shuffleSeed: channel.shuffleConfig?.seed, directory: volume.dataDirectory)
                }
                if let fileSystem = channel.dataSource.fileSystemDataSource, modeOfChannel == .pipe {
                    guard let mount = site.fileSystems[fileSystem.fileSystemId] else {
                        throw PlanningError(message: "FileSystemId \(fileSystem.fileSystemId) is not mapped in the daemon's configuration")
                    }
                    let source = mount.path + (fileSystem.directoryPath.hasPrefix("/") ? "" : "/") + fileSystem.directoryPath
                    pipeChannels.append(piped(.directory(source, readOnly: true), .fullyReplicated))
                    continue
                }
                if let fileSystem = channel.dataSource.fileSystemDataSource {
                    guard let mount = site.fileSystems[fileSystem.fileSystemId] else {
                        throw PlanningError(message: "FileSystemId \(fileSystem.fileSystemId) is not mapped in the daemon's configuration")
                    }
                    let source = mount.path + (fileSystem.directoryPath.hasPrefix("/") ? "" : "/") + fileSystem.directoryPath
                    staging.readableDirectories.append(source)
                    if mode == .boundAtOptML {
                        staging.mountPoints.append(channel.channelName)
                        binds.append(PlannedBind(source: source, target: target, readOnly: fileSystem.fileSystemAccessMode == .readOnly || mount.readOnly))
                    } else {
                        staging.copiedChannels.append(ChannelPlan(name: channel.channelName, source: .directory(source, readOnly: true)))
                        notes.append("channel \(channel.channelName) was copied: file systems need a mount namespace")
                    }
                    continue
                }
                guard let s3 = channel.dataSource.s3DataSource else {
                    throw PlanningError(message: "channel \(channel.channelName): only file:// locations, local buckets and the S3 endpoint are available on this host")
                }
                let distribution = s3.s3DataDistributionType ?? .fullyReplicated
                if locations.isRemote(s3.s3Uri) {
                    // On the S3 endpoint: downloaded by the staging worker (File mode; FastFile is copied too, for now).
                    let source: ChannelSource
                    switch (modeOfChannel, s3.s3DataType) {
                    case (.pipe, .augmentedManifestFile): source = .remoteAugmentedManifest(uri: s3.s3Uri, attributeNames: s3.attributeNames ?? [])
                    case (_, .augmentedManifestFile):
                        throw PlanningError(message: "channel \(channel.channelName): an AugmentedManifestFile is streamed in Pipe mode only; set InputMode Pipe")
                    case (_, .manifestFile): source = .remoteManifest(uri: s3.s3Uri)
                    default: source = .remotePrefix(uri: s3.s3Uri)
                    }
                    if modeOfChannel == .pipe {
                        pipeChannels.append(piped(source, distribution))
                        continue
                    }
                    if modeOfChannel == .fastFile, s3.s3DataType == .s3Prefix, mode == .boundAtOptML, distribution == .fullyReplicated,
                       let rclone, case .s3(let bucket, let prefix) = StorageURI.parse(s3.s3Uri), prefix.isEmpty || prefix.hasSuffix("/"),
                       let settings = locations.settings(ofBucket: bucket)
                    {
                        // Objects are fetched when read, through a read-only FUSE view bound at the channel's path.
                        let mountPoint = jobDirectory + "/.work/fastfile-\(host.name)-\(channel.channelName)"
                        remoteMounts.append(RemoteMount(channel: channel.channelName, mount: RcloneMount(
                            executable: rclone, settings: settings, bucket: bucket, prefix: prefix, mountPoint: mountPoint, uid: owner.uid, gid: owner.gid)))
                        staging.mountPoints.append(channel.channelName)
                        staging.awaitedMounts.append(AwaitedMount(channel: channel.channelName, uri: s3.s3Uri, path: mountPoint))
                        binds.append(PlannedBind(source: mountPoint, target: target, readOnly: true))
                        continue
                    }
                    if modeOfChannel == .fastFile {
                        let why = rclone == nil ? "no FUSE mount here: rclone or /dev/fuse is missing"
                            : distribution != .fullyReplicated ? "it is sharded" : "its S3Uri does not end with '/'"
                        notes.append("FastFile channel \(channel.channelName) was downloaded in full (from the S3 endpoint: \(why))")
                    }
                    staging.copiedChannels.append(ChannelPlan(name: channel.channelName, source: source, distribution: distribution, rank: host.rank, hostCount: cluster.hosts.count))
                    continue
                }
                guard let path = locations.localPath(of: s3.s3Uri) else {
                    throw PlanningError(message: "channel \(channel.channelName): only file:// locations, local buckets and the S3 endpoint are available on this host")
                }
                switch (modeOfChannel, s3.s3DataType) {
                case (.pipe, .s3Prefix):
                    pipeChannels.append(piped(.prefix(path), distribution))
                case (.pipe, .manifestFile):
                    pipeChannels.append(piped(.manifest(path), distribution))
                case (.pipe, .augmentedManifestFile):
                    pipeChannels.append(piped(.augmentedManifest(path, attributeNames: s3.attributeNames ?? []), distribution))
                case (_, .augmentedManifestFile):
                    throw PlanningError(message: "channel \(channel.channelName): an AugmentedManifestFile is streamed in Pipe mode only; set InputMode Pipe")
                case (.fastFile, .s3Prefix) where mode == .boundAtOptML && isDirectoryPrefix(path) && distribution == .fullyReplicated:
                    staging.mountPoints.append(channel.channelName)
                    staging.readableDirectories.append(path)
                    binds.append(PlannedBind(source: path, target: target, readOnly: true))
                case (_, .manifestFile):
                    staging.copiedChannels.append(ChannelPlan(name: channel.channelName, source: .manifest(path), distribution: distribution, rank: host.rank, hostCount: cluster.hosts.count))
                default:
                    if modeOfChannel == .fastFile { notes.append("FastFile channel \(channel.channelName) was copied (it is not a whole directory or cannot be bound)") }
                    staging.copiedChannels.append(ChannelPlan(name: channel.channelName, source: .prefix(path), distribution: distribution, rank: host.rank, hostCount: cluster.hosts.count))
                }
            }
            if let checkpoint = request.checkpointConfig {
                let localPath = checkpoint.localPath ?? TrainingDefaults.checkpointLocalPath
                guard let hostPath = volume.hostPath(ofContainerPath: localPath.hasSuffix("/") ? String(localPath.dropLast()) : localPath) else {
                    throw PlanningError(message: "CheckpointConfig.LocalPath \(localPath) must be under /opt/ml on this host")
                }
                if locations.isRemote(checkpoint.s3Uri) {
                    staging.remoteCheckpointSource = checkpoint.s3Uri
                } else if let path = locations.localPath(of: checkpoint.s3Uri) {
                    staging.checkpointSource = path
                } else {
                    throw PlanningError(message: "CheckpointConfig.S3Uri: only file:// locations, local buckets and the S3 endpoint are available on this host")
                }
                staging.checkpointDirectory = hostPath
            }
            // The AWS world (JobAWSEnvironment) over the image's variables, under the job's Environment.
            let base = image.environment.merging(awsEnvironment) { _, aws in aws }
            // The host's own GPUs, by index for CUDA and by UUID for NVIDIA's container tools; none
            // visible when it holds none (a process that looks finds no GPU, not someone else's).
            let held = gpus[host.name] ?? []
            var visible = base
            visible["CUDA_VISIBLE_DEVICES"] = held.isEmpty ? "" : held.map { String($0.index) }.joined(separator: ",")
            visible["NVIDIA_VISIBLE_DEVICES"] = held.isEmpty ? "void" : held.map { $0.uuid.isEmpty ? String($0.index) : $0.uuid }.joined(separator: ",")
            var environment = configuration.environment(jobArn: jobArn, cpuCount: cpuCount, gpuCount: held.count, imageEnvironment: visible)
            environment["PATH"] = environment["PATH"] ?? defaultPath
            // A container's HOME is its image user's (the keeper looks it up), as Docker's is.
            if image.container == nil && image.rootFilesystem == nil { environment["HOME"] = owner.home }
            environment["LANG"] = environment["LANG"] ?? "C.UTF-8"
            if mode == .environmentOnly {
                environment["SAGEMAKER_BASE_DIR"] = volume.root
                for (key, value) in environment where key.hasPrefix("SM_") && value.hasPrefix("/opt/ml") {
                    environment[key] = volume.root + value.dropFirst("/opt/ml".count)
                }
                notes.append("no mount namespace: the volume is at \(volume.root) (SAGEMAKER_BASE_DIR), not /opt/ml")
            }
            staging.pipeChannels = pipeChannels.map(\.name)
            let argv = AlgorithmConfiguration.command(imageEntrypoint: image.entrypoint, specification: request.algorithmSpecification)
            let synced = try syncedDirectories(request, volume: volume, locations: locations, notes: &notes)
            staging.locations = locations
            // A root file system of the image table runs as a one-layer container, as an image does:
            // its own writable layer per host (nothing reaches the directory), a real /dev, /etc/hosts.
            let containerDirectory = jobDirectory + "/.work/" + JobFiles.containerDirectoryName(host: host.name)
            let devices = gpuDeviceNodes(held, in: deviceDirectory)
            let container = image.container.map { ContainerRoot(layers: $0.layers, directory: containerDirectory, user: $0.user, devices: devices) }
                ?? image.rootFilesystem.map { ContainerRoot(layers: [$0], directory: containerDirectory, devices: devices) }
            let workingDirectory = image.container.map { $0.workingDirectory.hasPrefix("/") ? $0.workingDirectory : "/" } ?? "/"
            return HostLaunchPlan(host: host, volume: volume, staging: staging, argv: argv, environment: environment, binds: binds,
                                  workingDirectory: workingDirectory, notes: notes, syncedDirectories: synced,
                                  hostname: mode == .boundAtOptML ? host.name : nil, pipeChannels: pipeChannels, remoteMounts: remoteMounts,
                                  container: container)
        }
    }

    /// The device nodes a container host gets for its GPUs: each one's `nvidiaN`, and NVIDIA's
    /// control nodes (which every CUDA program opens) when it holds any; those the machine has.
    static func gpuDeviceNodes(_ held: [GPUDevice], in directory: String) -> [String] {
        guard !held.isEmpty else { return [] }
        let names = held.map { "nvidia\($0.index)" } + ["nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia-modeset"]
        return names.map { directory + "/" + $0 }.filter { path in
            var info = stat()
            return lstat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFCHR
        }
    }

    /// `/opt/ml/output/intermediate` to `<S3OutputPath>/<job>/output/intermediate/` and
    /// TensorBoardOutputConfig's LocalPath to its S3OutputPath, for `file://` locations (others
    /// are not reachable from this host yet: said in the status message, the job still runs).
    static func syncedDirectories(_ request: CreateTrainingJobRequest, volume: HostVolume, locations: ObjectLocations, notes: inout [String])
        throws(PlanningError) -> [SyncedDirectory]
    {
        var synced: [SyncedDirectory] = []
        // A remote destination is kept as its s3:// URI (the workers upload there), a local one as its path.
        func destination(_ uri: String) -> String? { locations.isRemote(uri) ? uri : locations.localPath(of: uri) }
        if let output = destination(request.outputLocation) {
            synced.append(SyncedDirectory(localDirectory: volume.intermediateDirectory, destination: output + "/intermediate", mirrorsDeletions: false))
        }
        if let tensorBoard = request.tensorBoardOutputConfig, let location = tensorBoard["S3OutputPath"]?.stringValue {
            var localPath = tensorBoard["LocalPath"]?.stringValue ?? AlgorithmConfiguration.tensorBoardLocalPath
            while localPath.count > 1, localPath.hasSuffix("/") { localPath.removeLast() }
            guard let hostPath = volume.hostPath(ofContainerPath: localPath), hostPath != volume.root else {
                throw PlanningError(message: "TensorBoardOutputConfig.LocalPath \(localPath) must be a directory under /opt/ml on this host")
            }
            if let destination = destination(location) {
                synced.append(SyncedDirectory(localDirectory: hostPath, destination: destination, mirrorsDeletions: false))
            } else {
                notes.append("TensorBoard output is not copied to \(location): only file:// locations, local buckets and the S3 endpoint are available on this host")
            }
        }
        return synced
    }

    static func resolveImage(_ request: CreateTrainingJobRequest, site: SiteCatalog) throws(PlanningError) -> ImageEntry {
        let specification = request.algorithmSpecification
        var imageName = specification.trainingImage
        if let algorithm = specification.algorithmName {
            let name = algorithm.split(separator: "/").last.map(String.init) ?? algorithm
            imageName = site.algorithms[name]?.trainingSpecification.trainingImage
        }
        guard let imageName, let image = site.resolveImage(imageName) else {
            throw PlanningError(message: "the training image \(imageName ?? "?") cannot be found on this host; check the image table and the algorithms directory")
        }
        return image
    }

    /// A prefix that names a whole directory: FastFile can bind it instead of copying.
    static func isDirectoryPrefix(_ path: String) -> Bool {
        var info = stat()
        return path.hasSuffix("/") && stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }
}

public import TrainingCore
public import TrainingObjectStore

/// Where a channel's data comes from, as the daemon resolved it for one host.
public enum ChannelSource: Sendable, Equatable, Codable {
    /// Objects under a `file://` prefix (S3Prefix).
    case prefix(String)
    /// Objects listed by a `file://` ManifestFile.
    case manifest(String)
    /// A local directory mounted at the channel's path (FileSystemDataSource, or FastFile over a directory).
    case directory(String, readOnly: Bool)
    /// A `file://` AugmentedManifestFile (JSON Lines) and the attributes to stream of each line (Pipe mode only).
    case augmentedManifest(String, attributeNames: [String])
    /// Objects under an `s3://` prefix of the S3 endpoint, reached through ``ObjectLocations``.
    case remotePrefix(uri: String)
    /// Objects listed by a ManifestFile that is itself an object of the S3 endpoint.
    case remoteManifest(uri: String)
    /// An AugmentedManifestFile that is an object of the S3 endpoint (Pipe mode only).
    case remoteAugmentedManifest(uri: String, attributeNames: [String])
}

/// A FastFile channel's FUSE mount (``RcloneMount``), which staging waits for.
public struct AwaitedMount: Sendable, Equatable, Codable {
    public var channel: String
    public var uri: String
    public var path: String

    public init(channel: String, uri: String, path: String) {
        self.channel = channel
        self.uri = uri
        self.path = path
    }
}

/// One channel of one host, as staging must deliver it.
public struct ChannelPlan: Sendable, Equatable, Codable {
    public var name: String
    public var source: ChannelSource
    public var distribution: S3DataDistributionType
    public var rank: Int
    public var hostCount: Int

    public init(name: String, source: ChannelSource, distribution: S3DataDistributionType = .fullyReplicated, rank: Int = 0, hostCount: Int = 1) {
        self.name = name
        self.source = source
        self.distribution = distribution
        self.rank = rank
        self.hostCount = hostCount
    }
}

/// Everything the staging worker does for one host, run with the job owner's rights.
public struct StagingRequest: Sendable, Equatable, Codable {
    public var volume: HostVolume
    /// Config files to write into input/config, by name.
    public var configFiles: [String: [UInt8]]
    /// Channels whose objects are copied (File mode).
    public var copiedChannels: [ChannelPlan]
    /// Channel directories that only need to exist (mount points for binds).
    public var mountPoints: [String]
    /// Directories (bind sources) the owner must be able to read.
    public var readableDirectories: [String]
    /// A `file://` checkpoint location to restore into `checkpointDirectory`.
    public var checkpointSource: String?
    public var checkpointDirectory: String?

    /// Pipe-mode channels: their first FIFO (`<channel>_0`) is made with the volume, so that it is
    /// there when the algorithm starts; the Pipe worker streams into it.
    public var pipeChannels: [String] = []
    /// Where locations are served: local buckets (for the `s3://` prefix a ManifestFile names) and
    /// the S3 endpoint with its credentials (remote channels and checkpoints).
    public var locations = ObjectLocations()
    /// An `s3://` checkpoint location of the S3 endpoint to restore into `checkpointDirectory`
    /// (a local one is `checkpointSource`).
    public var remoteCheckpointSource: String?

    /// FastFile channels of the S3 endpoint that the daemon mounts: staging checks that objects
    /// are there (SageMaker's ClientError otherwise) and waits for each mount to come up.
    public var awaitedMounts: [AwaitedMount] = []

    /// Whether staging reads or writes the owner's data, and so needs a worker with the owner's rights.
    public var touchesOwnerData: Bool {
        !copiedChannels.isEmpty || !readableDirectories.isEmpty || checkpointSource != nil || remoteCheckpointSource != nil
            || !awaitedMounts.isEmpty
    }

    public init(volume: HostVolume, configFiles: [String: [UInt8]], copiedChannels: [ChannelPlan] = [], mountPoints: [String] = [],
                readableDirectories: [String] = [], checkpointSource: String? = nil, checkpointDirectory: String? = nil) {
        self.volume = volume
        self.configFiles = configFiles
        self.copiedChannels = copiedChannels
        self.mountPoints = mountPoints
        self.readableDirectories = readableDirectories
        self.checkpointSource = checkpointSource
        self.checkpointDirectory = checkpointDirectory
    }
}

/// What the packaging worker does after a host's processes ended, with the owner's rights.
public struct PackagingRequest: Sendable, Equatable, Codable {
    public var volume: HostVolume
    /// `<S3OutputPath>/<job>/output` as a local directory (for a remote output location: where
    /// the artifacts are made before they are uploaded, inside the volume).
    public var outputDirectory: String
    /// `<S3OutputPath>/<job>/output` on the S3 endpoint, when the output location is remote:
    /// the artifacts made in `outputDirectory` are uploaded there.
    public var remoteOutput: String?
    /// Where remote locations are served: the output, and checkpoint or synced destinations that are `s3://` URIs.
    public var locations = ObjectLocations()
    /// GZIP: model.tar.gz and output.tar.gz; NONE: the files under output/model/ and output/data/.
    public var compress: Bool
    public var checkpointDirectory: String?
    public var checkpointDestination: String?
    /// Directories other than the checkpoints to copy once more (intermediate and TensorBoard output).
    public var syncedDirectories: [SyncedDirectory]
    /// The job's other hosts (algo-2, algo-3, ...): their `model/` and `output/data/` are merged
    /// into the archives after `volume`'s (``Packager``).
    public var otherVolumes: [HostVolume] = []

    public init(volume: HostVolume, outputDirectory: String, compress: Bool, checkpointDirectory: String? = nil, checkpointDestination: String? = nil,
                syncedDirectories: [SyncedDirectory] = []) {
        self.volume = volume
        self.outputDirectory = outputDirectory
        self.compress = compress
        self.checkpointDirectory = checkpointDirectory
        self.checkpointDestination = checkpointDestination
        self.syncedDirectories = syncedDirectories
    }
}

/// A worker's outcome, written as JSON for the daemon to read after the worker exits.
public struct WorkerResult: Sendable, Equatable, Codable {
    public var ok: Bool
    public var error: StagingError.Code?
    public var message: String?
    public var bytes: UInt64
    /// What the job's status message should say on success (files left out of a merge).
    public var notes: [String]?

    public init(ok: Bool, error: StagingError.Code? = nil, message: String? = nil, bytes: UInt64 = 0, notes: [String]? = nil) {
        self.ok = ok
        self.error = error
        self.message = message
        self.bytes = bytes
        self.notes = notes
    }
}

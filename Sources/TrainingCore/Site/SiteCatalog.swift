/// What a daemon's configuration makes available to jobs: the image table, the
/// algorithms directory and the file-system map. Definitions are checked
/// against it by `jobctl validate --config` and by the daemon, in the same words.
public struct SiteCatalog: Sendable {
    /// Images by the exact `TrainingImage` string a definition uses.
    public var images: [String: ImageEntry]
    /// Algorithms by name (the `AlgorithmName`, without any ARN prefix).
    public var algorithms: [String: AlgorithmDefinition]
    /// Local directories by `FileSystemId`.
    public var fileSystems: [String: FileSystemMount]
    /// Where the configuration came from, for messages that tell the user what to edit.
    public var configurationPath: String
    /// Whether an absolute `TrainingImage` names an executable file; injected so that this module stays free of I/O.
    public var isExecutable: @Sendable (String) -> Bool
    /// The URI schemes of the locations this daemon reads and writes (`file`; `s3` once served).
    public var servedSchemes: Set<String> = ["file"]
    /// S3 buckets served from local directories (`[buckets]`).
    public var buckets = LocalBuckets()
    /// Whether an S3 endpoint (with credentials) serves the buckets that are not local.
    public var servesRemoteBuckets = false
    /// Buckets of an S3 endpoint of their own (`[buckets."NAME"]` with S3 keys), served whatever the rest.
    public var remoteBuckets: Set<String> = []
    /// Whether a path is an existing directory (a local bucket's); injected like `isExecutable`.
    public var isDirectory: @Sendable (String) -> Bool = { _ in true }
    /// Whether channels may use Pipe mode.
    public var servesPipeMode = true
    /// What this machine offers, for the capacity checks; nil skips them.
    public var machine: MachineCapacity?
    /// The instance types jobs may ask for: SageMaker's, with `[instance_types]` over them.
    public var instanceTypes = InstanceTypeCatalog.builtIn
    /// The container image a reference names in the local image store (`ImageCatalog`), or nil;
    /// injected like `isExecutable`. Nil when no image store is configured.
    public var localImage: (@Sendable (String) -> ContainerImage?)?

    public init(
        images: [String: ImageEntry] = [:], algorithms: [String: AlgorithmDefinition] = [:],
        fileSystems: [String: FileSystemMount] = [:], configurationPath: String = "the daemon's configuration",
        isExecutable: @escaping @Sendable (String) -> Bool = { _ in true }
    ) {
        self.images = images
        self.algorithms = algorithms
        self.fileSystems = fileSystems
        self.configurationPath = configurationPath
        self.isExecutable = isExecutable
    }
}

/// An entry of the image table: how to start an image's entrypoint locally.
public struct ImageEntry: Sendable, Equatable {
    /// The image's entrypoint; the command rules of SageMaker decide what follows it.
    public var entrypoint: [String]
    /// A directory the job sees as `/`, with /opt/ml bound inside; nil for the host's root.
    public var rootFilesystem: String?
    /// Variables the image sets, under the job's own Environment.
    public var environment: [String: String]
    /// A container image of the local store: run in a container of its layers (its entrypoint,
    /// environment, working directory and user are this entry's). Nil for an executable of the host.
    public var container: ContainerImage?
    /// The local image reference an image-table entry maps its `TrainingImage` to (`image = "..."`);
    /// resolved through `SiteCatalog.localImage` when a job names it.
    public var reference: String?

    public init(entrypoint: [String], rootFilesystem: String? = nil, environment: [String: String] = [:]) {
        self.entrypoint = entrypoint
        self.rootFilesystem = rootFilesystem
        self.environment = environment
    }

    /// The entry of a container image: its configuration, with the table entry's environment over its own.
    public init(container: ContainerImage, environment: [String: String] = [:]) {
        self.entrypoint = container.entrypoint
        self.environment = container.environment.merging(environment) { _, table in table }
        self.container = container
    }
}

/// A container image as the local image store describes it (OCI image config): what it runs and
/// the read-only layers it is made of.
public struct ContainerImage: Sendable, Equatable {
    /// The store's image id (the config's digest, hex).
    public var id: String
    /// Its names in the store (`localhost/name:tag`, `registry/repo:tag`).
    public var names: [String]
    /// The layer directories, top first: the lower layers of each host's overlay.
    public var layers: [String]
    /// `Entrypoint`; empty when the image gives none (then `train` is looked up on its PATH).
    public var entrypoint: [String]
    /// `Env`, as variables.
    public var environment: [String: String]
    /// `WorkingDir`; empty for `/`.
    public var workingDirectory: String
    /// `User` (`name`, `uid`, `name:group`, `uid:gid`); empty for root.
    public var user: String

    public init(id: String, names: [String], layers: [String], entrypoint: [String] = [], environment: [String: String] = [:],
                workingDirectory: String = "", user: String = "") {
        self.id = id
        self.names = names
        self.layers = layers
        self.entrypoint = entrypoint
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.user = user
    }
}

/// A local directory standing in for a shared file system.
public struct FileSystemMount: Sendable, Equatable {
    public var path: String
    /// When true, channels may only use it with FileSystemAccessMode `ro`.
    public var readOnly: Bool

    public init(path: String, readOnly: Bool = false) {
        self.path = path
        self.readOnly = readOnly
    }
}

/// Everything needed to start one host of a job.
///
/// Paths are absolute. `binds` targets, `workingDirectory` and the program lookup are in the
/// job's view (inside `rootFilesystem` when one is given); the other paths are the host's.
public struct LaunchSpec: Sendable, Equatable {
    /// The algorithm's argv; `arguments[0]` is looked up with the job environment's `PATH`.
    public var arguments: [String]
    /// The job's complete environment; nothing of the daemon's own is added.
    public var environment: [String: String]
    /// The algorithm's working directory, in the job's view.
    public var workingDirectory: String
    /// Bind mounts, applied in order in the job's private mount namespace.
    public var binds: [BindMount]
    /// A directory to chroot into, or nil to keep the host's root.
    public var rootFilesystem: String?
    /// The algorithm's uid, gid and groups, or nil to keep the keeper's.
    public var credentials: Credentials?
    /// The log of the algorithm's stdout and stderr (`logPath + ".1"` holds the older half).
    public var logPath: String
    /// At most this many bytes of log on disk (both files together); 0 = unbounded, else >= 4096.
    public var logCapBytes: UInt64
    /// Where the keeper writes how the job ended. Removed at launch if it exists.
    public var statusPath: String
    /// An opaque identity that appears in the keeper's command line.
    public var token: String
    /// Which isolation to ask for.
    public var isolation: Isolation
    /// The algorithm's host name, in a UTS namespace of its own (with `.pidNamespace` isolation).
    public var hostname: String?
    /// A container of an image's layers as the job's root (with `.pidNamespace` isolation), in
    /// place of `rootFilesystem`.
    public var container: ContainerRoot?
    /// The `cgroup.procs` files of the host's cgroups (one per hierarchy), which the keeper joins
    /// before it forks the algorithm; empty: the keeper's own cgroups.
    public var cgroupProcessFiles: [String]
    /// A warm keeper (`WarmKeepers.take`) inside those cgroups already, to run the host instead of
    /// a spawned keeper; `LocalExecutor.launch` hands it the job or, when it cannot, releases it.
    public var warmKeeper: WarmKeeper? = nil

    /// Creates a spec; see the properties for what each value means.
    public init(
        arguments: [String],
        environment: [String: String],
        workingDirectory: String = "/",
        binds: [BindMount] = [],
        rootFilesystem: String? = nil,
        credentials: Credentials? = nil,
        logPath: String,
        logCapBytes: UInt64 = 0,
        statusPath: String,
        token: String,
        isolation: Isolation = .auto,
        hostname: String? = nil,
        container: ContainerRoot? = nil,
        cgroupProcessFiles: [String] = []
    ) {
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.binds = binds
        self.rootFilesystem = rootFilesystem
        self.credentials = credentials
        self.logPath = logPath
        self.logCapBytes = logCapBytes
        self.statusPath = statusPath
        self.token = token
        self.isolation = isolation
        self.hostname = hostname
        self.container = container
        self.cgroupProcessFiles = cgroupProcessFiles
    }

    /// Written by the keeper as soon as the algorithm has been exec'd (`algorithm_pid=N`).
    public var startedPath: String { statusPath + ".started" }
    /// The keeper's own stdout and stderr (its complaints, never the algorithm's output).
    public var keeperLogPath: String { statusPath + ".keeper.log" }
}

/// A directory (or file) of the host made visible at `target` in the job's view.
public struct BindMount: Sendable, Equatable {
    /// The host path.
    public var source: String
    /// The path in the job's view; must exist unless it lies under an earlier bind. No `:`.
    public var target: String
    /// Whether the job may not write through this mount.
    public var readOnly: Bool

    /// Creates a bind mount of `source` at `target`.
    public init(source: String, target: String, readOnly: Bool = false) {
        self.source = source
        self.target = target
        self.readOnly = readOnly
    }
}

/// The root of a container: an image's read-only layers under a writable layer of one host's
/// own (overlayfs), with `/dev`, `/proc`, `/sys` and `/etc/hosts`, `/etc/resolv.conf` and
/// `/etc/hostname` as a container has them. The keeper builds it in the algorithm's mount namespace.
public struct ContainerRoot: Sendable, Equatable {
    /// The image's layer directories, top first.
    public var layers: [String]
    /// A directory only the daemon's user can reach, holding `upper` (the writable layer, 0755),
    /// `work` (overlayfs's), `root` (where the container's root is mounted) and `layers` (empty).
    public var directory: String
    /// The image's `User` (`name`, `uid`, `name:group`, `uid:gid`; empty: root): the identity the
    /// algorithm has inside, mapped onto its credentials' uid and gid in a user namespace.
    public var user: String
    /// Device nodes of the host bound into the container's `/dev` under their own names (the
    /// host's GPUs and NVIDIA's control nodes); the container has no other device but the standard ones.
    public var devices: [String]

    /// Creates a container root.
    public init(layers: [String], directory: String, user: String = "", devices: [String] = []) {
        self.layers = layers
        self.directory = directory
        self.user = user
        self.devices = devices
    }
}

/// The identity the algorithm runs with (needs a root keeper, unless it is the keeper's own).
public struct Credentials: Sendable, Equatable {
    /// The user id.
    public var uid: UInt32
    /// The primary group id.
    public var gid: UInt32
    /// The supplementary groups; empty clears them.
    public var groups: [UInt32]

    /// Creates credentials.
    public init(uid: UInt32, gid: UInt32, groups: [UInt32] = []) {
        self.uid = uid
        self.gid = gid
        self.groups = groups
    }
}

/// The isolation asked of the keeper.
public enum Isolation: String, Sendable, Equatable, CaseIterable {
    /// A PID namespace if one can be made, else a process group (which fails if binds are given).
    case auto
    /// A PID and mount namespace (through a user namespace when not privileged), or a setup error.
    case pidNamespace = "pidns"
    /// A process group, killed as a whole when the main process exits; no binds possible.
    case none
}

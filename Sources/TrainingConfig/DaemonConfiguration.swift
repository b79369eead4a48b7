public import TrainingObjectStore
public import TrainingCore

/// The daemon's configuration: every key has a default, so `trainingd` runs with no file at all.
/// etc/trainingd/trainingd.conf documents each key; docs/configuration.md says which need a restart.
public struct DaemonConfiguration: Sendable, Equatable {
    /// Where the daemon keeps its files.
    public struct Paths: Sendable, Equatable {
        public var spool: String = "/var/spool/trainingd"
        public var state: String = "/var/lib/trainingd/state"
        public var jobs: String = "/var/lib/trainingd/jobs"
        public var logs: String = "/var/log/trainingd"
        public var socket: String = "/run/trainingd/control.sock"
        /// CreateAlgorithm requests, one `<AlgorithmName>.json` each.
        public var algorithms: String = "/etc/trainingd/algorithms"
        /// Local S3 buckets: `s3://NAME/...` is `<buckets>/NAME/...` unless `[buckets."NAME"]` maps it elsewhere.
        public var buckets: String = "/var/lib/trainingd/buckets"
        /// `[aws_api] credentials_file`: the access keys of the TCP API, each mapped to a local user.
        public var awsCredentials: String = "/etc/trainingd/aws-credentials"

        public init() {}

        /// Every path inside `root`, as `trainingd --root DIR` lays them out.
        public init(root: String) {
            let root = root.hasSuffix("/") && root.count > 1 ? String(root.dropLast()) : root
            spool = root + "/spool"
            state = root + "/state"
            jobs = root + "/jobs"
            logs = root + "/logs"
            socket = root + "/control.sock"
            algorithms = root + "/algorithms"
            buckets = root + "/buckets"
            awsCredentials = root + "/aws-credentials"
        }

        public var database: String { state + "/trainingd.db" }
    }

    public enum LogLevel: String, Sendable, CaseIterable {
        case trace, debug, info, notice, warning, error, critical
    }

    /// How jobs are kept apart from the host; see docs/configuration.md.
    public enum Isolation: String, Sendable, CaseIterable {
        /// Private mount and PID namespaces when the kernel allows them, else the env-var contract.
        case auto
        /// Namespaces or nothing: a job that cannot have them fails with a ClientError.
        case namespaces
        /// No namespaces: the volume is passed as SAGEMAKER_BASE_DIR.
        case none
    }

    /// What a plain stop of the daemon (SIGTERM, SIGINT, `systemctl stop`) does to running jobs.
    public enum DaemonStopPolicy: String, Sendable, CaseIterable {
        /// They keep running under their keepers; the next start adopts them.
        case keepRunning = "keep_running"
        /// The daemon drains: SIGTERM, the grace period, checkpoints synced, recorded Interrupted.
        case drain
    }

    public var paths = Paths()
    public var logLevel: LogLevel = .info
    /// Jobs run at once; nil means one per CPU core.
    public var maxConcurrentJobs: Int? = nil
    /// Seconds between SIGTERM and SIGKILL when a job is stopped (SageMaker's 120 s).
    public var stopGracePeriodSeconds: Int = 120
    /// Seconds an ended job's volume is kept before it is removed.
    public var volumeRetentionSeconds: Int = 86_400
    /// The most log bytes kept on disk per job host.
    public var logCapBytes: Int = 64 * 1024 * 1024
    /// The user that jobs submitted by root run as; nil runs them as root.
    public var jobUser: String? = nil
    public var isolation: Isolation = .auto
    public var onDaemonStop: DaemonStopPolicy = .keepRunning
    /// Interruptions after which a job fails instead of starting again (they use no RetryStrategy attempts).
    public var maxInterruptions: Int = 20
    /// Seconds a checkpoint file written in place must stay closed, its writer alive, to count as complete.
    public var checkpointSettleSeconds: Int = 1
    /// How often the supervisor looks for jobs that nothing moves any more (a bug), to fail them.
    public var stuckJobSweepSeconds: Int = 30
    /// Keepers started ahead of the jobs that will need them, inside cgroups of their own (0: none).
    public var warmKeepers: Int = 2
    /// Accept jobs with more instances than this machine has CPUs, or accelerated types without GPUs.
    public var allowOversubscription = false
    /// `[capacity] gpus`: the GPUs jobs are given; nil: those the driver shows (`/dev/nvidiaN`).
    public var gpus: [GPUDevice]? = nil
    /// `[capacity] cpus`: the CPUs jobs' hosts share; nil: this machine's.
    public var capacityCPUs: Int? = nil
    /// `[capacity] memory`: the memory jobs' hosts share, in MiB; nil: this machine's (MemTotal).
    public var capacityMemoryMiB: Int? = nil
    /// `[capacity] instance_scale`: the factor on instance types' vCPUs and memory (1: exact).
    public var instanceScale: Double = 1
    /// `[instance_types."NAME"]`: types added to SageMaker's, or built-in types' figures replaced.
    public var instanceTypes: [String: InstanceSpec] = [:]
    /// `[queue]`: fair share between users, per-user limits and backfill.
    public var queue = QueuePolicy()
    /// `[limits]`: what a running host may take (cgroups).
    public var limits = HostLimitPolicy()
    /// The group that may use the control socket (mode 0660); nil keeps the daemon's group.
    public var socketGroup: String? = nil
    /// Members of this group may stop and delete every user's jobs.
    public var adminGroup: String? = nil
    /// Connections the control socket serves at once; one more is answered 503 and closed.
    /// The daemon lowers it (and says so) when its descriptor limit cannot hold that many.
    public var maxConnections: Int = 1024
    /// Seconds a connection may send nothing (or only part of a request) before it is closed.
    /// Streams the daemon is sending (FollowLogs, WatchEvents, Drain) are not idle.
    public var idleTimeoutSeconds: Int = 60
    /// `[aws_api]`: the SageMaker API on a TCP port for the AWS CLI, boto3 and the SageMaker SDK.
    public var awsAPI = AWSAPI()
    /// The region and account in job ARNs: `arn:aws:sagemaker:<region>:<account>:training-job/<name>`.
    public var region: String = "local"
    public var accountID: String = "000000000000"
    /// The image table, by the exact `TrainingImage` string jobs use.
    public var images: [String: ImageEntry] = [:]
    /// Local directories standing in for file systems, by `FileSystemId`.
    public var fileSystems: [String: FileSystemMount] = [:]
    /// S3 buckets mapped to local directories by name (`[buckets."NAME"] path = ...`).
    public var buckets: [String: String] = [:]
    /// `[s3]`: the S3 endpoint for buckets that are not local, over the AWS environment and files.
    public var s3 = S3Settings.Configured()
    /// `[buckets."NAME"]` with S3 keys: buckets of their own endpoint, profile or keys (over `[s3]`).
    public var bucketS3: [String: S3Settings.Configured] = [:]
    /// `[s3] rclone`: the rclone that mounts FastFile channels of the S3 endpoint (`RcloneMount`);
    /// empty: they are downloaded, as File-mode channels are.
    public var rclone: String = "/usr/bin/rclone"
    /// `[containers] podman`: the podman that lists the images of the host's containers-storage
    /// (`ImageCatalog`); empty: only executables and root file systems of the image table run.
    public var podman: String = "/usr/bin/podman"
    /// The file this configuration was read from, or nil for the built-in defaults.
    public var sourcePath: String? = nil

    public init() {}

    /// The TCP listener of the SageMaker API (SigV4-signed requests) and what jobs get of it.
    public struct AWSAPI: Sendable, Equatable {
        /// `host:port` to listen on; nil: no TCP listener (the Unix socket only).
        public var listen: String? = nil
        /// Whether `listen` may be an address other than loopback (the API is plain HTTP).
        public var allowRemote = false
        /// What AWS credentials a job's environment gets.
        public var jobCredentials: JobCredentials = .owner

        public enum JobCredentials: String, Sendable, CaseIterable {
            /// The first access key of the credentials file mapped to the job's owner, if any.
            case owner
            /// None: a job that needs AWS credentials finds them as its owner's other processes do
            /// (a file under its owner's home, say); its Environment is kept in the daemon's database.
            case none
        }

        public init() {}
    }

    /// The ARN of a job of this daemon.
    public func arn(ofJob name: String) -> String {
        "arn:aws:sagemaker:\(region):\(accountID):training-job/\(name)"
    }
}

/// `[limits]`: how each host of a job is held to its instance type (docs/configuration.md, "Limits").
public struct HostLimitPolicy: Sendable, Equatable {
    public enum Enforcement: String, Sendable, CaseIterable {
        /// Limit what the machine's cgroup controllers can; the status message names the rest.
        case auto
        /// Refuse to start without the memory, CPU and pids controllers.
        case required
        /// Never limit (capacity is then only what the scheduler counts).
        case none
    }

    public var cgroups = Enforcement.auto
    /// VolumeSizeInGB: each host's volume a file system of that size (a loop-mounted sparse file).
    public var volumeSize = Enforcement.auto
    /// Processes (and threads) a host may have at once, per vCPU of its instance type.
    public var processesPerVCPU = 1024

    public init() {}
}

/// `[queue]`: how waiting jobs are ordered and limited (docs/configuration.md, "The queue").
public struct QueuePolicy: Sendable, Equatable {
    /// Jobs one user may have running at once; nil: no limit but capacity.
    public var maxRunningPerUser: Int? = nil
    /// Jobs one user may have waiting; one more is refused at submission (ResourceLimitExceeded).
    public var maxQueuedPerUser: Int? = nil
    /// Small jobs may start ahead of a job waiting for capacity, when they cannot delay it.
    public var backfill = true

    public init() {}
}


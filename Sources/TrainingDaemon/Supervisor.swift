import Dispatch
import Foundation
import Logging
import TrainingConfig
import TrainingCgroups
import TrainingCore
import TrainingFiles
import TrainingObjectStore
import TrainingRuntime
import TrainingScheduler
import TrainingStore

/// The owner of every job's state. Everything that changes a job runs on `queue`:
/// spool intake, worker and process exits, timers and requests all arrive here as
/// calls scheduled on it, and each change is written to the store before it is acted on.
///
/// Its loop, in order of a job's life: take a spool file (`Supervisor+Intake`), queue it
/// (`Supervisor+Scheduling`), stage its hosts, start the algorithm, watch its exits and
/// limits (`Supervisor+Run`, `Supervisor+Workers`, `Supervisor+Stop`), package the artifacts,
/// record the outcome. An attempt can end without ending the job (`Supervisor+Interruption`:
/// interruptions and retries); a start adopts what an earlier daemon left (`Supervisor+Recovery`);
/// the daemon's stop leaves jobs running or drains them (`Supervisor+Drain`); a reload changes
/// what may change (`Supervisor+Reload`).
final class Supervisor: @unchecked Sendable {
    let queue = DispatchQueue(label: "trainingd.supervisor")
    /// Replaced by a reload (`Supervisor+Reload`); only its reloadable keys ever change.
    var configuration: DaemonConfiguration
    var site: SiteCatalog
    /// Where locations are served: local buckets, and the S3 endpoint with its resolved credentials.
    var locations: ObjectLocations
    let store: JobStore
    let executor: any JobExecutor
    let spool: SpoolDirectory
    var validator: DefinitionValidator
    var capacity: Int
    let cpuCount: Int
    let volumeMode: VolumeMode
    let daemonIdentity = UserAccount.current
    /// The daemon's own executable, which runs staging and packaging workers.
    let executablePath: String

    var runs: [String: JobRun] = [:]
    /// The jobs waiting to start and what the running ones hold (`Jobs/WaitingJobs`, `Supervisor+Scheduling`).
    let waiting: WaitingJobs
    /// Jobs whose state (a status change, or the end) the store has refused so far, retried (`Supervisor+Ending`).
    var unrecorded: [String: UnrecordedState] = [:]
    /// The repeating sweep for stuck jobs (`Supervisor+Sweep`), and the jobs without a run it saw last time.
    var sweepTimer: (any DispatchSourceTimer)?
    var orphansSeen: Set<String> = []
    /// When `schedule()` is next woken for a waiting job's deadline (a backoff's end, a MaxWaitTime).
    var nextWakeUp: Double?
    let testHooks = TestHooks.fromEnvironment()
    /// The machine's GPUs and the job hosts holding them (`Supervisor+GPUs`).
    var gpus = GPUPool(devices: [])
    /// The cgroups that hold each job host to its instance type (`Supervisor+Limits`); nil: none.
    let hostCgroups: HostCgroups?
    /// Keepers waiting, in cgroups of their own, for the next hosts to start (`Supervisor+Limits`); nil: none.
    let warmKeepers: WarmKeepers?
    /// `[control] admin_group`, resolved once (the key needs a restart).
    let adminGroupID: gid_t?
    /// Why volumes are plain directories here rather than file systems of VolumeSizeInGB; nil when they are sized.
    let volumeSizing: String?
    /// The TCP API's access keys (`[aws_api] credentials_file`), which also give jobs their owner's key.
    let accessKeys = AccessKeys()
    /// Subscribers of Trainingd.WatchEvents, called on `queue` with each status change.
    var eventWatchers: [Int: (JSONValue) -> Void] = [:]
    var nextWatcherID = 0
    var watcher: SpoolWatcher?
    /// Spool files put aside after a transient error, and the timer that retries them (`Supervisor+IntakeRetry`).
    var spoolRetry = SpoolRetry()
    /// Spool files found and not yet taken in, in the order they were found (`Supervisor+Intake`).
    var intakeBacklog = IntakeBacklog()
    /// Set once a drain has begun (`Supervisor+Drain`): nothing new starts.
    var drain: Drain?
    var draining: Bool { drain != nil }
    let logger = Logger(label: "trainingd")
    /// Called on `queue` with a one-line summary ("2 running, 5 pending") whenever it changes.
    var onSummaryChange: ((String) -> Void)?
    var lastSummary = ""

    init(configuration: DaemonConfiguration, site: SiteCatalog, locations: ObjectLocations) throws(DaemonError) {
        self.configuration = configuration
        self.site = site
        gpus = GPUPool(devices: site.machine?.gpuDevices ?? [])
        jobFiles = JobFiles(jobsRoot: configuration.paths.jobs, volumeTemplates: configuration.paths.state + "/volume-templates")
        logDirectories = SpareDirectories(in: configuration.paths.logs)
        self.locations = locations
        do {
            store = try JobStore(path: configuration.paths.database)
        } catch {
            throw DaemonError(.database, "\(error)")
        }
        let localExecutor: LocalExecutor
        do {
            localExecutor = LocalExecutor(keeperPath: try LocalExecutor.locateKeeper())
        } catch {
            throw DaemonError(.runtime, "\(error)")
        }
        executor = localExecutor
        spool = SpoolDirectory(root: configuration.paths.spool)
        validator = DefinitionValidator(site: site)
        cpuCount = ProcessInfo.processInfo.activeProcessorCount
        capacity = configuration.maxConcurrentJobs ?? cpuCount
        waiting = WaitingJobs(Scheduler(capacity: site.machine?.total ?? ResourceAmount(milliCPUs: Int.max / 4, memoryMiB: Int.max / 4),
                                        policy: Self.schedulingPolicy(configuration, slots: capacity)))
        executablePath = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        volumeMode = Self.chooseVolumeMode(configuration.isolation)
        hostCgroups = try Self.makeHostCgroups(configuration)
        warmKeepers = Self.makeWarmKeepers(configuration, keeperPath: localExecutor.keeperPath, cgroups: hostCgroups, logger: logger)
        adminGroupID = configuration.adminGroup.flatMap { name in getgrnam(name).map { $0.pointee.gr_gid } }
        volumeSizing = try Self.volumeSizing(configuration)
    }

    /// Recovers what a previous run left, then starts intake and scheduling.
    func start() throws(DaemonError) {
        try spool.create()
        queue.sync {
            recoverUnfinishedJobs()
            loadWaitingJobs()
            recoverClaimedFiles()
        }
        try startIntake()
        queue.sync { startSweep() }
        // An earlier daemon's warm keepers ended with it (their sockets closed); their cgroups stay.
        hostCgroups?.removeAll(named: WarmKeepers.cgroupPrefix)
        warmKeepers?.start()
        if let advice = hostCgroups?.layout.slowJoinAdvice(
            rcuExpedited: ProcFile.read("/sys/kernel/rcu_expedited"), warmKeepers: warmKeepers?.count ?? 0) {
            logger.notice("\(advice)")
        }
    }

    /// /opt/ml is bound in a private mount namespace when that can work here; otherwise the
    /// env-var contract. Root creates the mount point; others need it to exist already.
    static func chooseVolumeMode(_ isolation: DaemonConfiguration.Isolation) -> VolumeMode {
        guard isolation != .none else { return .environmentOnly }
        if getuid() == 0 {
            mkdir("/opt", 0o755)
            mkdir("/opt/ml", 0o755)
        }
        var info = stat()
        return stat("/opt/ml", &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR ? .boundAtOptML : .environmentOnly
    }

    static var now: Double { Date().timeIntervalSince1970 }

    /// The jobs' directories, volumes and worker files (`Jobs/JobFiles`); [paths] jobs needs a
    /// restart, so this stays the same.
    let jobFiles: JobFiles
    /// Each job's `<logs>/<job>/` is one of these, renamed (`SpareDirectories`); [paths] logs needs a restart too.
    let logDirectories: SpareDirectories

    /// The crash test's fault injection (`TRAININGD_TEST_HOOKS=crash-at:<point>`); nothing otherwise.
    func faultPoint(_ point: TestHooks.FaultPoint, job: String) {
        guard testHooks.crashAt == point else { return }
        logger.critical("test hook: crashing at \(point.rawValue) of job \(job)", metadata: ["job": "\(job)"])
        kill(getpid(), SIGKILL)
    }

    /// Tells the WatchEvents subscribers of a status change.
    func publish(_ name: String, _ lifecycle: JobLifecycle, _ message: String, at time: Double) {
        guard !eventWatchers.isEmpty else { return }
        let event: JSONValue = [
            "TrainingJobName": .string(name), "TrainingJobStatus": .string(lifecycle.status.rawValue),
            "SecondaryStatus": .string(lifecycle.secondary.rawValue), "StatusMessage": .string(message), "Time": .double(time),
        ]
        for watcher in eventWatchers.values { watcher(event) }
    }
}

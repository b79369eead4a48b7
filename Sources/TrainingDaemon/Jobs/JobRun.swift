import Dispatch
import TrainingCore
import TrainingRuntime
import TrainingStore

/// What the supervisor knows of a job it is working on, beyond what the store records:
/// its processes, timers and the step it is at. Lives only on the supervisor's queue.
final class JobRun {
    enum Step: Equatable {
        /// Workers are preparing the hosts' volumes.
        case staging(remaining: Set<String>)
        /// The algorithm runs on every host not in `exited`.
        case training
        /// The packaging worker delivers the artifacts.
        case packaging
        /// Everything has ended; the outcome waits to be recorded (the store refused the write,
        /// a full disk say) and is tried again until it is.
        case recordingEnd
    }

    let id: JobID
    let name: String
    let request: CreateTrainingJobRequest
    let owner: UserAccount
    /// Counts starts, so that events of an earlier attempt are recognised and ignored.
    let attempt: Int
    var lifecycle: JobLifecycle
    var plans: [HostLaunchPlan] = []
    /// `<S3OutputPath>/<job>/output` as a local directory, resolved once when the attempt is planned
    /// (a reload that remaps a bucket does not move a running job's artifacts); nil when not served.
    var outputDirectory: String?
    var step: Step = .staging(remaining: [])
    var processes: [String: any JobProcess] = [:]
    var workers: [String: any JobProcess] = [:]
    /// The rclone processes of FastFile mounts, by mount point; they end when the mounts are detached.
    var mounts: [String: any JobProcess] = [:]
    var exits: [String: ExitReport] = [:]
    /// The FailureReason once the job is known to fail.
    var failure: String?
    /// What the FailureReason cannot hold, when the algorithm failed: recorded with it.
    var failureDetails: FailureDetails?
    /// When this attempt's algorithm started, and ended.
    var trainingStartedAt: Double?
    var trainingEndedAt: Double?
    /// Training seconds of the job's earlier attempts: MaxRuntimeInSeconds caps them all together.
    var trainingSecondsBefore: Double = 0
    /// RetryStrategy attempts already used.
    var retriesUsed = 0
    /// Checkpoint watchers copy this attempt's checkpoints (so no separate final sync is needed).
    var checkpointsWatched = false
    /// Training has ended; what follows waits for the watchers' final sync.
    var awaitingCheckpointSync = false
    /// Set while this attempt is being ended without ending the job (`Supervisor+Interruption`).
    var interruption: Interruption?
    var maxRuntimeTimer: (any DispatchSourceTimer)?
    var maxWaitTimer: (any DispatchSourceTimer)?
    var graceTimer: (any DispatchSourceTimer)?
    var notes: [String] = []
    /// The GPUs each host holds for this attempt (by host name), recorded in the store before it starts.
    var gpus: [String: [GPUDevice]] = [:]
    /// What packaging left out (a file of the same name on a lower-numbered host): said when the job ends.
    var artifactNotes: [String] = []
    /// Status changes the store refused (a full disk), oldest first: written, in order, once it can be.
    var unrecordedTransitions: [(lifecycle: JobLifecycle, message: String, time: Double, facts: [AttemptFact])] = []
    /// The daemon has sent its SIGTERM to the hosts (a stop, a failed host): a host that reports a
    /// forwarded SIGTERM ended because of it, not because someone outside asked.
    var hostsTerminated = false
    /// The last sweep found nothing running for this run (`Supervisor+Sweep`).
    var seenIdleBySweep = false

    /// An attempt being ended so that the job can start again: an interruption, or a retry.
    struct Interruption {
        var outcome: AttemptOutcome
        var reason: String
        /// The checkpoint sync has been started (or there is none to do).
        var syncStarted = false
        /// Seconds after the interruption before the job may start again (a spot reclaim's capacity gap).
        var capacityGap: Double = 0
        /// A stop asked for meanwhile: once recorded, the job ends instead of waiting.
        var stopCause: Supervisor.StopCause?
    }

    /// This attempt's seconds in Training so far.
    func trainingSeconds(now: Double) -> Double {
        trainingStartedAt.map { (trainingEndedAt ?? now) - $0 } ?? 0
    }

    init(id: JobID, name: String, request: CreateTrainingJobRequest, owner: UserAccount, attempt: Int, lifecycle: JobLifecycle) {
        self.id = id
        self.name = name
        self.request = request
        self.owner = owner
        self.attempt = attempt
        self.lifecycle = lifecycle
    }

    var isStopping: Bool { lifecycle.status == .stopping }

    func cancelTimers() {
        maxRuntimeTimer?.cancel()
        maxWaitTimer?.cancel()
        graceTimer?.cancel()
        maxRuntimeTimer = nil
        maxWaitTimer = nil
        graceTimer = nil
    }
}

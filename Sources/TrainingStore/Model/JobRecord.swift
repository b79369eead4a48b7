public import TrainingCore

/// A job's submission number: its place in the queue, unique for the life of
/// the database (a deleted job's number is never given again), so a stale
/// event about a deleted job can never touch a new job of the same name.
public struct JobID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The `jobs.seq` column.
    public let rawValue: Int64

    /// The number as stored; only the store hands out valid ones.
    public init(rawValue: Int64) { self.rawValue = rawValue }

    public static func < (lhs: JobID, rhs: JobID) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "#\(rawValue)" }
}

/// The Unix user and group a job runs as (and that may see and stop it).
public struct JobOwner: Hashable, Sendable {
    /// The user id.
    public var uid: UInt32
    /// The primary group id.
    public var gid: UInt32

    /// An owner.
    public init(uid: UInt32, gid: UInt32) {
        self.uid = uid
        self.gid = gid
    }
}

/// Where a job came from.
public enum JobSource: Hashable, Sendable {
    /// CreateTrainingJob on the control socket.
    case api
    /// A file dropped into the spool directory; its name there.
    case spool(fileName: String)
}

/// A job about to be recorded: the validated definition and what the daemon adds to it.
public struct JobSubmission: Sendable {
    /// The validated definition; its `jobName` is the job's name.
    public var definition: ValidatedDefinition
    /// `arn:aws:sagemaker:<region>:<account>:training-job/<name>`; the daemon knows region and account.
    public var arn: String
    /// Who submitted the job: it runs as this user.
    public var owner: JobOwner
    /// CreationTime, epoch seconds.
    public var submittedAt: Double
    /// The lifecycle the job starts in; its secondary status is the first transition.
    public var lifecycle: JobLifecycle
    /// The StatusMessage of the first transition.
    public var statusMessage: String

    /// A submission; a job starts `InProgress/Pending`, waiting for capacity.
    public init(
        definition: ValidatedDefinition, arn: String, owner: JobOwner, submittedAt: Double,
        lifecycle: JobLifecycle = JobLifecycle(), statusMessage: String = "Waiting for capacity"
    ) {
        self.definition = definition
        self.arn = arn
        self.owner = owner
        self.submittedAt = submittedAt
        self.lifecycle = lifecycle
        self.statusMessage = statusMessage
    }
}

/// One entry of FinalMetricDataList: the last value a metric took.
public struct FinalMetric: Codable, Sendable, Equatable {
    /// The MetricDefinition's Name.
    public var metricName: String
    /// The last value captured; always finite.
    public var value: Double
    /// Epoch seconds.
    public var timestamp: Double

    /// A final metric.
    public init(metricName: String, value: Double, timestamp: Double) {
        self.metricName = metricName
        self.value = value
        self.timestamp = timestamp
    }

    public enum CodingKeys: String, CodingKey {
        case metricName = "MetricName"
        case value = "Value"
        case timestamp = "Timestamp"
    }
}

/// Everything the store knows about one job: what DescribeTrainingJob answers.
public struct JobRecord: Sendable, Equatable {
    /// The submission number: the key of every write.
    public var id: JobID
    /// TrainingJobName.
    public var name: String
    /// TrainingJobArn.
    public var arn: String
    /// Who submitted the job: it runs as this user.
    public var owner: JobOwner
    /// The API or the spool file it came from.
    public var source: JobSource
    /// The validated request, defaults applied.
    public var request: CreateTrainingJobRequest
    /// The request exactly as submitted (member order kept), for echoing back.
    public var submitted: JSONValue
    /// TrainingJobStatus.
    public var status: TrainingJobStatus
    /// SecondaryStatus.
    public var secondaryStatus: SecondaryStatus
    /// FailureReason, at most 1024 characters.
    public var failureReason: String?
    /// Epoch seconds, like every time here.
    public var creationTime: Double
    /// LastModifiedTime: when the status last changed.
    public var lastModifiedTime: Double
    /// TrainingStartTime: the first time the algorithm started.
    public var trainingStartTime: Double?
    /// TrainingEndTime.
    public var trainingEndTime: Double?
    /// The algorithm's exit status, when it exited.
    public var exitCode: Int32?
    /// The signal that ended the algorithm, when one did.
    public var exitSignal: Int32?
    /// ModelArtifacts.S3ModelArtifacts.
    public var modelArtifacts: String?
    /// FinalMetricDataList; empty until recorded.
    public var finalMetrics: [FinalMetric]
    /// BillableTimeInSeconds.
    public var billableSeconds: Int64?
    /// How many times the job has been started (retries and restarts after interruption count).
    public var attempts: Int
    /// SecondaryStatusTransitions, oldest first.
    public var transitions: [StatusTransition]
    /// While Stopping: the secondary status the job will end with.
    public var stopCause: SecondaryStatus?
    /// Every attempt, oldest first.
    public var attemptHistory: [AttemptRecord] = []

    /// Training seconds of the attempts that have ended (MaxRuntimeInSeconds counts them all).
    public var trainingSecondsUsed: Double { attemptHistory.reduce(0) { $0 + $1.trainingSeconds } }
    /// When the job first left Pending (MaxWaitTimeInSeconds counts from here).
    public var firstStartedAt: Double? { attemptHistory.first?.startedAt }
    public var interruptions: Int { attemptHistory.filter { $0.outcome == .interrupted }.count }
    public var retries: Int { attemptHistory.filter { $0.outcome == .retried }.count }

    /// The job's lifecycle, to apply the next event to.
    public var lifecycle: JobLifecycle { JobLifecycle(status: status, secondary: secondaryStatus, stopCause: stopCause) }

    /// The StatusMessage of the latest transition: what the job is doing or waiting for.
    public var statusMessage: String { transitions.last?.statusMessage ?? "" }

    /// Whether the job has ended.
    public var isTerminal: Bool { status.isTerminal }
}

/// One attempt of a job, as recorded.
public struct AttemptRecord: Sendable, Equatable {
    public var number: Int
    public var startedAt: Double
    public var trainingStartedAt: Double?
    public var endedAt: Double?
    /// Seconds in Training, once the attempt has ended.
    public var trainingSeconds: Double
    public var outcome: AttemptOutcome?
    public var reason: String?

    public init(number: Int, startedAt: Double, trainingStartedAt: Double? = nil, endedAt: Double? = nil,
                trainingSeconds: Double = 0, outcome: AttemptOutcome? = nil, reason: String? = nil) {
        self.number = number
        self.startedAt = startedAt
        self.trainingStartedAt = trainingStartedAt
        self.endedAt = endedAt
        self.trainingSeconds = trainingSeconds
        self.outcome = outcome
        self.reason = reason
    }
}

/// Where a job is in its life: the pair of statuses SageMaker reports, and the
/// only way to move it. Every change goes through ``apply(_:)``, which refuses
/// moves that the status table of the SageMaker contract does not allow.
public struct JobLifecycle: Sendable, Equatable {
    public private(set) var status: TrainingJobStatus
    public private(set) var secondary: SecondaryStatus

    /// While Stopping: the secondary status the job will end with (Stopped, MaxRuntimeExceeded, MaxWaitTimeExceeded).
    public private(set) var stopCause: SecondaryStatus?

    public init(status: TrainingJobStatus = .inProgress, secondary: SecondaryStatus = .pending, stopCause: SecondaryStatus? = nil) {
        self.status = status
        self.secondary = secondary
        self.stopCause = stopCause
    }

    /// What happened to a job; the supervisor turns process and timer events into these.
    public enum Event: Sendable, Equatable {
        /// Capacity was found; the job prepares its hosts.
        case start
        /// File-mode channels are being copied.
        case download
        /// The algorithm is running.
        case train
        /// The algorithm exited 0 (or was stopped); artifacts are being packed.
        case upload
        /// A user asked the job to stop.
        case stopRequested
        /// MaxRuntimeInSeconds was reached.
        case maxRuntimeReached
        /// MaxWaitTimeInSeconds was reached (managed spot).
        case maxWaitReached
        /// Artifacts are delivered and nothing of the job runs any more.
        case finish(exitCode: Int32?)
        /// The job failed (algorithm error, or bad data or configuration found at run time).
        case fail
        /// The job's processes were lost through no fault of its own (drain, crash, spot reclaim).
        case interrupt
        /// A fault of staging or the platform ends this attempt; another follows after a backoff (RetryStrategy).
        case retry
        /// An interrupted or retried job waits for capacity again.
        case requeue
    }

    /// Why a move was refused.
    public struct IllegalTransition: Error, Sendable, Equatable, CustomStringConvertible {
        public var from: JobLifecycle
        public var event: Event
        public var description: String {
            "a job that is \(from.status.rawValue)/\(from.secondary.rawValue) cannot take the event \(event)"
        }
    }

    public mutating func apply(_ event: Event) throws(IllegalTransition) {
        let refused = IllegalTransition(from: self, event: event)
        guard !status.isTerminal else { throw refused }
        switch event {
        case .start:
            guard status == .inProgress, [.pending, .interrupted, .restarting].contains(secondary) else { throw refused }
            secondary = .starting
        case .download:
            guard status == .inProgress, secondary == .starting else { throw refused }
            secondary = .downloading
        case .train:
            guard status == .inProgress, [.starting, .downloading].contains(secondary) else { throw refused }
            secondary = .training
        case .upload:
            guard [.training, .stopping].contains(secondary) || (status == .stopping && secondary != .uploading) else { throw refused }
            secondary = .uploading
        case .stopRequested, .maxRuntimeReached, .maxWaitReached:
            guard status == .inProgress else { throw refused }
            status = .stopping
            secondary = .stopping
            stopCause = event == .stopRequested ? .stopped : event == .maxRuntimeReached ? .maxRuntimeExceeded : .maxWaitTimeExceeded
        case .finish:
            if status == .stopping {
                status = .stopped
                secondary = stopCause ?? .stopped
            } else {
                guard secondary == .uploading else { throw refused }
                status = .completed
                secondary = .completed
            }
        case .fail:
            // Once a job is Stopping, its outcome is Stopped whatever happens.
            if status == .stopping {
                status = .stopped
                secondary = stopCause ?? .stopped
            } else {
                status = .failed
                secondary = .failed
            }
        case .interrupt:
            // An upload cut short publishes nothing: the job trains again from its checkpoints.
            guard status == .inProgress, [.starting, .downloading, .training, .uploading].contains(secondary) else { throw refused }
            secondary = .interrupted
        case .retry:
            guard status == .inProgress, [.starting, .downloading, .training, .uploading].contains(secondary) else { throw refused }
            secondary = .restarting
        case .requeue:
            guard status == .inProgress, [.interrupted, .restarting].contains(secondary) else { throw refused }
            secondary = .pending
        }
    }
}

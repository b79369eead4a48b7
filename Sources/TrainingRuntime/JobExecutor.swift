public import Dispatch

/// Starts jobs somewhere: on this machine (`LocalExecutor`), or later on Slurm or Kubernetes.
public protocol JobExecutor: Sendable {
    /// Starts one host of a job; `onExit` is called once, on `queue`, when everything of it has ended.
    ///
    /// - Parameters:
    ///   - spec: what to run and how.
    ///   - queue: a serial queue owned by the caller; all callbacks run on it.
    ///   - onExit: receives how the job ended.
    /// - Returns: a handle for signalling the job.
    func launch(
        _ spec: LaunchSpec, queue: DispatchQueue, onExit: @escaping @Sendable (ExitReport) -> Void
    ) throws(RuntimeError) -> any JobProcess

    /// Watches a host that an earlier daemon launched with the same `spec` (same token), as
    /// `launch` would; nil when nothing of it runs any more.
    func adopt(
        _ spec: LaunchSpec, queue: DispatchQueue, onExit: @escaping @Sendable (ExitReport) -> Void
    ) throws(RuntimeError) -> (any JobProcess)?

    /// How a host launched with `spec` ended while nobody watched it; nil when that is unknown
    /// (it left no record: it was lost, not finished).
    func recordedOutcome(of spec: LaunchSpec) -> ExitReport?
}

/// A running host of a job.
public protocol JobProcess: Sendable {
    /// The host pid of the process that supervises the job (the keeper, for `LocalExecutor`).
    var keeperPID: Int32 { get }
    /// Asks the algorithm to stop: SIGTERM to its main process only. A no-op once the job has ended.
    ///
    /// An algorithm that is PID 1 of its namespace only sees SIGTERM if it handles it (as in Docker).
    func terminate() throws(RuntimeError)
    /// SIGKILL to everything of the job. A no-op once the job has ended.
    func killAll() throws(RuntimeError)
    /// Whether the supervising process has exited (whether or not its exit was delivered yet).
    var hasEnded: Bool { get }
}

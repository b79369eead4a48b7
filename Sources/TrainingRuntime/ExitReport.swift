/// How one host of a job ended: the algorithm's outcome from the keeper's status file,
/// merged with the keeper's own wait status.
///
/// Exactly one of `exitCode`, `signal`, `execError` and `setupError` is set when the keeper
/// wrote its status file; none is when it did not (then see `statusFileError`).
public struct ExitReport: Sendable, Equatable {
    /// The algorithm's exit code, when it exited.
    public var exitCode: Int32?
    /// The signal that ended the algorithm, when one did.
    public var signal: Int32?
    /// Why the algorithm could not be executed (for example ENOENT: not found on PATH).
    public var execError: ExecError?
    /// What failed before the algorithm could start (namespaces, mounts, credentials).
    public var setupError: String?
    /// The isolation the keeper actually used.
    public var isolationUsed: IsolationUsed?
    /// The algorithm's host pid, when it was started.
    public var algorithmPID: Int32?
    /// How the keeper process itself ended.
    public var keeperStatus: KeeperStatus
    /// Set when the log could not be written completely (disk full, for example).
    public var logError: String?
    /// How many processes that escaped the job's process group the keeper had to kill.
    public var escapedKilled: Int
    /// Set when the keeper left no readable status file (it was killed, or could not write).
    public var statusFileError: RuntimeError?
    /// The SIGTERM or SIGINT the keeper passed on to the algorithm, if it got one (from the
    /// daemon stopping the job, or from outside: a system shutdown).
    public var forwardedSignal: Int32?

    /// Creates a report (`keeperStatus` defaults to `.unknown`, for reports made without a keeper).
    public init(
        exitCode: Int32? = nil, signal: Int32? = nil, execError: ExecError? = nil, setupError: String? = nil,
        isolationUsed: IsolationUsed? = nil, algorithmPID: Int32? = nil, keeperStatus: KeeperStatus = .unknown,
        logError: String? = nil, escapedKilled: Int = 0, statusFileError: RuntimeError? = nil
    ) {
        self.exitCode = exitCode
        self.signal = signal
        self.execError = execError
        self.setupError = setupError
        self.isolationUsed = isolationUsed
        self.algorithmPID = algorithmPID
        self.keeperStatus = keeperStatus
        self.logError = logError
        self.escapedKilled = escapedKilled
        self.statusFileError = statusFileError
    }
}

/// The algorithm's program could not be executed.
public struct ExecError: Sendable, Equatable {
    /// The errno of the failed exec.
    public var errorNumber: Int32
    /// The keeper's description, naming the program.
    public var message: String

    /// Creates an exec error.
    public init(errorNumber: Int32, message: String) {
        self.errorNumber = errorNumber
        self.message = message
    }
}

/// The isolation the keeper actually used.
public enum IsolationUsed: String, Sendable, Equatable {
    /// The algorithm was PID 1 of its own PID namespace, in its own mount namespace.
    case pidNamespace = "pidns"
    /// The algorithm led its own process group.
    case processGroup = "pgroup"
}

/// How the keeper process ended, as collected with waitid.
public enum KeeperStatus: Sendable, Equatable {
    /// The keeper exited with this code (the algorithm's, 128+signal, or 125-127, see main.c).
    case exited(Int32)
    /// A signal killed the keeper itself.
    case signaled(Int32)
    /// The status could not be collected (someone else reaped the keeper).
    case unknown
}

/// The keeper's `.started` file: the algorithm has been exec'd.
public struct AlgorithmStart: Sendable, Equatable {
    /// The algorithm's host pid.
    public var algorithmPID: Int32
    /// The isolation in use.
    public var isolationUsed: IsolationUsed?

    /// Creates a start record.
    public init(algorithmPID: Int32, isolationUsed: IsolationUsed?) {
        self.algorithmPID = algorithmPID
        self.isolationUsed = isolationUsed
    }
}

extension ExitReport: CustomStringConvertible {
    /// One phrase for logs: "exit code 0", "signal 9", "exec failed: ...", "setup failed: ...".
    public var description: String {
        if let exitCode { return "exit code \(exitCode)" }
        if let signal { return "signal \(signal)" }
        if let execError { return "exec failed: \(execError.message)" }
        if let setupError { return "setup failed: \(setupError)" }
        return "no status recorded (\(statusFileError.map { "\($0)" } ?? "keeper \(keeperStatus)"))"
    }
}

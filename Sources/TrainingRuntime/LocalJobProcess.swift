import Dispatch
import Glibc
import CTrainingShim

/// A keeper spawned by `LocalExecutor`, watched and signalled through its pidfd.
///
/// The pidfd stays open until this object goes away, so signals sent after the keeper was
/// reaped fail with ESRCH (treated as "already ended") instead of reaching a recycled pid.
/// The read source holds this object until the exit has been delivered.
final class LocalJobProcess: JobProcess, @unchecked Sendable {
    // @unchecked: `source` is set before the source is resumed and afterwards touched only on
    // the watch queue; everything else is immutable.
    let keeperPID: Int32
    private let pidfd: Int32
    private let spec: LaunchSpec
    private let keeperUID: uid_t
    private var source: (any DispatchSourceRead)?

    init(keeperPID: Int32, pidfd: Int32, spec: LaunchSpec, keeperUID: uid_t) {
        self.keeperPID = keeperPID
        self.pidfd = pidfd
        self.spec = spec
        self.keeperUID = keeperUID
    }

    deinit {
        close(pidfd)
    }

    /// Arms the pidfd read source: it fires once the keeper has exited.
    func watch(queue: DispatchQueue, onExit: @escaping @Sendable (ExitReport) -> Void) {
        let source = DispatchSource.makeReadSource(fileDescriptor: pidfd, queue: queue)
        source.setEventHandler { [self] in collect(onExit) }
        // Holds this object, and so the pidfd, until Dispatch has let go of the descriptor.
        source.setCancelHandler { [self] in _ = self }
        self.source = source
        source.resume()
    }

    private func collect(_ onExit: @Sendable (ExitReport) -> Void) {
        guard let source else { return }  // already delivered
        var result = ctshim_wait_result()
        let keeperStatus: KeeperStatus
        if ctshim_waitid_pidfd(pidfd, 1, &result) < 0 {
            keeperStatus = .unknown  // ECHILD: reaped elsewhere (SIGCHLD ignored, or a waitpid(-1))
        } else if result.pid == 0 {
            return  // not ended yet
        } else {
            keeperStatus = result.exited != 0 ? .exited(result.status) : .signaled(result.status)
        }
        // Cancelling releases the handler and with it this object's self-reference.
        source.cancel()
        self.source = nil
        onExit(
            ExitReport.collect(keeperStatus: keeperStatus, statusPath: spec.statusPath, keeperLogPath: spec.keeperLogPath,
                               keeperUID: keeperUID))
    }

    /// A pidfd polls readable once its process has exited.
    var hasEnded: Bool {
        var descriptor = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) == 1
    }

    func terminate() throws(RuntimeError) {
        try send(SIGTERM, purpose: "terminate")  // the keeper forwards it to the algorithm
    }

    func killAll() throws(RuntimeError) {
        try send(SIGUSR1, purpose: "kill")  // the keeper's "SIGKILL everything of this job"
    }

    private func send(_ signal: Int32, purpose: String) throws(RuntimeError) {
        guard ctshim_pidfd_send_signal(pidfd, signal) < 0 else { return }
        let error = errno
        if error == ESRCH { return }  // it has ended already
        throw RuntimeError(
            .signalFailed, path: spec.statusPath, errorNumber: error,
            message: "cannot \(purpose) the job (keeper pid \(keeperPID)); the daemon may lack permission to signal it")
    }
}

public import Dispatch
import Glibc
import CTrainingShim

/// Picking up hosts that an earlier daemon started: keepers outlive the daemon, so a restart
/// (or a crash) leaves them running, and the next daemon watches them again.
extension LocalExecutor {
    /// Watches the keeper still running `spec` (found by its token), as `launch` would have;
    /// nil when none is alive. Its identity is checked again through the pidfd, so a pid
    /// recycled between the scan and the open is never adopted.
    public func adopt(
        _ spec: LaunchSpec, queue: DispatchQueue, onExit: @escaping @Sendable (ExitReport) -> Void
    ) throws(RuntimeError) -> (any JobProcess)? {
        for pid in KeeperDiscovery.keepers(token: spec.token, exact: true) {
            let pidfd = ctshim_pidfd_open(pid)
            guard pidfd >= 0 else { continue }  // ended meanwhile
            // The pidfd now pins this process: if it still carries the token, it is the keeper.
            guard KeeperDiscovery.token(of: pid) == spec.token else {
                close(pidfd)
                continue
            }
            let process = LocalJobProcess(keeperPID: pid, pidfd: pidfd, spec: spec, keeperUID: keeperUID)
            process.watch(queue: queue, onExit: onExit)
            return process
        }
        return nil
    }

    /// How a host ended while nobody watched it: its keeper's status file, or nil when it left
    /// none (it was killed, or the machine went down, before it could write one).
    public func recordedOutcome(of spec: LaunchSpec) -> ExitReport? {
        let report = ExitReport.collect(keeperStatus: .unknown, statusPath: spec.statusPath, keeperLogPath: spec.keeperLogPath, keeperUID: keeperUID)
        return report.statusFileError == nil ? report : nil
    }
}

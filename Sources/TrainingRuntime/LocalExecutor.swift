public import Dispatch
import Glibc
import CTrainingShim

/// Runs each job host under a `trainingd-keeper` process on this machine.
///
/// The keeper is the algorithm's parent: it sets up the namespaces, binds and credentials,
/// writes the log and the status file, and outlives the daemon. This executor spawns it,
/// watches it through a pidfd (no SIGCHLD, never `waitpid(-1)`) and signals it through the
/// same pidfd, so a recycled pid is never signalled.
public struct LocalExecutor: JobExecutor {
    /// The keeper executable (see `locateKeeper`).
    public let keeperPath: String
    /// Programs that exec the keeper, put before it on the command line; for tests, such as
    /// `["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]`.
    /// The first must be an absolute path, and each must exec the next (keeping the pid).
    public let launchPrefix: [String]
    /// The user the keepers run as (the daemon's own, unless `launchPrefix` changes it): only
    /// status files of this user are believed.
    public let keeperUID: UInt32

    /// Creates an executor that spawns `keeperPath`, preceded by `launchPrefix`.
    public init(keeperPath: String, launchPrefix: [String] = [], keeperUID: UInt32? = nil) {
        self.keeperPath = keeperPath
        self.launchPrefix = launchPrefix
        self.keeperUID = keeperUID ?? geteuid()
    }

    /// Runs the keeper for `spec` and watches it; see `JobExecutor.launch`. The keeper is
    /// `spec.warmKeeper` when it has one (and no `launchPrefix` is set), else a spawned one.
    ///
    /// A status file left over from an earlier run at `spec.statusPath` is removed first.
    public func launch(
        _ spec: LaunchSpec, queue: DispatchQueue, onExit: @escaping @Sendable (ExitReport) -> Void
    ) throws(RuntimeError) -> any JobProcess {
        var warmKeeper = spec.warmKeeper
        if warmKeeper != nil && !launchPrefix.isEmpty {
            warmKeeper?.release()  // it would skip the prefix's programs
            warmKeeper = nil
        }
        let environmentFD: Int32
        do {
            try prepare(spec)
            environmentFD = try Self.environmentFile(spec.environment)
        } catch {
            warmKeeper?.release()
            throw error
        }
        defer { close(environmentFD) }
        if let warmKeeper {
            let argv = spec.keeperArguments(keeperPath: keeperPath, environmentDescriptor: Self.environmentDescriptor, joined: true)
            if try Self.handOff(to: warmKeeper, arguments: argv, environmentFD: environmentFD, outputPath: spec.keeperLogPath) {
                warmKeeper.pool.replenish()
                return watch(LocalJobProcess(keeperPID: warmKeeper.pid, pidfd: warmKeeper.pidfd, spec: spec, keeperUID: keeperUID),
                             queue: queue, onExit: onExit)
            }
            // It ended before it got the job (released by handOff): a keeper of its own, as without one.
        }
        let argv = launchPrefix + spec.keeperArguments(keeperPath: keeperPath, environmentDescriptor: Self.environmentDescriptor)
        let program = launchPrefix.first ?? keeperPath
        let pid = try Self.spawn(
            program: program, arguments: argv, environmentFD: environmentFD, outputPath: spec.keeperLogPath)

        let pidfd = ctshim_pidfd_open(pid)
        if pidfd < 0 {
            let error = errno
            // Unwatchable: do not leave it running. It is our child, so reap it by pid.
            kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
            throw RuntimeError(
                .pidfdFailed, path: program, errorNumber: error,
                message: "pidfd_open failed, so the keeper was killed; pidfds need Linux 5.3 or later")
        }
        return watch(LocalJobProcess(keeperPID: pid, pidfd: pidfd, spec: spec, keeperUID: keeperUID), queue: queue, onExit: onExit)
    }

    /// Checks `spec` and the executables, and removes the status files of an earlier run.
    private func prepare(_ spec: LaunchSpec) throws(RuntimeError) {
        try spec.validate()
        // A stale file would be mistaken for this run's outcome if the keeper got killed.
        for path in [spec.statusPath, spec.startedPath] where unlink(path) < 0 && errno != ENOENT {
            throw RuntimeError(
                .invalidSpec, path: path, errorNumber: errno,
                message: "cannot remove the old status file; check the permissions of its directory")
        }
        for path in [launchPrefix.first ?? keeperPath, keeperPath] where access(path, X_OK) < 0 {
            throw RuntimeError(
                .keeperNotFound, path: path, errorNumber: errno,
                message: "not an executable file; install trainingd-keeper or point LocalExecutor at it")
        }
    }

    private func watch(
        _ process: LocalJobProcess, queue: DispatchQueue, onExit: @escaping @Sendable (ExitReport) -> Void
    ) -> LocalJobProcess {
        process.watch(queue: queue, onExit: onExit)
        return process
    }
}

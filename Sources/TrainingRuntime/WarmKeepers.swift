import Dispatch
import Glibc
import Synchronization
import CTrainingShim

/// Keepers started before the jobs that will need them (`trainingd-keeper --warm`, warm.c), so
/// that a job's start does not wait for a keeper's: on cgroup v1 most of that is the move into
/// the host's cgroups (a write to a v1 `cgroup.procs` waits for an RCU grace period, 7-15 ms
/// here), the rest the daemon's posix_spawn (2.4 ms on its thread). A warm keeper has joined
/// empty cgroups of its own (`Cgroups.make`) and waits; the daemon renames them to a host's,
/// writes the host's limits (`HostCgroups.claim`) and hands it the job (`LocalExecutor.launch`).
///
/// Each waits on a socket whose other end only this pool holds: when the daemon exits, however
/// it exits, every warm keeper reads EOF and ends, so none outlives it. One that ends before it
/// got a job is reaped and replaced (after a pause that doubles while they keep failing).
public final class WarmKeepers: Sendable {
    /// How a warm keeper's cgroups are made and removed (the daemon's `HostCgroups`); nil: none.
    public struct Cgroups: Sendable {
        /// Makes the empty cgroups `name` and returns the `cgroup.procs` files to join.
        public var make: @Sendable (_ name: String) throws -> [String]
        /// Removes the cgroups `name`, killing what is in them; nothing when there are none.
        public var remove: @Sendable (_ name: String) -> Void

        public init(make: @escaping @Sendable (String) throws -> [String], remove: @escaping @Sendable (String) -> Void) {
            self.make = make
            self.remove = remove
        }
    }

    /// The keeper executable; a warm keeper runs its main with the job's command line.
    public let keeperPath: String
    /// How many wait at once.
    public let count: Int
    /// Empty arguments at the end of a warm keeper's command line, one NUL byte each: room for
    /// the job's `--token TOKEN` (at most about 110 bytes), which it writes over its own rather
    /// than exec'ing itself (warm.c). Without room it execs itself (tests use 0).
    let commandLineRoom: Int

    /// Names warm keepers' tokens and cgroups apart from another daemon's on the machine.
    public let instance: String
    let cgroups: Cgroups?
    let report: @Sendable (String) -> Void
    let queue = DispatchQueue(label: "trainingd.warm-keepers")
    private let state = Mutex(State())

    /// Warm keepers' cgroups are `PREFIX-INSTANCE-N`: no job's host is named so (job names have
    /// no '_'; hosts' cgroups are `JOB.HOST`).
    public static let cgroupPrefix = "_warm-"

    private struct State: ~Copyable {
        var ready: [Waiting] = []
        var stopped = false
        var serial = 0
        var failuresInARow = 0
        var pausedUntilRetry = false
    }

    /// A warm keeper that has joined its cgroups and waits, as the pool keeps it.
    private final class Waiting: @unchecked Sendable {
        // @unchecked: `watch` is set on the pool's queue before the keeper is made takeable and
        // cancelled (once) by whoever removes it from `ready`, under the pool's lock.
        let keeper: WarmKeeper
        let watchedPidfd: Int32
        var watch: (any DispatchSourceRead)?

        init(keeper: WarmKeeper, watchedPidfd: Int32) {
            self.keeper = keeper
            self.watchedPidfd = watchedPidfd
        }
    }

    /// - Parameters:
    ///   - report: told (on the pool's queue) when a warm keeper cannot be started or ended early.
    public init(keeperPath: String, count: Int, instance: String, cgroups: Cgroups?, commandLineRoom: Int = 128,
                report: @escaping @Sendable (String) -> Void) {
        self.keeperPath = keeperPath
        self.commandLineRoom = commandLineRoom
        self.count = max(0, count)
        self.instance = instance
        self.cgroups = cgroups
        self.report = report
    }

    /// Starts the first warm keepers, in the background.
    public func start() {
        queue.async { self.fill() }
    }

    /// A warm keeper for a job, or nil when none is ready (the caller spawns a keeper as before).
    /// Its replacement starts at `replenish()`, or when it is released.
    public func take() -> WarmKeeper? {
        state.withLock { state in
            guard !state.stopped, !state.ready.isEmpty else { return nil }
            let waiting = state.ready.removeFirst()
            waiting.watch?.cancel()  // it closes the pool's pidfd; the keeper's own stays with it
            return waiting.keeper
        }
    }

    /// Starts replacements for the keepers taken, in the background: called once a taken keeper's
    /// host has its cgroups (renamed, which waits for the kernel's cgroup_mutex). On cgroup v1 a
    /// warm keeper's join holds that mutex through an RCU grace period (7-15 ms), and every
    /// cgroup operation on the machine waits meanwhile; joining after the host's rename, not
    /// before, keeps that wait off the start that took the keeper.
    public func replenish() {
        queue.async { self.fill() }
    }

    /// How many are ready now (for tests).
    public var readyCount: Int { state.withLock { $0.ready.count } }

    /// Lets every warm keeper go and waits (at most `timeout` seconds) for them to end, then
    /// removes their cgroups: the daemon stops. Later `take()`s find none.
    public func stop(timeout: Double = 1) {
        let waiting: [Waiting] = queue.sync {
            state.withLock { state in
                state.stopped = true
                defer { state.ready = [] }
                for entry in state.ready { entry.watch?.cancel() }
                return state.ready
            }
        }
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeout * 1e9)
        for entry in waiting { close(entry.keeper.socket) }
        for entry in waiting { entry.keeper.settle(until: deadline) }
    }

    /// Starts warm keepers until `count` wait, on the pool's queue.
    fileprivate func fill() {
        dispatchPrecondition(condition: .onQueue(queue))
        while true {
            let serial: Int? = state.withLock { state in
                guard !state.stopped, !state.pausedUntilRetry, state.ready.count < count else { return nil }
                state.serial += 1
                return state.serial
            }
            guard let serial else { return }
            do {
                let waiting = try startKeeper(serial: serial)
                let kept = state.withLock { state -> Bool in
                    guard !state.stopped else { return false }
                    state.ready.append(waiting)
                    state.failuresInARow = 0
                    return true
                }
                if !kept {
                    waiting.watch?.cancel()
                    waiting.keeper.release()
                    return
                }
            } catch {
                report("a warm keeper could not be started (jobs start with a keeper of their own meanwhile): \(error)")
                pauseBeforeRetry()
                return
            }
        }
    }

    /// After a failure: the next attempt waits 1 s, doubling up to a minute while they fail.
    private func pauseBeforeRetry() {
        let delay: Double = state.withLock { state in
            state.failuresInARow += 1
            state.pausedUntilRetry = true
            return min(60, Double(1 << min(state.failuresInARow - 1, 6)))
        }
        queue.asyncAfter(deadline: .now() + delay) {
            self.state.withLock { $0.pausedUntilRetry = false }
            self.fill()
        }
    }

    private func startKeeper(serial: Int) throws(RuntimeError) -> Waiting {
        let name = Self.cgroupPrefix + instance + "-" + String(serial)
        let keeper: WarmKeeper, watchedPidfd: Int32
        do {
            (keeper, watchedPidfd) = try spawnKeeper(serial: serial, cgroupName: cgroups == nil ? nil : name)
        } catch {
            cgroups?.remove(name)  // what was made of them
            throw error
        }
        // Takeable only once it is inside its cgroups: a rename before its join would make the join fail.
        guard keeper.awaitReady(milliseconds: 5_000) else {
            keeper.release()
            close(watchedPidfd)
            throw RuntimeError(.spawnFailed, path: keeperPath, message: "a warm keeper did not say it was ready within 5 s")
        }
        let waiting = Waiting(keeper: keeper, watchedPidfd: watchedPidfd)
        let source = DispatchSource.makeReadSource(fileDescriptor: watchedPidfd, queue: queue)
        // The handler holds `waiting` (a cycle through its `watch`): an event already queued when the
        // source is cancelled may still run, and must find it. The cycle ends with the cancellation,
        // which every way out of `ready` makes.
        source.setEventHandler { [weak self, waiting] in self?.endedWhileWaiting(waiting) }
        source.setCancelHandler { close(watchedPidfd) }
        waiting.watch = source
        source.resume()
        return waiting
    }

    /// Makes the keeper's cgroups (`cgroupName`), spawns it and opens its pidfd twice (the job's
    /// and the pool's watch); the cgroups are the caller's to remove when this throws.
    private func spawnKeeper(serial: Int, cgroupName: String?) throws(RuntimeError) -> (WarmKeeper, Int32) {
        var arguments = [keeperPath, "--warm", "trainingd-warm:\(instance):\(serial)"]
        if let cgroups, let cgroupName {
            do {
                arguments += try cgroups.make(cgroupName).flatMap { ["--cgroup", $0] }
            } catch {
                throw RuntimeError(.spawnFailed, path: cgroupName, message: "cannot make the warm keeper's cgroups: \(error)")
            }
        }
        arguments += Array(repeating: "", count: commandLineRoom)
        var ends: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else {
            throw RuntimeError(.spawnFailed, errorNumber: errno, message: "socketpair failed")
        }
        let pid: pid_t
        do {
            defer { close(ends[1]) }
            pid = try LocalExecutor.spawn(program: keeperPath, arguments: arguments, environmentFD: ends[1], outputPath: "/dev/null")
        } catch {
            close(ends[0])
            throw error
        }
        let keeperPidfd = ctshim_pidfd_open(pid)
        let watchedPidfd = keeperPidfd >= 0 ? fcntl(keeperPidfd, F_DUPFD_CLOEXEC, 3) : -1
        guard keeperPidfd >= 0, watchedPidfd >= 0 else {
            let error = errno
            kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)  // our child, unwatchable: reaped by its pid
            for fd in [keeperPidfd, watchedPidfd, ends[0]] where fd >= 0 { close(fd) }
            throw RuntimeError(.pidfdFailed, errorNumber: error, message: "pidfd_open failed for a warm keeper")
        }
        return (WarmKeeper(pid: pid, pidfd: keeperPidfd, socket: ends[0], cgroupName: cgroupName, pool: self), watchedPidfd)
    }

    /// A waiting keeper's pidfd polled readable: it ended (a kill, a crash) before any job.
    private func endedWhileWaiting(_ waiting: Waiting) {
        let wasWaiting = state.withLock { state -> Bool in
            guard let index = state.ready.firstIndex(where: { $0 === waiting }) else { return false }
            state.ready.remove(at: index)
            waiting.watch?.cancel()
            return true
        }
        guard wasWaiting else { return }  // taken meanwhile: its launch watches it now
        waiting.keeper.release()
        report("a warm keeper (pid \(waiting.keeper.pid)) ended before it got a job; starting another")
        pauseBeforeRetry()
    }
}

/// A warm keeper taken for a job: handed the job by `LocalExecutor.launch`, or released.
public struct WarmKeeper: Sendable, Equatable {
    public let pid: Int32
    /// Watches and signals it once it is the job's keeper.
    let pidfd: Int32
    /// The pool's end of its socket: the job goes through it, closing it lets the keeper go.
    let socket: Int32
    /// Its cgroups' name, or nil when warm keepers join none.
    public let cgroupName: String?
    let pool: WarmKeepers

    /// Waits for the keeper's byte that says it has joined its cgroups.
    func awaitReady(milliseconds: Int32) -> Bool {
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        var answer: UInt8 = 0
        while true {
            let ready = poll(&descriptor, 1, milliseconds)
            if ready < 0 && errno == EINTR { continue }
            guard ready == 1 else { return false }
            return read(socket, &answer, 1) == 1 && answer == UInt8(ascii: "r")
        }
    }

    /// Lets it go without a job: it reads EOF and ends; it is reaped (and its cgroups removed)
    /// in the background.
    public func release() {
        close(socket)
        let keeper = self
        pool.queue.async {
            keeper.settle(until: DispatchTime.now().uptimeNanoseconds + 1_000_000_000)
            keeper.pool.fill()
        }
    }

    /// After its socket was closed: reaped (killed if it has not ended by `deadline`), its pidfd
    /// closed and its cgroups removed.
    func settle(until deadline: UInt64) {
        reap(until: deadline)
        close(pidfd)
        if let cgroupName { pool.cgroups?.remove(cgroupName) }
    }

    /// Reaps it, killing it when it has not ended by `deadline` (a monotonic time in ns).
    func reap(until deadline: UInt64) {
        var descriptor = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
        let now = DispatchTime.now().uptimeNanoseconds
        let left = deadline > now ? Int32(min(UInt64(Int32.max), (deadline - now) / 1_000_000)) : 0
        if poll(&descriptor, 1, left) != 1 { _ = ctshim_pidfd_send_signal(pidfd, SIGKILL) }
        var result = ctshim_wait_result()
        _ = ctshim_waitid_pidfd(pidfd, 0, &result)
    }

    public static func == (a: WarmKeeper, b: WarmKeeper) -> Bool { a.pid == b.pid && a.socket == b.socket }
}

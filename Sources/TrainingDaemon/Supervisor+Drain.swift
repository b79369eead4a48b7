import Foundation
import TrainingCore
import TrainingStore

/// Stopping the daemon: leaving the jobs to their keepers (the default), or draining them.
///
/// A drain (`jobctl drain`, or a stop with `on_daemon_stop = "drain"`) stops intake and
/// interrupts every running job (`Supervisor+Interruption`: SIGTERM, the grace period, SIGKILL,
/// checkpoint sync, recorded Interrupted, no artifacts published); packaging already under way
/// may finish. Interrupted jobs resume first at the next start. The drain ends when every job
/// is settled, or at its deadline (the grace period plus as long again for the checkpoint
/// sync), when whatever is left is killed and recorded. A second request cuts it short.
extension Supervisor {
    final class Drain {
        let started: Double
        var deadline: Double
        let progress: (_ secondsLeft: Double, _ jobsLeft: Int) -> Void
        var finished: [@Sendable () -> Void] = []
        var lastProgress = 0.0

        init(deadline: Double, progress: @escaping (Double, Int) -> Void) {
            started = Supervisor.now
            self.deadline = deadline
            self.progress = progress
        }
    }

    /// Stops intake and leaves every running job to its keeper: the daemon is about to exit, and
    /// the next start adopts them. Returns how many jobs run.
    func leaveJobsRunning() -> Int {
        dispatchPrecondition(condition: .onQueue(queue))
        watcher?.cancel()
        logger.notice("stopping: \(runs.count) running job\(runs.count == 1 ? "" : "s") keep running under their keepers; the next start adopts them")
        return runs.count
    }

    /// Begins a drain, or cuts short the one under way. `progress` is called about once a
    /// second while jobs are still in their grace window or syncing; `done` once every job is settled.
    func beginDrain(progress: @escaping (_ secondsLeft: Double, _ jobsLeft: Int) -> Void, then done: @escaping @Sendable () -> Void) {
        dispatchPrecondition(condition: .onQueue(queue))
        if let drain {
            drain.deadline = min(drain.deadline, Self.now)
            drain.finished.append(done)
            logger.warning("asked again to stop: cutting the drain short")
            return
        }
        let grace = Double(configuration.stopGracePeriodSeconds)
        let drain = Drain(deadline: Self.now + grace + max(10, grace), progress: progress)
        drain.finished.append(done)
        self.drain = drain
        watcher?.cancel()
        logger.notice("draining: \(runs.count) running job\(runs.count == 1 ? "" : "s") get SIGTERM and \(configuration.stopGracePeriodSeconds) s, then are recorded as interrupted; they resume at the next start")
        for run in Array(runs.values) {
            beginInterruption(run, outcome: .interrupted, reason: "trainingd stopped; the job resumes from its checkpoints when trainingd starts again")
        }
        awaitDrain()
    }

    /// Checks every 100 ms whether every job is settled; at the deadline settles what is left.
    private func awaitDrain() {
        guard let drain else { return }
        let now = Self.now
        if !runs.isEmpty, now < drain.deadline {
            if now - drain.lastProgress >= 1 {
                drain.lastProgress = now
                drain.progress(drain.deadline - now, runs.count)
            }
            queue.asyncAfter(deadline: .now() + 0.1) { self.awaitDrain() }
            return
        }
        for run in Array(runs.values) { settleCutShort(run) }
        let handlers = drain.finished
        drain.finished = []
        logger.notice("drained in \(String(format: "%.1f", Self.now - drain.started)) s")
        for handler in handlers { handler() }
    }

    /// A job still unsettled at the drain's deadline: everything of it is killed; a job being
    /// stopped ends Stopped, any other is Interrupted (an upload cut short published nothing).
    private func settleCutShort(_ run: JobRun) {
        for process in Array(run.processes.values) + Array(run.workers.values) { try? process.killAll() }
        run.processes = [:]
        run.workers = [:]
        if run.isStopping {
            recordAttemptEnded(run, .stopped, reason: nil)
            _ = transition(run, .finish(exitCode: nil), "Training job stopped (trainingd was stopping)")
            runs[run.name] = nil
            return
        }
        if run.interruption == nil {
            run.interruption = JobRun.Interruption(outcome: .interrupted, reason: "trainingd stopped while the job was uploading; it runs again at the next start")
        }
        settleInterruption(run)
    }
}

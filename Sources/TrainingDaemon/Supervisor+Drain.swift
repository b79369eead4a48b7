import Foundation
import TrainingCore
import TrainingStore

/// Draining: how the daemon ends on SIGTERM, SIGINT or `jobctl drain`.
///
/// Intake stops; every training job gets SIGTERM and the grace period to save its work, then
/// SIGKILL of whatever is left; the jobs are recorded Interrupted (still InProgress, no model
/// artifacts published) and resume from their checkpoints at the next start. Staging is
/// abandoned at once (it is redone at the next start); packaging that already runs is finished
/// within the same window. A second request shortens the window to nothing.
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

    /// Begins a drain, or cuts short the one under way. `progress` is called about once a second
    /// while jobs are still in their grace window; `done` once every job is settled.
    func beginDrain(progress: @escaping (_ secondsLeft: Double, _ jobsLeft: Int) -> Void, then done: @escaping @Sendable () -> Void) {
        dispatchPrecondition(condition: .onQueue(queue))
        if let drain {
            drain.deadline = min(drain.deadline, Self.now)
            drain.finished.append(done)
            logger.warning("asked again to stop: killing the remaining jobs now")
            return
        }
        let drain = Drain(deadline: Self.now + Double(configuration.stopGracePeriodSeconds), progress: progress)
        drain.finished.append(done)
        self.drain = drain
        watcher?.cancel()
        logger.notice("draining: \(runs.count) running job\(runs.count == 1 ? "" : "s") get SIGTERM and \(configuration.stopGracePeriodSeconds) s, then are recorded as interrupted; they resume at the next start")
        for run in runs.values {
            run.cancelTimers()
            for process in run.processes.values { try? process.terminate() }
            if case .staging = run.step {
                for worker in run.workers.values { try? worker.killAll() }
            }
        }
        awaitDrain()
    }

    /// Checks every 100 ms whether the jobs' processes are gone; at the deadline kills what is
    /// left. Then records each unfinished job and calls the waiting `done` handlers.
    private func awaitDrain() {
        guard let drain else { return }
        let now = Self.now
        let alive = runs.values.filter { !$0.processes.isEmpty || !$0.workers.isEmpty }
        if !alive.isEmpty, now < drain.deadline {
            if now - drain.lastProgress >= 1 {
                drain.lastProgress = now
                drain.progress(drain.deadline - now, alive.count)
            }
            queue.asyncAfter(deadline: .now() + 0.1) { self.awaitDrain() }
            return
        }
        for run in alive {
            for process in Array(run.processes.values) + Array(run.workers.values) { try? process.killAll() }
        }
        for run in Array(runs.values) { settleDrained(run) }
        let handlers = drain.finished
        drain.finished = []
        logger.notice("drained in \(String(format: "%.1f", Self.now - drain.started)) s")
        for handler in handlers { handler() }
    }

    /// A job the drain ended: Stopping jobs end Stopped (their stop was asked for); others are Interrupted.
    private func settleDrained(_ run: JobRun) {
        run.cancelTimers()
        if run.isStopping {
            _ = transition(run, .finish(exitCode: nil), "Training job stopped (trainingd was stopping)")
        } else if !run.lifecycle.status.isTerminal {
            _ = transition(run, .interrupt, "trainingd stopped; the job resumes from its checkpoints when trainingd starts again")
        }
        runs[run.name] = nil
    }
}

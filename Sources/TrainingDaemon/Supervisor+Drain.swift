import Foundation
import TrainingCore
import TrainingStore

/// Draining: how the daemon ends on SIGTERM, SIGINT or `jobctl drain`.
///
/// Intake stops; every training job gets SIGTERM and the grace period to save its work, then
/// SIGKILL of whatever is left; the checkpoints of the jobs that were training are synced to
/// their CheckpointConfig location; the jobs are recorded Interrupted (still InProgress, no
/// model artifacts published) and resume from their checkpoints at the next start. Staging is
/// abandoned at once (it is redone at the next start); packaging that already runs may finish
/// within the window. A second request cuts the current phase short.
extension Supervisor {
    final class Drain {
        enum Phase {
            /// The algorithms have their grace period.
            case grace
            /// Checkpoint-sync workers copy what the interrupted jobs saved.
            case checkpointSync
        }

        let started: Double
        var phase = Phase.grace
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

    /// Begins a drain, or cuts short the phase under way. `progress` is called about once a
    /// second while jobs are still in their grace window or syncing; `done` once every job is settled.
    func beginDrain(progress: @escaping (_ secondsLeft: Double, _ jobsLeft: Int) -> Void, then done: @escaping @Sendable () -> Void) {
        dispatchPrecondition(condition: .onQueue(queue))
        if let drain {
            drain.deadline = min(drain.deadline, Self.now)
            drain.finished.append(done)
            logger.warning("asked again to stop: cutting the drain short")
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

    /// Checks every 100 ms whether the current phase's processes are gone; at its deadline kills
    /// what is left and moves on. After the last phase records each unfinished job and calls `done`.
    private func awaitDrain() {
        guard let drain else { return }
        let now = Self.now
        let busy = runs.values.filter { !$0.processes.isEmpty || !$0.workers.isEmpty }
        if !busy.isEmpty, now < drain.deadline {
            if now - drain.lastProgress >= 1 {
                drain.lastProgress = now
                drain.progress(drain.deadline - now, busy.count)
            }
            queue.asyncAfter(deadline: .now() + 0.1) { self.awaitDrain() }
            return
        }
        for run in busy {
            for process in Array(run.processes.values) + Array(run.workers.values) { try? process.killAll() }
        }
        if drain.phase == .grace {
            drain.phase = .checkpointSync
            if startCheckpointSyncs() {
                // As long again as the grace period (at least 10 s): a checkpoint is at most what the algorithm could write in it.
                drain.deadline = max(drain.deadline, now) + Double(max(10, configuration.stopGracePeriodSeconds))
                drain.lastProgress = 0
                return awaitDrain()
            }
        }
        for run in Array(runs.values) { settleDrained(run) }
        let handlers = drain.finished
        drain.finished = []
        logger.notice("drained in \(String(format: "%.1f", Self.now - drain.started)) s")
        for handler in handlers { handler() }
    }

    /// Starts a checkpoint-sync worker per host of every job that was training; false when there is none.
    private func startCheckpointSyncs() -> Bool {
        var started = false
        for run in runs.values where run.step == .training && !run.isStopping {
            for plan in run.plans {
                guard let request = checkpointSync(run, plan) else { continue }
                startWorker(.checkpoint, for: run, host: plan.host.name, request: request)
                started = true
            }
        }
        return started
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

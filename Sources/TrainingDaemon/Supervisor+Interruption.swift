import Foundation
import TrainingCore
import TrainingStore

/// Ending an attempt without ending the job: an interruption (a drain, `jobctl interrupt`, a
/// spot reclaim) or a retry (a fault of staging or the platform, RetryStrategy).
///
/// The algorithm gets SIGTERM and the grace period (then SIGKILL of all that is left), staging
/// is abandoned, the checkpoints are synced to the CheckpointConfig location, and the attempt is
/// recorded: Interrupted (it resumes first when capacity allows, and uses no retry) or Restarting
/// (it starts again after a backoff, and counts against MaximumRetryAttempts). No artifacts are
/// published for either.
extension Supervisor {
    func beginInterruption(_ run: JobRun, outcome: AttemptOutcome, reason: String) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard run.interruption == nil, !run.isStopping, run.step != .packaging, run.step != .recordingEnd else { return }
        run.interruption = JobRun.Interruption(outcome: outcome, reason: reason)
        run.cancelTimers()
        logger.notice("job \(run.name): ending attempt \(run.attempt) (\(outcome.rawValue)): \(reason)", metadata: ["job": "\(run.name)"])
        switch run.step {
        case .staging:
            for worker in run.workers.values { try? worker.killAll() }
        case .training:
            for process in run.processes.values { try? process.terminate() }
            armGraceKill(run, after: Double(configuration.stopGracePeriodSeconds))
        case .packaging, .recordingEnd:
            break
        }
        continueInterruption(run)
    }

    /// Moves an interruption on once what it waits for has ended: the processes, then the
    /// checkpoint sync, then the record. Called again by every exit of the run's processes and workers.
    func continueInterruption(_ run: JobRun) {
        guard let interruption = run.interruption, run.processes.isEmpty, run.workers.isEmpty else { return }
        if !interruption.syncStarted {
            run.interruption?.syncStarted = true
            // Watchers sync by themselves once the algorithm has ended; otherwise a sync worker does.
            if run.step == .training, !run.checkpointsWatched, startCheckpointSync(run) { return }
        }
        settleInterruption(run)
    }

    /// Starts a checkpoint-sync worker for every host with a `file://` CheckpointConfig; false when there is none.
    private func startCheckpointSync(_ run: JobRun) -> Bool {
        var started = false
        for plan in run.plans {
            guard let request = checkpointSync(run, plan) else { continue }
            startWorker(.checkpoint, for: run, host: plan.host.name, request: request)
            started = true
        }
        return started
    }

    /// Records the ended attempt and forgets the run: the job waits to start again.
    func settleInterruption(_ run: JobRun) {
        guard let interruption = run.interruption else { return }
        run.cancelTimers()
        detachMounts(run)
        recordAttemptEnded(run, interruption.outcome, reason: interruption.reason)
        runs[run.name] = nil
        releaseResources(of: run.name, id: run.id)
        let delay: Double
        if interruption.outcome == .retried {
            _ = transition(run, .retry, interruption.reason)
            delay = Self.retryBackoff(retry: run.retriesUsed + 1)
        } else {
            _ = transition(run, .interrupt, interruption.reason)
            delay = interruption.capacityGap
        }
        if let record = try? store.job(named: run.name) {
            if let cause = interruption.stopCause {
                stopWaitingJob(record, cause: cause)
            } else if record.lifecycle.status == .inProgress, Self.waitingSteps.contains(record.secondaryStatus) {
                enqueue(record, notBefore: delay > 0 ? Self.now + delay : nil)  // schedule() below arms the wake-up
            }
        }
        schedule()
    }

    /// Seconds before retry `n` (1, 2, 4, ... at most 60).
    static func retryBackoff(retry: Int) -> Double {
        min(60, pow(2, Double(max(0, retry - 1))))
    }

    /// Closes the current attempt in the store with its training time.
    func recordAttemptEnded(_ run: JobRun, _ outcome: AttemptOutcome, reason: String?) {
        try? store.recordAttemptEnded(
            job: run.id, attempt: run.attempt, at: Self.now, outcome: outcome, reason: reason,
            trainingSeconds: run.trainingSeconds(now: Self.now))
    }

    /// `jobctl interrupt`: ends the job's attempt as a spot capacity reclaim would; the capacity
    /// comes back after `capacityGap` seconds (MaxWaitTimeInSeconds keeps counting meanwhile).
    func interrupt(job name: String, capacityGap: Double = 0) -> Result<Void, StopRefusal> {
        dispatchPrecondition(condition: .onQueue(queue))
        guard let run = runs[name] else {
            guard let record = try? store.job(named: name) else { return .failure(.unknown(name)) }
            return .failure(.notInterruptible(name, record.lifecycle.secondary))
        }
        guard !run.isStopping, run.interruption == nil, run.step != .packaging, run.step != .recordingEnd else {
            return .failure(.notInterruptible(name, run.lifecycle.secondary))
        }
        beginInterruption(run, outcome: .interrupted, reason: "Interrupted on request (as a spot capacity reclaim); the job restarts from its checkpoints when capacity allows")
        run.interruption?.capacityGap = max(0, capacityGap)
        return .success(())
    }
}

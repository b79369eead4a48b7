import Dispatch
import Foundation
import TrainingCore
import TrainingStore

/// Every job can always be ended. A job's end is recorded here and nowhere else, and it is never
/// lost: an end the lifecycle refuses (which would be a bug) fails the job instead, and an end the
/// store cannot write (a full disk, a locked database) keeps the run and is tried again, with the
/// daemon's STATUS saying it is degraded meanwhile.
extension Supervisor {
    /// Records how the job ended (the failure reason, the attempt, the final status), then forgets the run.
    func recordEnd(_ run: JobRun, _ event: JobLifecycle.Event, _ message: String, outcome: AttemptOutcome, failureReason: String?) {
        dispatchPrecondition(condition: .onQueue(queue))
        var next = run.lifecycle
        var (event, message, outcome, failureReason) = (event, message, outcome, failureReason)
        do {
            try next.apply(event)
        } catch {
            // `.fail` is accepted in every state that has not ended (LifecyclePropertyTests).
            let reason = FailureKind.internalServerError.reason(
                "trainingd could not record the job's end (\(error)); this is a bug in trainingd, please report it")
            logger.error("bug: job \(run.name): \(error); the job is failed instead", metadata: ["job": "\(run.name)"])
            next = run.lifecycle
            try? next.apply(.fail)
            (event, message, outcome, failureReason) = (.fail, reason, .failed, run.isStopping ? nil : reason)
        }
        let time = Self.now
        do throws(StoreError) {
            if let error = flushTransitions(run) { throw error }
            if let failureReason { try store.recordFailureReason(job: run.id, failureReason) }
            if case .fail = event, let details = run.failureDetails { try store.recordFailureDetails(job: run.id, details) }
            try store.recordAttemptEnded(job: run.id, attempt: run.attempt, at: time, outcome: outcome, reason: failureReason,
                                         trainingSeconds: run.trainingSeconds(now: time))
            try store.recordTransition(job: run.id, to: next, message: message, at: time)
        } catch {
            return retryRecordingEnd(run, event, message, outcome: outcome, failureReason: failureReason, error: error)
        }
        markRecorded(run.name)
        run.lifecycle = next
        logger.info("job \(run.name): \(message)", metadata: [
            "job": "\(run.name)", "status": "\(next.status.rawValue)", "secondary_status": "\(next.secondary.rawValue)",
        ])
        publish(run.name, next, message, at: time)
        endRun(run)
    }

    /// Keeps the run (it shows in STATUS as degraded) and tries again after a backoff of 1, 2, 4 ... 30 s.
    private func retryRecordingEnd(
        _ run: JobRun, _ event: JobLifecycle.Event, _ message: String, outcome: AttemptOutcome, failureReason: String?, error: StoreError
    ) {
        if unrecorded[run.name] == nil {
            logger.error("job \(run.name): cannot record its end (\(error)); trying again until the store can be written",
                         metadata: ["job": "\(run.name)"])
        }
        let delay = noteUnrecorded(run.name, error)
        run.step = .recordingEnd
        run.cancelTimers()
        let (name, attempt) = (run.name, run.attempt)
        queue.asyncAfter(deadline: .now() + delay) { [weak self] in
            guard let self, let current = self.runs[name], current.attempt == attempt, current.step == .recordingEnd else { return }
            self.recordEnd(current, event, message, outcome: outcome, failureReason: failureReason)
        }
    }

    /// Writes the run's status changes the store refused so far, in order; the error that stopped
    /// it, if any. Once they are all written, the run no longer counts as degraded.
    func flushTransitions(_ run: JobRun) -> StoreError? {
        while let first = run.unrecordedTransitions.first {
            do {
                try store.recordTransition(job: run.id, to: first.lifecycle, message: first.message, at: first.time, alongside: first.facts)
            } catch {
                return error
            }
            run.unrecordedTransitions.removeFirst()
        }
        if run.step != .recordingEnd { markRecorded(run.name) }
        return nil
    }

    /// A running job's status change the store refused: written by a later change, or by a retry
    /// 1, 2, 4 ... 30 s apart, whichever comes first.
    func retryFlushingTransitions(_ run: JobRun, _ error: StoreError) {
        let firstFailure = unrecorded[run.name] == nil
        let delay = noteUnrecorded(run.name, error)
        guard firstFailure else { return }  // one retry loop per run
        scheduleFlush(run.name, attempt: run.attempt, after: delay)
    }

    private func scheduleFlush(_ name: String, attempt: Int, after delay: Double) {
        queue.asyncAfter(deadline: .now() + delay) { [weak self] in
            guard let self, let run = self.runs[name], run.attempt == attempt, run.step != .recordingEnd,
                  self.unrecorded[name] != nil else { return }
            if let error = self.flushTransitions(run) {
                self.scheduleFlush(name, attempt: attempt, after: self.noteUnrecorded(name, error))
            }
        }
    }

    /// Counts a refused write of `name`'s state (STATUS says degraded); the delay before the next try.
    private func noteUnrecorded(_ name: String, _ error: StoreError) -> Double {
        let tries = (unrecorded[name]?.tries ?? 0) + 1
        unrecorded[name] = UnrecordedState(tries: tries, error: "\(error)")
        reportSummary()
        return min(30, pow(2, Double(tries - 1)))
    }

    /// `name`'s state is all written: it no longer counts as degraded.
    private func markRecorded(_ name: String) {
        guard unrecorded.removeValue(forKey: name) != nil else { return }
        logger.notice("job \(name): its state is recorded again", metadata: ["job": "\(name)"])
        reportSummary()
    }

    /// What STATUS adds while some job's state cannot be recorded.
    var degradedSummary: String? {
        guard let example = unrecorded.values.first else { return nil }
        let count = unrecorded.count
        return "degraded: cannot record the state of \(count) job\(count == 1 ? "" : "s") (\(example.error)); retrying"
    }
}

/// A job whose state (a status change, or its end) the store has refused so far.
struct UnrecordedState {
    var tries: Int
    var error: String
}

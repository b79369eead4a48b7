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
        if unrecordedEnds.removeValue(forKey: run.name) != nil {
            logger.notice("job \(run.name): its state is recorded again", metadata: ["job": "\(run.name)"])
            reportSummary(waiting: waiting.count)
        }
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
        let tries = (unrecordedEnds[run.name]?.tries ?? 0) + 1
        if tries == 1 {
            logger.error("job \(run.name): cannot record its end (\(error)); trying again until the store can be written",
                         metadata: ["job": "\(run.name)"])
        }
        unrecordedEnds[run.name] = UnrecordedEnd(tries: tries, error: "\(error)")
        reportSummary(waiting: waiting.count)
        run.step = .recordingEnd
        run.cancelTimers()
        let delay = min(30, pow(2, Double(tries - 1)))
        let (name, attempt) = (run.name, run.attempt)
        queue.asyncAfter(deadline: .now() + delay) { [weak self] in
            guard let self, let current = self.runs[name], current.attempt == attempt, current.step == .recordingEnd else { return }
            self.recordEnd(current, event, message, outcome: outcome, failureReason: failureReason)
        }
    }

    /// Writes the run's unrecorded status changes in order; the error that stopped it, if any.
    func flushTransitions(_ run: JobRun) -> StoreError? {
        while let first = run.unrecordedTransitions.first {
            do {
                try store.recordTransition(job: run.id, to: first.lifecycle, message: first.message, at: first.time)
            } catch {
                return error
            }
            run.unrecordedTransitions.removeFirst()
        }
        return nil
    }

    /// A run goes on with status changes the store refused: they are tried again, 1, 2, 4 ... 30 s apart.
    func noteUnrecorded(_ run: JobRun, _ error: StoreError) {
        let tries = (unrecordedEnds[run.name]?.tries ?? 0) + 1
        unrecordedEnds[run.name] = UnrecordedEnd(tries: tries, error: "\(error)")
        reportSummary(waiting: waiting.count)
        guard tries == 1 else { return }  // one retry loop per run
        scheduleFlush(run.name, attempt: run.attempt, after: 1)
    }

    private func scheduleFlush(_ name: String, attempt: Int, after delay: Double) {
        queue.asyncAfter(deadline: .now() + delay) { [weak self] in
            guard let self, let run = self.runs[name], run.attempt == attempt, run.step != .recordingEnd,
                  !run.unrecordedTransitions.isEmpty else { return }
            if let error = self.flushTransitions(run) {
                let tries = (self.unrecordedEnds[name]?.tries ?? 0) + 1
                self.unrecordedEnds[name] = UnrecordedEnd(tries: tries, error: "\(error)")
                return self.scheduleFlush(name, attempt: attempt, after: min(30, pow(2, Double(tries - 1))))
            }
            self.unrecordedEnds[name] = nil
            self.logger.notice("job \(name): its state is recorded again", metadata: ["job": "\(name)"])
            self.reportSummary(waiting: self.waiting.count)
        }
    }

    /// What STATUS adds while some job's end cannot be recorded.
    var degradedSummary: String? {
        guard let example = unrecordedEnds.values.first else { return nil }
        let count = unrecordedEnds.count
        return "degraded: cannot record the state of \(count) job\(count == 1 ? "" : "s") (\(example.error)); retrying"
    }
}

/// A job whose end the store has refused so far.
struct UnrecordedEnd {
    var tries: Int
    var error: String
}

import Dispatch
import Foundation
import TrainingCore
import TrainingStore

/// The last line of "every job can always be ended": every `[jobs] stuck_job_sweep_seconds`,
/// a job that has not ended but has nothing left that would move it is a bug. Seen so on two
/// sweeps in a row, it is logged as one and failed with InternalServerError (a job that was
/// Stopping ends Stopped), so that nobody waits on it forever.
///
/// Nothing left that would move it: a run whose processes and workers have all exited (by their
/// pidfds, whether or not the exit was delivered) and whose end is not waiting to be recorded; or
/// a job the store says is past Pending for which the supervisor has no run at all. The cost is
/// the running jobs, never the waiting queue.
extension Supervisor {
    /// Starts the repeating sweep on the supervisor's queue.
    func startSweep() {
        let interval = Double(configuration.stuckJobSweepSeconds)
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + interval, repeating: interval, leeway: .milliseconds(100))
        timer.setEventHandler { [weak self] in self?.sweepForStuckJobs() }
        timer.resume()
        sweepTimer = timer
    }

    func sweepForStuckJobs() {
        dispatchPrecondition(condition: .onQueue(queue))
        guard !draining else { return }
        for run in Array(runs.values) {
            let idle = run.step != .recordingEnd && run.processes.values.allSatisfy(\.hasEnded) && run.workers.values.allSatisfy(\.hasEnded)
            // Twice in a row: an exit whose delivery is still queued is not taken for a loss.
            defer { run.seenIdleBySweep = idle }
            guard idle, run.seenIdleBySweep else { continue }
            logger.error("bug: job \(run.name) is \(run.lifecycle.status.rawValue)/\(run.lifecycle.secondary.rawValue) with nothing running and nothing to wait for; failing it", metadata: ["job": "\(run.name)"])
            run.cancelTimers()
            fail(run, Self.lostTrackReason)
        }
        // Jobs past Pending the supervisor has no run for (after recovery at start there should be none).
        let active: [JobRecord]
        do {
            active = try store.activeJobs()
        } catch {
            return logger.error("the sweep for stuck jobs cannot read the store: \(error)")
        }
        var seen: Set<String> = []
        for record in active where runs[record.name] == nil {
            seen.insert(record.name)
            guard orphansSeen.contains(record.name) else { continue }
            logger.error("bug: job \(record.name) is \(record.status.rawValue)/\(record.secondaryStatus.rawValue) but nothing of it runs; ending it", metadata: ["job": "\(record.name)"])
            endOrphan(record)
        }
        orphansSeen = seen
    }

    /// Ends a job that nothing runs for: Stopped if it was Stopping, else Failed with InternalServerError.
    func endOrphan(_ record: JobRecord) {
        if record.lifecycle.status == .stopping {
            stopWaitingJob(record, cause: .requested)
        } else {
            failJobWithoutRun(record, Self.lostTrackReason)
        }
    }

    static let lostTrackReason = FailureKind.internalServerError.reason(
        "trainingd lost track of the job: nothing of it ran any more and nothing would have ended it (a bug in trainingd; please report it with the daemon's log). Submit the job again")
}

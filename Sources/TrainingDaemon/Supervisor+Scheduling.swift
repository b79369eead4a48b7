import Foundation
import TrainingCore
import TrainingStore

/// Submission and the queue: jobs start in submission order as slots free up.
extension Supervisor {
    /// Records a validated job. A spool file's claim is closed in the same transaction.
    func submit(_ definition: ValidatedDefinition, ownerUID: uid_t, ownerGID: gid_t, spoolIdentity: SpoolFileIdentity?) -> Result<Void, ValidationIssue> {
        dispatchPrecondition(condition: .onQueue(queue))
        let submission = JobSubmission(
            definition: definition, arn: configuration.arn(ofJob: definition.jobName),
            owner: JobOwner(uid: ownerUID, gid: ownerGID), submittedAt: Self.now)
        do {
            if let spoolIdentity {
                try store.acceptSpoolFile(identity: spoolIdentity, job: submission)
            } else {
                _ = try store.recordSubmission(submission)
            }
        } catch let error where error.code == .jobExists {
            return .failure(ValidationIssue(path: "TrainingJobName", code: .resourceInUse,
                message: "Training job \(definition.jobName) already exists; choose another TrainingJobName (or delete the old job)"))
        } catch {
            logger.error("cannot record job \(definition.jobName): \(error)", metadata: ["job": "\(definition.jobName)"])
            return .failure(ValidationIssue(path: "", code: .unreadable, message: "trainingd could not record the job (\(error)); try again"))
        }
        logger.info("accepted job \(definition.jobName)", metadata: ["job": "\(definition.jobName)"])
        schedule()
        return .success(())
    }

    /// Starts waiting jobs while slots are free, and tells the others what they wait for.
    /// Interrupted jobs go first (they resume work already paid for), then pending ones in
    /// submission order.
    func schedule() {
        dispatchPrecondition(condition: .onQueue(queue))
        guard !draining else { return }
        let unfinished: [JobRecord]
        do {
            unfinished = try store.unfinishedJobs().filter { runs[$0.name] == nil }
        } catch {
            logger.error("cannot read the queue: \(error)")
            return
        }
        let now = Self.now
        var wakeUp: Double?
        var waitingJobs: [JobRecord] = []
        for job in unfinished.filter({ [.interrupted, .restarting].contains($0.secondaryStatus) }) + unfinished.filter({ $0.secondaryStatus == .pending }) {
            let deadline = maxWaitDeadline(job)
            if let deadline, deadline <= now {
                stopWaitingJob(job, cause: .maxWait)
                continue
            }
            if let deadline { wakeUp = min(wakeUp ?? deadline, deadline) }
            if job.secondaryStatus == .interrupted, job.interruptions > configuration.maxInterruptions {
                failWaitingJob(job, FailureKind.internalServerError.reason(
                    "the job was interrupted \(job.interruptions) times, more than [jobs] max_interruptions (\(configuration.maxInterruptions)); submit it again, or raise the limit"))
            } else if let notBefore = notBefore[job.name], notBefore > now {
                wakeUp = min(wakeUp ?? notBefore, notBefore)
            } else {
                waitingJobs.append(job)
            }
        }
        if let wakeUp, wakeUp < nextWakeUp ?? .infinity {
            // One wake-up at a time, for the earliest deadline; schedule() arms the next one.
            nextWakeUp = wakeUp
            queue.asyncAfter(deadline: .now() + max(0.05, wakeUp - now)) { [weak self] in
                guard let self else { return }
                if self.nextWakeUp == wakeUp { self.nextWakeUp = nil }
                self.schedule()
            }
        }
        var waiting = 0
        for job in waitingJobs {
            if runs.count < capacity {
                begin(job)
            } else if job.secondaryStatus == .pending {
                let message = "Waiting for capacity: \(runs.count) of \(capacity) job slots in use, \(waiting) job\(waiting == 1 ? "" : "s") ahead"
                if job.statusMessage != message { try? store.recordStatusMessage(job: job.id, message) }
                waiting += 1
            } else {
                waiting += 1
            }
        }
        reportSummary(waiting: waiting)
    }

    /// When a managed-spot job runs out of MaxWaitTimeInSeconds (counted from its first start).
    func maxWaitDeadline(_ job: JobRecord) -> Double? {
        guard job.request.enableManagedSpotTraining == true, let limit = job.request.stoppingCondition.maxWaitTimeInSeconds,
              let first = job.firstStartedAt else { return nil }
        return first + Double(limit)
    }

    /// Fails a job that is waiting to start again (nothing of it runs).
    private func failWaitingJob(_ job: JobRecord, _ reason: String) {
        var lifecycle = job.lifecycle
        guard (try? lifecycle.apply(.fail)) != nil else { return }
        try? store.recordFailureReason(job: job.id, reason)
        let time = Self.now
        try? store.recordTransition(job: job.id, to: lifecycle, message: reason, at: time)
        publish(job.name, lifecycle, reason, at: time)
    }

    /// Tells `onSummaryChange` how many jobs run and wait, when that changed.
    func reportSummary(waiting: Int) {
        let summary = "\(runs.count) job\(runs.count == 1 ? "" : "s") running, \(waiting) waiting (\(capacity) slot\(capacity == 1 ? "" : "s"))"
        guard summary != lastSummary else { return }
        lastSummary = summary
        onSummaryChange?(summary)
    }
}

import Foundation
import TrainingCore
import TrainingScheduler
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
            let record = if let spoolIdentity {
                try store.acceptSpoolFile(identity: spoolIdentity, job: submission)
            } else {
                try store.recordSubmission(submission)
            }
            enqueue(record)
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

    /// Starts waiting jobs while slots are free. The queue is in memory (`waiting`), so an event
    /// costs what it touches, not the length of the queue: interrupted and retried jobs go first
    /// (they resume work already paid for), then new ones in submission order.
    func schedule() {
        dispatchPrecondition(condition: .onQueue(queue))
        guard !draining else { return }
        let now = Self.now
        for entry in waiting.with({ $0.expired(now: now) }) {
            guard let record = try? store.job(named: entry.name) else { continue }
            stopWaitingJob(record, cause: .maxWait)
        }
        while runs.count < capacity, let entry = waiting.with({ $0.next(now: now) }) {
            let record: JobRecord?
            do {
                record = try store.job(named: entry.name)
            } catch {
                // The store cannot be read now: the job keeps its place, and the next event tries again.
                waiting.with { $0.add(entry) }
                logger.error("cannot read job \(entry.name) to start it: \(error)", metadata: ["job": "\(entry.name)"])
                break
            }
            // Stopped, deleted or started meanwhile: it no longer waits.
            guard let record, record.lifecycle.status == .inProgress, Self.waitingSteps.contains(record.secondaryStatus) else { continue }
            if record.secondaryStatus == .interrupted, record.interruptions > configuration.maxInterruptions {
                failJobWithoutRun(record, FailureKind.internalServerError.reason(
                    "the job was interrupted \(record.interruptions) times, more than [jobs] max_interruptions (\(configuration.maxInterruptions)); submit it again, or raise the limit"))
                continue
            }
            // Whole GPUs of its own for each host, or it waits at the head of the queue (no job behind it
            // overtakes it: they would keep it waiting).
            guard let held = takeGPUs(for: record) else {
                waiting.with { $0.add(entry) }
                break
            }
            begin(record, gpus: held)
        }
        armWakeUp(waiting.with { $0.nextWakeUp(after: now) }, now: now)
        waiting.setSlots(inUse: runs.count, of: capacity)
        reportSummary()
    }

    /// The secondary statuses of a job that waits to start (again).
    static let waitingSteps: Set<SecondaryStatus> = [.pending, .interrupted, .restarting]

    /// Puts a waiting job in the queue: a new one behind the others, a resuming one ahead of the
    /// new ones, `notBefore` a retry's backoff or a capacity gap.
    func enqueue(_ job: JobRecord, notBefore: Double? = nil) {
        let lane: JobQueue.Lane = job.secondaryStatus == .pending ? .new : .resuming
        waiting.with {
            $0.add(JobQueue.Entry(name: job.name, sequence: job.id.rawValue, lane: lane, notBefore: notBefore,
                                  deadline: maxWaitDeadline(job)))
        }
    }

    /// At start: every job the store says is waiting joins the queue (the one full read of it).
    func loadWaitingJobs() {
        do {
            for job in try store.unfinishedJobs() where job.lifecycle.status == .inProgress && Self.waitingSteps.contains(job.secondaryStatus) {
                enqueue(job)
            }
        } catch {
            logger.error("cannot read the queue: \(error); waiting jobs start once it can be read", metadata: [:])
        }
    }

    /// One wake-up at a time, for the earliest deadline or end of a backoff; schedule() arms the next one.
    private func armWakeUp(_ wakeUp: Double?, now: Double) {
        guard let wakeUp, wakeUp < nextWakeUp ?? .infinity else { return }
        nextWakeUp = wakeUp
        queue.asyncAfter(deadline: .now() + max(0.05, wakeUp - now)) { [weak self] in
            guard let self else { return }
            if self.nextWakeUp == wakeUp { self.nextWakeUp = nil }
            self.schedule()
        }
    }

    /// When a managed-spot job runs out of MaxWaitTimeInSeconds (counted from its first start).
    func maxWaitDeadline(_ job: JobRecord) -> Double? {
        guard job.request.enableManagedSpotTraining == true, let limit = job.request.stoppingCondition.maxWaitTimeInSeconds,
              let first = job.firstStartedAt else { return nil }
        return first + Double(limit)
    }

    /// Fails a job that nothing runs for (waiting, or lost).
    func failJobWithoutRun(_ job: JobRecord, _ reason: String) {
        waiting.with { _ = $0.remove(job.name) }
        releaseGPUs(of: job.name, id: job.id)
        var lifecycle = job.lifecycle
        guard (try? lifecycle.apply(.fail)) != nil else { return }
        try? store.recordFailureReason(job: job.id, reason)
        let time = Self.now
        try? store.recordTransition(job: job.id, to: lifecycle, message: reason, at: time)
        publish(job.name, lifecycle, reason, at: time)
    }

    /// Tells `onSummaryChange` how many jobs run and wait, when that changed.
    func reportSummary() {
        let waiting = self.waiting.count
        var summary = "\(runs.count) job\(runs.count == 1 ? "" : "s") running, \(waiting) waiting (\(capacity) slot\(capacity == 1 ? "" : "s"))"
        if let degraded = degradedSummary { summary += "; " + degraded }
        guard summary != lastSummary else { return }
        lastSummary = summary
        onSummaryChange?(summary)
    }
}

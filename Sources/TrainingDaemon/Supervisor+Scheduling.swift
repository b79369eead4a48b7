import Foundation
import TrainingConfig
import TrainingCore
import TrainingScheduler
import TrainingStore

/// Submission and the queue: jobs start in submission order as slots free up.
extension Supervisor {
    /// Records a validated job. A spool file's claim is closed in the same transaction.
    func submit(_ definition: ValidatedDefinition, ownerUID: uid_t, ownerGID: gid_t, spoolIdentity: SpoolFileIdentity?) -> Result<Void, ValidationIssue> {
        dispatchPrecondition(condition: .onQueue(queue))
        if let refusal = admissionRefusal(definition, ownerUID: ownerUID, ownerGID: ownerGID) { return .failure(refusal) }
        let submission = JobSubmission(
            definition: definition, arn: configuration.arn(ofJob: definition.jobName),
            owner: JobOwner(uid: ownerUID, gid: ownerGID), submittedAt: Self.now)
        do {
            // An API submission is synced after the job had its chance to start (below), before the answer.
            let record = if let spoolIdentity {
                try store.acceptSpoolFile(identity: spoolIdentity, job: submission)
            } else {
                try store.recordSubmission(submission, durable: false)
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
        if spoolIdentity == nil {
            do {
                try store.syncLog()
            } catch {
                // Recorded (and maybe started): only a power loss could still lose it. Say so, do not refuse it.
                logger.error("job \(definition.jobName) is recorded, but syncing it to disk failed: \(error)", metadata: ["job": "\(definition.jobName)"])
            }
        }
        return .success(())
    }

    /// The queue's own limits on a new job: a raised priority needs an administrator, and an owner
    /// may have at most `[queue] max_queued_per_user` jobs waiting.
    func admissionRefusal(_ definition: ValidatedDefinition, ownerUID: uid_t, ownerGID: gid_t, alsoWaiting: Int = 0) -> ValidationIssue? {
        if let priority = JobPriority.of(definition.request), priority > 0, !isAdministrator(uid: ownerUID, gid: ownerGID) {
            let admins = configuration.adminGroup.map { "root and members of group \($0)" } ?? "root ([control] admin_group names a group of administrators)"
            return ValidationIssue(path: "Tags", code: .accessDenied,
                message: "The tag \(JobPriority.tagKey) = \(priority) raises the job's priority, which only \(admins) may do; remove the tag, or give 0 or less")
        }
        if let limit = configuration.queue.maxQueuedPerUser, waiting.with({ $0.queue.count(ofOwner: ownerUID) }) + alsoWaiting >= limit {
            return ValidationIssue(path: "", code: .resourceLimitExceeded,
                message: "The submitter has \(limit) jobs waiting already, as many as [queue] max_queued_per_user allows; submit it when one of them has started, or stop one")
        }
        return nil
    }

    /// Root, or a member of `[control] admin_group`: who may raise a priority, and (through the
    /// control API) change and drain every user's jobs. Reads only immutable state: any queue may ask.
    func isAdministrator(uid: uid_t, gid: gid_t) -> Bool {
        if uid == 0 { return true }
        guard let adminGroupID else { return false }
        return gid == adminGroupID || UserAccount.of(uid: uid, fallbackGroup: gid).groups.contains(adminGroupID)
    }

    /// Starts waiting jobs while the scheduler has one that fits (`TrainingScheduler.Scheduler`:
    /// fair share between owners, capacity, backfill). The queue is in memory, so an event costs
    /// what it touches, not the length of the queue.
    func schedule() {
        dispatchPrecondition(condition: .onQueue(queue))
        guard !draining else { return }
        let now = Self.now
        for entry in waiting.with({ $0.queue.expired(now: now) }) {
            guard let record = try? store.job(named: entry.name) else { continue }
            stopWaitingJob(record, cause: pendingDeadline(record).map { $0 <= now } == true ? .maxPending : .maxWait)
        }
        while let entry = waiting.with({ $0.next(now: now) }) {
            let record: JobRecord?
            do {
                record = try store.job(named: entry.name)
            } catch {
                // The store cannot be read now: the job keeps its place, and the next event tries again.
                waiting.with { $0.ended(entry.name); $0.queue.add(entry) }
                logger.error("cannot read job \(entry.name) to start it: \(error)", metadata: ["job": "\(entry.name)"])
                break
            }
            // Stopped, deleted or started meanwhile: it no longer waits.
            guard let record, record.lifecycle.status == .inProgress, Self.waitingSteps.contains(record.secondaryStatus) else {
                waiting.with { $0.ended(entry.name) }
                continue
            }
            if record.secondaryStatus == .interrupted, record.interruptions > configuration.maxInterruptions {
                failJobWithoutRun(record, FailureKind.internalServerError.reason(
                    "the job was interrupted \(record.interruptions) times, more than [jobs] max_interruptions (\(configuration.maxInterruptions)); submit it again, or raise the limit"))
                continue
            }
            // The scheduler counted the GPUs; the pool picks which (it can fall short only when an
            // adopted job kept devices the configuration no longer lists).
            guard let held = takeGPUs(for: record) else {
                waiting.with { $0.ended(entry.name); $0.queue.add(entry) }
                break
            }
            begin(record, gpus: held)
        }
        armWakeUp(waiting.with { $0.queue.nextWakeUp(after: now) }, now: now)
        reportSummary()
    }

    /// The scheduler's rules from the configuration.
    static func schedulingPolicy(_ configuration: DaemonConfiguration, slots: Int) -> Scheduler.Policy {
        Scheduler.Policy(slots: slots, maxRunningPerOwner: configuration.queue.maxRunningPerUser, backfill: configuration.queue.backfill)
    }

    /// The secondary statuses of a job that waits to start (again).
    static let waitingSteps: Set<SecondaryStatus> = [.pending, .interrupted, .restarting]

    /// Puts a waiting job in the queue: a new one behind its owner's others, a resuming one ahead
    /// of the new ones, `notBefore` a retry's backoff or a capacity gap.
    func enqueue(_ job: JobRecord, notBefore: Double? = nil) {
        let lane: JobQueue.Lane = job.secondaryStatus == .pending ? .new : .resuming
        let deadlines = [maxWaitDeadline(job), lane == .new ? pendingDeadline(job) : nil].compactMap { $0 }
        let entry = JobQueue.Entry(name: job.name, sequence: job.id.rawValue, lane: lane, notBefore: notBefore, deadline: deadlines.min(),
                                   owner: job.owner.uid, priority: JobPriority.of(job.request) ?? 0, need: need(of: job),
                                   runtimeBound: runtimeBound(job))
        waiting.with { $0.queue.add(entry) }
    }

    /// What all hosts of a job hold while it runs.
    func need(of job: JobRecord) -> ResourceAmount {
        site.machine?.need(of: job.request.resourceConfig, catalog: site.instanceTypes) ?? .zero
    }

    /// The longest an attempt of the job can run: what is left of MaxRuntimeInSeconds, and the
    /// stop grace period after it (staging and packaging count against MaxRuntime here too).
    func runtimeBound(_ job: JobRecord) -> Double {
        let limit = Double(job.request.stoppingCondition.maxRuntimeInSeconds ?? 86_400)
        return max(0, limit - job.trainingSecondsUsed) + Double(configuration.stopGracePeriodSeconds)
    }

    /// When a job that never started is stopped for having waited MaxPendingTimeInSeconds.
    func pendingDeadline(_ job: JobRecord) -> Double? {
        guard job.secondaryStatus == .pending, let limit = job.request.stoppingCondition.maxPendingTimeInSeconds else { return nil }
        return job.creationTime + Double(testHooks.pendingTimeScale.map { Double(limit) * $0 } ?? Double(limit))
    }

    /// Gives back what an attempt held (its scheduler share and its GPUs): it ended, or will not run now.
    func releaseResources(of name: String, id: JobID) {
        waiting.with { $0.ended(name) }
        releaseGPUs(of: name, id: id)
        // Each host's leftovers were killed when it ended (`settleCgroup`); a job that ends without
        // that (lost, or failed by the sweep) has them killed here. The cgroups go here, all of them.
        hostCgroups?.removeJob(name)
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
        waiting.with { _ = $0.queue.remove(job.name) }
        releaseResources(of: job.name, id: job.id)
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

import Dispatch
import Foundation
import TrainingCore
import TrainingRuntime
import TrainingStore

/// Stopping conditions: MaxRuntimeInSeconds and stop requests end a job with SIGTERM to
/// the algorithm's main process, then the grace period, then SIGKILL of everything it started.
extension Supervisor {
    /// Why a stop was asked for.
    enum StopCause: Sendable {
        case requested
        case maxRuntime
        case maxWait
        /// It waited MaxPendingTimeInSeconds without starting.
        case maxPending
    }

    /// Stops a job; the result says why it cannot be stopped (unknown, or already ended).
    func stop(job name: String, cause: StopCause = .requested) -> Result<Void, StopRefusal> {
        dispatchPrecondition(condition: .onQueue(queue))
        guard let run = runs[name] else {
            guard let record = try? store.job(named: name) else { return .failure(.unknown(name)) }
            guard !record.lifecycle.status.isTerminal else { return .failure(.notStoppable(name, record.lifecycle.status)) }
            // Nothing of it runs (it waits, or it was lost, which the sweep reports as a bug): it ends at once.
            stopWaitingJob(record, cause: cause)
            return .success(())
        }
        // Already on its way out: asking again changes nothing, and is no error.
        if run.isStopping || run.step == .recordingEnd { return .success(()) }
        guard run.lifecycle.status == .inProgress else {
            return .failure(.notStoppable(name, run.lifecycle.status))
        }
        let message: String
        let event: JobLifecycle.Event
        switch cause {
        case .requested: (message, event) = ("Stopping the training job", .stopRequested)
        case .maxRuntime:
            (message, event) = ("The job reached MaxRuntimeInSeconds (\(run.request.stoppingCondition.maxRuntimeInSeconds ?? 0) s over all its attempts); stopping it", .maxRuntimeReached)
        case .maxWait:
            (message, event) = ("The job reached MaxWaitTimeInSeconds (\(run.request.stoppingCondition.maxWaitTimeInSeconds ?? 0) s since it first started); stopping it", .maxWaitReached)
        case .maxPending:
            // Only a waiting job has a pending deadline; a running one is past it.
            return .success(())
        }
        if run.interruption != nil {
            // Its processes already have their SIGTERM and grace period: the stop takes effect once the
            // interruption is recorded, and the job then ends Stopped instead of waiting to start again.
            run.interruption?.stopCause = cause
            return .success(())
        }
        guard transition(run, event, message) else {
            return .failure(.notStoppable(name, run.lifecycle.status))
        }
        switch run.step {
        case .training: terminateHosts(run)
        // Staging and packaging workers get the algorithm's sequence: SIGTERM, the grace period, SIGKILL.
        case .staging, .packaging: terminateWorkers(run)
        case .recordingEnd: break
        }
        return .success(())
    }

    /// SIGTERM to the run's staging or packaging workers, then SIGKILL of what is left after the grace period.
    func terminateWorkers(_ run: JobRun) {
        for worker in run.workers.values { try? worker.terminate() }
        let attempt = run.attempt
        run.graceTimer?.cancel()
        run.graceTimer = timer(after: Double(configuration.stopGracePeriodSeconds)) { [weak self] in
            guard let self, let current = self.runs[run.name], current.attempt == attempt else { return }
            for worker in current.workers.values { try? worker.killAll() }
        }
    }

    /// A job with nothing running (pending, interrupted, waiting for a retry, or lost) goes
    /// straight to its end; one already Stopping only needs the end.
    func stopWaitingJob(_ record: JobRecord, cause: StopCause) {
        var lifecycle = record.lifecycle
        var steps: [(JobLifecycle.Event, String)]
        switch cause {
        case .maxWait:
            steps = [(.maxWaitReached, "The job reached MaxWaitTimeInSeconds while waiting to start again"), (.finish(exitCode: nil), "Training job stopped: MaxWaitTimeInSeconds exceeded")]
        case .maxPending:
            let limit = record.request.stoppingCondition.maxPendingTimeInSeconds ?? 0
            steps = [(.stopRequested, "The job waited MaxPendingTimeInSeconds (\(limit) s) for capacity without starting; stopping it"),
                     (.finish(exitCode: nil), "Training job stopped: MaxPendingTimeInSeconds (\(limit) s) passed before capacity was free")]
        case .requested, .maxRuntime:
            steps = [(.stopRequested, "Stopping the training job"), (.finish(exitCode: nil), "Training job stopped")]
        }
        if lifecycle.status == .stopping { steps.removeFirst() }
        for (event, message) in steps {
            try? lifecycle.apply(event)
            let time = Self.now
            try? store.recordTransition(job: record.id, to: lifecycle, message: message, at: time)
            publish(record.name, lifecycle, message, at: time)
        }
        waiting.with { _ = $0.queue.remove(record.name) }
    }

    /// SIGTERM to every host's algorithm, then SIGKILL of all that is left when the grace period ends.
    func terminateHosts(_ run: JobRun) {
        run.hostsTerminated = true
        for process in run.processes.values { try? process.terminate() }
        armGraceKill(run, after: Double(configuration.stopGracePeriodSeconds))
        if run.isStopping { faultPoint(.grace, job: run.name) }
    }

    /// SIGKILL of everything left of the job after `seconds` (what remains of its grace period).
    func armGraceKill(_ run: JobRun, after seconds: Double) {
        guard run.graceTimer == nil else { return }
        let attempt = run.attempt
        run.graceTimer = timer(after: seconds) { [weak self] in
            guard let self, let current = self.runs[run.name], current.attempt == attempt else { return }
            let survivors = current.processes
            for process in survivors.values { try? process.killAll() }
            if !survivors.isEmpty { self.recordGraceKill(current, hosts: survivors.keys.sorted()) }
        }
    }

    /// Says that the grace period ran out and SIGKILL ended the job's processes: appended to the open
    /// transition's message (describe's history, `jobctl wait`) and as a line of each host's log.
    func recordGraceKill(_ run: JobRun, hosts: [String]) {
        let grace = configuration.stopGracePeriodSeconds
        let escalation = "the algorithm did not stop within \(grace) s of SIGTERM; it was killed (SIGKILL)"
        logger.notice("job \(run.name): \(escalation)", metadata: ["job": "\(run.name)"])
        if let current = try? store.job(named: run.name) {
            let message = current.statusMessage.isEmpty ? escalation : current.statusMessage + "; " + escalation
            try? store.recordStatusMessage(job: run.id, message)
            publish(run.name, run.lifecycle, message, at: Self.now)
        }
        for host in hosts { Self.appendLogLine("trainingd: " + escalation, to: "\(configuration.paths.logs)/\(run.name)/\(host).log") }
    }

    /// Appends one line in the keeper's format (`<UTC time> err <text>`) to a host log. The directory
    /// `logs/<job>/` is the daemon's, so the path cannot be swapped by the job's owner; O_NOFOLLOW
    /// and no O_CREAT refuse a link or a missing log all the same.
    static func appendLogLine(_ text: String, to path: String) {
        let descriptor = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'"
        let line = Array("\(formatter.string(from: Date())) err \(text)\n".utf8)
        _ = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    }

    /// Arms the MaxRuntimeInSeconds deadline, counted from the recorded start of Training (so an
    /// adopted job keeps the deadline it had).
    func armMaxRuntime(_ run: JobRun) {
        let limit = Double(run.request.stoppingCondition.maxRuntimeInSeconds ?? Int(TrainingDefaults.maxRuntimeInSeconds))
        let used = run.trainingSecondsBefore + run.trainingSeconds(now: Self.now)
        let attempt = run.attempt
        run.maxRuntimeTimer = timer(after: limit - used) { [weak self] in
            guard let self, let current = self.runs[run.name], current.attempt == attempt else { return }
            _ = self.stop(job: run.name, cause: .maxRuntime)
        }
    }

    /// Arms MaxWaitTimeInSeconds (managed spot only): wall-clock time since the job first started.
    func armMaxWait(_ run: JobRun, firstStartedAt: Double) {
        guard run.request.enableManagedSpotTraining == true, let limit = run.request.stoppingCondition.maxWaitTimeInSeconds else { return }
        let attempt = run.attempt
        run.maxWaitTimer = timer(after: firstStartedAt + Double(limit) - Self.now) { [weak self] in
            guard let self, let current = self.runs[run.name], current.attempt == attempt else { return }
            _ = self.stop(job: run.name, cause: .maxWait)
        }
    }

    func timer(after seconds: Double, _ handler: @escaping () -> Void) -> any DispatchSourceTimer {
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + max(0, seconds))
        timer.setEventHandler(handler: handler)
        timer.resume()
        return timer
    }

    /// Removes an ended job's volume once its retention has passed.
    func scheduleVolumeRemoval(_ name: String, after seconds: Double) {
        // A one-shot block, not a timer source: a source that nobody keeps is cancelled before it fires.
        queue.asyncAfter(deadline: .now() + max(0, seconds)) { [weak self] in
            guard let self, self.runs[name] == nil else { return }
            // By descriptor: the volumes inside belong to the job's owner.
            do {
                try self.jobFiles.removeJob(name)
            } catch {
                self.logger.error("job \(name): cannot remove its volumes: \(error)", metadata: ["job": "\(name)"])
            }
        }
    }

    /// At start: volumes of jobs that ended longer ago than the retention.
    func removeExpiredVolumes() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: configuration.paths.jobs)) ?? []
        for name in names {
            guard let job = try? store.job(named: name) else { continue }
            guard job.lifecycle.status.isTerminal else { continue }
            let ended = job.trainingEndTime ?? job.lastModifiedTime
            scheduleVolumeRemoval(name, after: ended + Double(configuration.volumeRetentionSeconds) - Self.now)
        }
    }
}

/// Why a stop request was refused.
enum StopRefusal: Error, Sendable, CustomStringConvertible {
    case unknown(String)
    case notStoppable(String, TrainingJobStatus)
    case notInterruptible(String, SecondaryStatus)

    var description: String {
        switch self {
        case .unknown(let name): return "Requested resource not found: no training job named \(name)"
        case .notStoppable(let name, let status):
            return "The training job \(name) is \(status.rawValue): it has ended, so there is nothing to stop; jobctl describe \(name) shows how, and jobctl delete \(name) removes it"
        case .notInterruptible(let name, let status):
            return "The training job \(name) is \(status.rawValue); only a job that is Starting, Downloading or Training can be interrupted"
        }
    }
}

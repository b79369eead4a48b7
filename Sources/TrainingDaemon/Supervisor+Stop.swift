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
    }

    /// Stops a job; the result says why it cannot be stopped (unknown, or already ended).
    func stop(job name: String, cause: StopCause = .requested) -> Result<Void, StopRefusal> {
        dispatchPrecondition(condition: .onQueue(queue))
        guard let run = runs[name] else {
            guard let record = try? store.job(named: name) else { return .failure(.unknown(name)) }
            guard record.lifecycle.status == .inProgress, record.lifecycle.secondary == .pending else {
                return .failure(.notStoppable(name, record.lifecycle.status))
            }
            // A pending job has nothing running: it goes straight to Stopped.
            var lifecycle = record.lifecycle
            for (event, message) in [(JobLifecycle.Event.stopRequested, "Stopping the training job"), (.finish(exitCode: nil), "Training job stopped")] {
                try? lifecycle.apply(event)
                let time = Self.now
                try? store.recordTransition(job: record.id, to: lifecycle, message: message, at: time)
                publish(name, lifecycle, message, at: time)
            }
            return .success(())
        }
        guard !run.isStopping, run.lifecycle.status == .inProgress else {
            return .failure(.notStoppable(name, run.lifecycle.status))
        }
        let message = cause == .maxRuntime
            ? "The job reached MaxRuntimeInSeconds (\(run.request.stoppingCondition.maxRuntimeInSeconds ?? 0) s); stopping it"
            : "Stopping the training job"
        guard transition(run, cause == .maxRuntime ? .maxRuntimeReached : .stopRequested, message) else {
            return .failure(.notStoppable(name, run.lifecycle.status))
        }
        if run.step == .training { terminateHosts(run) }
        return .success(())
    }

    /// SIGTERM to every host's algorithm, then SIGKILL of all that is left when the grace period ends.
    func terminateHosts(_ run: JobRun) {
        for process in run.processes.values { try? process.terminate() }
        guard run.graceTimer == nil else { return }
        let attempt = run.attempt
        run.graceTimer = timer(after: Double(configuration.stopGracePeriodSeconds)) { [weak self] in
            guard let self, let current = self.runs[run.name], current.attempt == attempt else { return }
            for process in current.processes.values { try? process.killAll() }
        }
    }

    /// Arms the MaxRuntimeInSeconds deadline, counted from the start of Training.
    func armMaxRuntime(_ run: JobRun) {
        let limit = Double(run.request.stoppingCondition.maxRuntimeInSeconds ?? Int(TrainingDefaults.maxRuntimeInSeconds))
        let attempt = run.attempt
        run.maxRuntimeTimer = timer(after: limit) { [weak self] in
            guard let self, let current = self.runs[run.name], current.attempt == attempt else { return }
            _ = self.stop(job: run.name, cause: .maxRuntime)
        }
    }

    func timer(after seconds: Double, _ handler: @escaping () -> Void) -> any DispatchSourceTimer {
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + max(0, seconds))
        timer.setEventHandler(handler: handler)
        timer.resume()
        return timer
    }

    /// Stops intake and ends the daemon. Running jobs are sent SIGTERM, given the grace
    /// period, and recorded as Interrupted so that the next start runs them again.
    func shutDown(then done: @escaping @Sendable () -> Void) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard !draining else { return done() }
        draining = true
        watcher?.cancel()
        let active = Array(runs.keys)
        log("stopping: \(active.count) running job\(active.count == 1 ? "" : "s") will be interrupted and run again at the next start")
        for run in runs.values {
            for process in run.processes.values { try? process.terminate() }
        }
        awaitDrain(active, deadline: Self.now + Double(configuration.stopGracePeriodSeconds), then: done)
    }

    /// Checks every 100 ms whether the draining jobs' processes are gone; at the deadline kills
    /// what is left. Then records the unfinished jobs as interrupted and calls `done`.
    private func awaitDrain(_ names: [String], deadline: Double, then done: @escaping @Sendable () -> Void) {
        let alive = names.compactMap { runs[$0] }.filter { !$0.processes.isEmpty || !$0.workers.isEmpty }
        guard alive.isEmpty || Self.now >= deadline else {
            queue.asyncAfter(deadline: .now() + 0.1) { self.awaitDrain(names, deadline: deadline, then: done) }
            return
        }
        for run in alive {
            for process in Array(run.processes.values) + Array(run.workers.values) { try? process.killAll() }
        }
        for run in names.compactMap({ runs[$0] }) where !run.lifecycle.status.isTerminal {
            interrupt(run, "trainingd stopped; the job will start again when trainingd starts")
        }
        done()
    }

    /// Records a job as Interrupted and forgets its run: it starts again from Pending.
    func interrupt(_ run: JobRun, _ message: String) {
        run.cancelTimers()
        if transition(run, .interrupt, message) {
            _ = transition(run, .requeue, "Waiting for capacity after an interruption")
        }
        runs[run.name] = nil
    }

    /// At start: jobs recorded as running had their processes lost with the previous daemon.
    /// Anything of them still alive is killed, and they are queued again (they were interrupted).
    func recoverUnfinishedJobs() {
        guard let jobs = try? store.unfinishedJobs() else { return }
        for job in jobs where job.secondaryStatus != .pending {
            KeeperSweep.endJobs(tokenPrefix: "trainingd:\(job.name):")
            var lifecycle = job.lifecycle
            if lifecycle.status == .stopping {
                try? lifecycle.apply(.finish(exitCode: nil))
                try? store.recordTransition(job: job.id, to: lifecycle, message: "Training job stopped (trainingd restarted while stopping it)", at: Self.now)
                continue
            }
            if (try? lifecycle.apply(.interrupt)) != nil {
                try? store.recordTransition(job: job.id, to: lifecycle, message: "trainingd restarted; the job's processes were lost", at: Self.now)
                try? lifecycle.apply(.requeue)
                try? store.recordTransition(job: job.id, to: lifecycle, message: "Waiting for capacity after an interruption", at: Self.now)
            }
        }
    }

    /// Removes an ended job's volume once its retention has passed.
    func scheduleVolumeRemoval(_ name: String, after seconds: Double) {
        // A one-shot block, not a timer source: a source that nobody keeps is cancelled before it fires.
        queue.asyncAfter(deadline: .now() + max(0, seconds)) { [weak self] in
            guard let self, self.runs[name] == nil else { return }
            try? FileManager.default.removeItem(atPath: self.configuration.paths.jobs + "/" + name)
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

    var description: String {
        switch self {
        case .unknown(let name): return "Requested resource not found: no training job named \(name)"
        case .notStoppable(let name, let status): return "The training job \(name) is \(status.rawValue) and cannot be stopped"
        }
    }
}

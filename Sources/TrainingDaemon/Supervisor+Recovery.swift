import Foundation
import TrainingCore
import TrainingScheduler
import TrainingRuntime
import TrainingStaging
import TrainingStore

/// What a start finds of the previous daemon's jobs. Keepers outlive the daemon, so a job that
/// was training is normally still training: it is adopted (same processes, same deadlines).
/// Only a job whose processes are really gone is Interrupted; it resumes from its checkpoints.
extension Supervisor {
    func recoverUnfinishedJobs() {
        guard let jobs = try? store.unfinishedJobs() else { return }
        for job in jobs where ![.pending, .interrupted, .restarting].contains(job.secondaryStatus) {
            // Workers are not adopted: staging starts again, and packaging is run again by `adopt`.
            for kind in [Worker.Kind.stage, .package, .checkpoint, .checkpointWatch] {
                KeeperSweep.endJobs(tokenPrefix: "trainingd:\(job.name):\(kind.rawValue):")
            }
            if job.trainingStartTime != nil, adopt(job) { continue }
            KeeperSweep.endJobs(tokenPrefix: "trainingd:\(job.name):")
            jobFiles.detachMounts(job.name)
            var lifecycle = job.lifecycle
            if lifecycle.status == .stopping {
                try? lifecycle.apply(.finish(exitCode: nil))
                try? store.recordTransition(job: job.id, to: lifecycle, message: "Training job stopped (trainingd restarted while stopping it)", at: Self.now)
                continue
            }
            if (try? lifecycle.apply(.interrupt)) != nil {
                let message = "trainingd restarted; the job's processes were lost and it resumes from its checkpoints"
                if let current = job.attemptHistory.last, current.endedAt == nil {
                    // When it died is unknown; its log's last write is the latest sign of life, so it is billed up to there.
                    let log = "\(configuration.paths.logs)/\(job.name)/algo-1.log"
                    let lastSign = ((try? FileManager.default.attributesOfItem(atPath: log))?[.modificationDate] as? Date)?.timeIntervalSince1970
                    let trained = current.trainingStartedAt.map { max(0, (lastSign ?? Self.now) - $0) } ?? 0
                    try? store.recordAttemptEnded(job: job.id, attempt: current.number, at: Self.now, outcome: .interrupted, reason: message, trainingSeconds: trained)
                }
                try? store.recordTransition(job: job.id, to: lifecycle, message: message, at: Self.now)
            }
        }
    }

    /// Picks up a job whose algorithm an earlier daemon started: hosts still running are
    /// watched again, hosts that ended meanwhile are taken from their keepers' status files.
    /// False (nothing adopted, survivors killed) when some host left no trace: it was lost.
    private func adopt(_ job: JobRecord) -> Bool {
        let owner = jobOwner(uid: job.owner.uid, gid: job.owner.gid)
        let run = JobRun(id: job.id, name: job.name, request: job.request, owner: owner, attempt: job.attempts, lifecycle: job.lifecycle)
        // A running container needs nothing of its image any more: its keepers are found by
        // token, so an image that is gone from the storage (or a podman that fails just now)
        // must not make a running job look lost.
        var adoptionSite = site
        let lookup = site.localImage
        adoptionSite.localImage = { reference in lookup?(reference) ?? ContainerImage(id: "", names: [reference], layers: ["/"]) }
        // The GPUs its hosts were given when it started: its again, and nobody else's.
        run.gpus = (try? store.gpuAssignment(job: job.id)) ?? [:]
        do {
            run.plans = try launchPlans(job, owner: owner, site: adoptionSite, gpus: run.gpus)
        } catch {
            return false
        }
        run.trainingStartedAt = job.attemptHistory.last?.trainingStartedAt ?? job.trainingStartTime
        run.trainingSecondsBefore = job.trainingSecondsUsed
        run.retriesUsed = job.retries
        var running: [String: any JobProcess] = [:]
        var ended: [String: ExitReport] = [:]
        var lost: [String] = []
        for plan in run.plans {
            let host = plan.host.name
            let spec = algorithmSpec(run, plan)
            if let process = try? executor.adopt(spec, queue: queue, onExit: hostExitHandler(run, host)) {
                running[host] = process
            } else if let report = executor.recordedOutcome(of: spec), report.forwardedSignal == nil || job.lifecycle.status == .stopping {
                ended[host] = report
            } else {
                // No trace, or terminated from outside while no daemon watched (a shutdown): not an outcome.
                lost.append(host)
            }
        }
        guard lost.isEmpty else {
            for process in running.values { try? process.killAll() }
            logger.warning("job \(job.name): \(lost.joined(separator: ", ")) left no trace while trainingd was down; the job is interrupted", metadata: ["job": "\(job.name)"])
            return false
        }
        run.step = .training
        run.processes = running
        runs[job.name] = run
        // What it holds counts against capacity until it ends, as if it had started now (its bound is
        // what is left of its MaxRuntime, counted from now: the scheduler has no earlier clock).
        waiting.with { $0.started(job.name, Scheduler.Running(owner: job.owner.uid, need: need(of: job), endsBy: Self.now + runtimeBound(job))) }
        let refused = gpus.restore(job: job.name, run.gpus)
        if !refused.isEmpty {
            logger.warning("job \(job.name): \(refused.map(\.description).joined(separator: ", ")) recorded for it but not on this machine's list (or held twice); it keeps running without them being reserved", metadata: ["job": "\(job.name)"])
        }
        startCheckpointWatchers(run)
        logger.notice("job \(job.name): adopted, \(running.count) host\(running.count == 1 ? "" : "s") still running, \(ended.count) ended while trainingd was down", metadata: ["job": "\(job.name)"])
        if run.isStopping {
            let stoppingSince = job.transitions.last { $0.status == .stopping }?.startTime ?? Self.now
            armGraceKill(run, after: stoppingSince + Double(configuration.stopGracePeriodSeconds) - Self.now)
        } else {
            armMaxRuntime(run)
        }
        for (host, report) in ended.sorted(by: { $0.key < $1.key }) {
            hostExited(job: run.name, attempt: run.attempt, host: host, report: report)
        }
        return true
    }
}

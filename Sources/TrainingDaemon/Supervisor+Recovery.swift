import Foundation
import TrainingCore
import TrainingStore

/// What a start finds of the previous daemon's jobs.
extension Supervisor {
    /// Jobs recorded as running lost their processes with the previous daemon (a crash, or a
    /// drain that recorded them Interrupted already). Anything of them still alive is killed;
    /// they are Interrupted and `schedule()` starts them again ahead of pending jobs.
    /// A job that was being stopped ends Stopped.
    func recoverUnfinishedJobs() {
        guard let jobs = try? store.unfinishedJobs() else { return }
        for job in jobs where ![.pending, .interrupted].contains(job.secondaryStatus) {
            KeeperSweep.endJobs(tokenPrefix: "trainingd:\(job.name):")
            var lifecycle = job.lifecycle
            if lifecycle.status == .stopping {
                try? lifecycle.apply(.finish(exitCode: nil))
                try? store.recordTransition(job: job.id, to: lifecycle, message: "Training job stopped (trainingd restarted while stopping it)", at: Self.now)
                continue
            }
            if (try? lifecycle.apply(.interrupt)) != nil {
                try? store.recordTransition(job: job.id, to: lifecycle, message: "trainingd restarted; the job's processes were lost and it resumes from its checkpoints", at: Self.now)
            }
        }
    }
}

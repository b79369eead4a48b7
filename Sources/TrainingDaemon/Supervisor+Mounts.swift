import Foundation
import TrainingCore
import TrainingFiles
import TrainingObjectStore
import TrainingRuntime

/// FastFile channels on the S3 endpoint: a read-only rclone FUSE mount per channel, made in the
/// job's `.work` before staging, bound at the channel's path in the job's namespace, and
/// detached as soon as the algorithm has ended (docs/architecture.md, "Object storage").
extension Supervisor {
    /// The rclone that mounts FastFile channels here, or nil when they are downloaded instead
    /// (no mount namespace, no `/dev/fuse`, no rclone, or `[s3] rclone = ""`).
    var fastFileMounter: String? {
        volumeMode == .boundAtOptML && RcloneMount.isAvailable(executable: configuration.rclone) ? configuration.rclone : nil
    }

    /// Starts every planned mount, each under a keeper as root (FUSE's `allow_other` needs it)
    /// in the host's mount namespace. False (the job failed) when one cannot be started.
    func startMounts(_ run: JobRun) -> Bool {
        let mounts = run.plans.flatMap(\.remoteMounts)
        guard !mounts.isEmpty else { return true }
        do {
            let work = try jobFiles.work(run.name)
            for planned in mounts {
                let name = (planned.mount.mountPoint as NSString).lastPathComponent
                // The daemon's own, empty and closed to others until the mount covers it.
                _ = try work.makeSubdirectory(name, mode: 0o700)
                let workDirectory = jobFiles.workDirectory(run.name)
                let spec = LaunchSpec(
                    arguments: planned.mount.arguments, environment: planned.mount.environment, workingDirectory: "/",
                    logPath: "\(workDirectory)/\(name).log", logCapBytes: 1 << 20,
                    statusPath: "\(workDirectory)/\(name).status", token: "trainingd:\(run.name):mount:\(name)", isolation: .none)
                let (job, attempt, point, channel) = (run.name, run.attempt, planned.mount.mountPoint, planned.channel)
                run.mounts[point] = try executor.launch(spec, queue: queue) { [weak self] report in
                    self?.mountEnded(job: job, attempt: attempt, mountPoint: point, channel: channel, report: report)
                }
            }
        } catch {
            fail(run, FailureKind.internalServerError.reason("cannot mount the FastFile channels: \(error)"))
            return false
        }
        return true
    }

    /// An rclone that exits while its channel is still needed fails the job (the algorithm would
    /// see read errors); one that exits because its mount was detached is the normal end.
    func mountEnded(job: String, attempt: Int, mountPoint: String, channel: String, report: ExitReport) {
        // A killed rclone leaves its mount behind (and one killed while it mounted, a mount made
        // after the job's were detached): this one goes now, unless a later attempt owns the path.
        if runs[job].map({ $0.attempt == attempt }) ?? true { Mounts.detach(mountPoint) }
        guard let run = runs[job], run.attempt == attempt, run.mounts.removeValue(forKey: mountPoint) != nil else { return }
        let needed: Bool = {
            switch run.step {
            case .staging, .training: return run.trainingEndedAt == nil
            default: return false
            }
        }()
        guard needed, run.failure == nil, !run.isStopping, run.interruption == nil else { return }
        let log = (mountPoint as NSString).lastPathComponent + ".log"
        logger.error("job \(job): the FastFile mount of channel \(channel) ended: \(report)", metadata: ["job": "\(job)"])
        run.failure = FailureKind.internalServerError.reason(
            "the FastFile mount of channel \(channel) ended while the job needed it (\(report)); see \(jobFiles.workDirectory(job))/\(log)")
        if run.step == .training { terminateHosts(run) }
    }

    /// Ends the job's FastFile mounts: each is detached (its rclone sees it go and exits), and an
    /// rclone still starting is killed (its exit detaches what it may have mounted meanwhile).
    func detachMounts(_ run: JobRun) {
        guard !run.plans.allSatisfy(\.remoteMounts.isEmpty) else { return }
        jobFiles.detachMounts(run.name)
        for process in run.mounts.values { try? process.killAll() }
    }
}

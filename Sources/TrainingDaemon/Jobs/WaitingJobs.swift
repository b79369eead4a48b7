import Foundation
import TrainingScheduler

/// The supervisor's queue of waiting jobs (`TrainingScheduler.JobQueue`), behind a lock so that
/// DescribeTrainingJob can tell a waiting job where it stands without a trip through the
/// supervisor's queue. Only the supervisor changes it.
final class WaitingJobs: @unchecked Sendable {
    // @unchecked: every access goes through `lock`.
    private let lock = NSLock()
    private var jobs = JobQueue()
    private var slotsInUse = 0
    private var slots = 0
    /// The job at the head of the queue that waits for GPUs, and what it waits for.
    private var gpuWait: (job: String, wanted: Int, free: Int, total: Int)?

    func setGPUWait(job: String?, wanted: Int, free: Int, total: Int) {
        lock.lock()
        defer { lock.unlock() }
        gpuWait = job.map { ($0, wanted, free, total) }
    }

    /// Runs `body` on the queue, under the lock.
    func with<T>(_ body: (inout JobQueue) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&jobs)
    }

    var count: Int { with { $0.count } }

    /// What the status messages of waiting jobs count against.
    func setSlots(inUse: Int, of total: Int) {
        lock.lock()
        defer { lock.unlock() }
        (slotsInUse, slots) = (inUse, total)
    }

    /// A waiting job's status message, computed when asked rather than rewritten on every event:
    /// nil when the job does not wait (it started, or it waits for a backoff rather than a slot).
    func statusMessage(for name: String) -> String? {
        lock.lock()
        defer { lock.unlock() }
        guard let ahead = jobs.jobsAhead(of: name) else { return nil }
        if let gpuWait, gpuWait.job == name {
            return "Waiting for capacity: the job's hosts need \(gpuWait.wanted) GPU\(gpuWait.wanted == 1 ? "" : "s"), \(gpuWait.free) of \(gpuWait.total) are free"
        }
        return "Waiting for capacity: \(slotsInUse) of \(slots) job slots in use, \(ahead) job\(ahead == 1 ? "" : "s") ahead"
    }
}

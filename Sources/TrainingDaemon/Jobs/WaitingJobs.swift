import Foundation
import TrainingCore
import TrainingScheduler

/// The supervisor's scheduler (`TrainingScheduler.Scheduler`: the waiting jobs, what runs, and
/// which job starts next), behind a lock so that DescribeTrainingJob can tell a waiting job why
/// it waits without a trip through the supervisor's queue. Only the supervisor changes it.
final class WaitingJobs: @unchecked Sendable {
    // @unchecked: every access goes through `lock`.
    private let lock = NSLock()
    private var scheduler: Scheduler
    /// The job at the head of the queue that waits for GPU devices, and what it waits for.
    private var gpuWait: (job: String, wanted: Int, free: Int, total: Int)?

    init(_ scheduler: Scheduler) {
        self.scheduler = scheduler
    }

    func setGPUWait(job: String?, wanted: Int, free: Int, total: Int) {
        lock.lock()
        defer { lock.unlock() }
        gpuWait = job.map { ($0, wanted, free, total) }
    }

    /// Runs `body` on the scheduler, under the lock.
    func with<T>(_ body: (inout Scheduler) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&scheduler)
    }

    var count: Int { with { $0.queue.count } }

    /// A waiting job's status message, computed when asked rather than rewritten on every event:
    /// nil when the job does not wait (it started, or it waits for a backoff rather than capacity).
    func statusMessage(for name: String) -> String? {
        lock.lock()
        defer { lock.unlock() }
        guard let ahead = scheduler.queue.jobsAhead(of: name) else { return nil }
        if let gpuWait, gpuWait.job == name {
            return "Waiting for capacity: the job's hosts need \(gpuWait.wanted) GPU\(gpuWait.wanted == 1 ? "" : "s"), \(gpuWait.free) of \(gpuWait.total) are free"
        }
        switch scheduler.waits[name] {
        case .capacity(let needed, let free):
            let short = free.shortfall(for: needed).joined(separator: " and ")
            var message = "Waiting for capacity: the job's hosts need \(short.isEmpty ? needed.description : short) at once; free now: \(free)"
            if let reservation = scheduler.reservation, reservation.job == name, reservation.at.isFinite {
                message += "; it starts next, by \(Self.clock(reservation.at)) at the latest (the running jobs' MaxRuntimeInSeconds)"
            }
            return message
        case .slots(let inUse, let total):
            return "Waiting for capacity: \(inUse) of \(total) job slots in use, \(ahead) of its owner's job\(ahead == 1 ? "" : "s") ahead"
        case .ownerLimit(let running, let limit):
            return "Waiting: its owner runs \(running) jobs, as many as [queue] max_running_per_user (\(limit)) allows"
        case nil:
            let total = scheduler.queue.count
            return "Waiting for capacity: \(ahead) of its owner's job\(ahead == 1 ? "" : "s") ahead, \(total) waiting in all"
        }
    }

    private static func clock(_ time: Double) -> String {
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: time))
    }
}

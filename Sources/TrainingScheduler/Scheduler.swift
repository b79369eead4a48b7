public import TrainingCore

/// Which waiting job starts next, given what runs: the supervisor tells it of every start and
/// end, and asks ``next(now:)`` while it returns jobs.
///
/// The rules (docs/configuration.md, "The queue"):
/// - **Order.** Resuming jobs first, then higher priority; among owners at the same level, the
///   owner whose running jobs take the smallest share of the machine (their largest fraction of
///   CPUs, memory, GPUs or job slots) goes first; within an owner, submission order (which only
///   backfill passes).
/// - **Capacity.** A job starts only when all its hosts fit at once in what is free, and a job
///   slot is free.
/// - **Per-owner limit.** An owner at `maxRunningPerOwner` running jobs starts no more.
/// - **Backfill** (EASY). When the first job in order does not fit, it is given a reservation:
///   the earliest time at which enough will be free for it, counting on each running job ending
///   within its runtime bound. A later job may start ahead of it only if it fits now and either
///   ends (by its own bound) before that time, or fits in what the reserved job will leave over
///   then. Only the first waiting job holds a reservation, so others may wait longer. Backfill
///   looks at the first ``backfillDepth`` jobs of each owner's line, so a small job may also pass
///   its own owner's bigger one.
///   Without backfill, nothing overtakes a job that waits for capacity.
///
/// Pure and in memory. A decision costs O(owners · (log owners + backfillDepth) + running · log
/// running), whatever the number of waiting jobs.
public struct Scheduler: Sendable {
    public struct Policy: Sendable, Equatable {
        /// Jobs running at once (`[jobs] max_concurrent`).
        public var slots: Int
        /// Jobs one owner may run at once; nil: no limit but capacity.
        public var maxRunningPerOwner: Int?
        public var backfill: Bool

        public init(slots: Int, maxRunningPerOwner: Int? = nil, backfill: Bool = true) {
            self.slots = slots
            self.maxRunningPerOwner = maxRunningPerOwner
            self.backfill = backfill
        }
    }

    /// Why a waiting job has not started, as of the last decision.
    public enum Wait: Sendable, Equatable {
        /// Its hosts need more than is free now.
        case capacity(needed: ResourceAmount, free: ResourceAmount)
        /// Every job slot is taken.
        case slots(inUse: Int, total: Int)
        /// Its owner runs as many jobs as one owner may.
        case ownerLimit(running: Int, limit: Int)
    }

    /// A running job, as the scheduler counts it.
    public struct Running: Sendable, Equatable {
        public var owner: UInt32
        public var need: ResourceAmount
        /// When it will have ended at the latest (its start plus its runtime bound).
        public var endsBy: Double

        public init(owner: UInt32, need: ResourceAmount, endsBy: Double) {
            self.owner = owner
            self.need = need
            self.endsBy = endsBy
        }
    }

    public var capacity: ResourceAmount
    public var policy: Policy
    public var queue = JobQueue()
    public private(set) var running: [String: Running] = [:]
    public private(set) var inUse = ResourceAmount.zero
    /// Each owner's running jobs and what they hold.
    private var owners: [UInt32: (jobs: Int, held: ResourceAmount)] = [:]
    /// Why the owners' first jobs waited at the last decision, by job name (at most one per owner).
    public private(set) var waits: [String: Wait] = [:]
    /// The job holding the reservation at the last decision, and when it expects to start.
    public private(set) var reservation: (job: String, at: Double)?

    public init(capacity: ResourceAmount, policy: Policy) {
        self.capacity = capacity
        self.policy = policy
    }

    public var free: ResourceAmount { capacity - inUse }

    /// Counts a job as running (it started, or a restart adopted it).
    public mutating func started(_ name: String, _ job: Running) {
        ended(name)
        queue.remove(name)
        running[name] = job
        inUse = inUse + job.need
        owners[job.owner, default: (0, .zero)].jobs += 1
        owners[job.owner, default: (0, .zero)].held = owners[job.owner, default: (0, .zero)].held + job.need
    }

    /// Gives back what a job held (its attempt ended).
    public mutating func ended(_ name: String) {
        guard let job = running.removeValue(forKey: name) else { return }
        inUse = inUse - job.need
        guard var owner = owners[job.owner] else { return }
        owner.jobs -= 1
        owner.held = owner.held - job.need
        owners[job.owner] = owner.jobs == 0 ? nil : owner
    }

    public func runningJobs(ofOwner owner: UInt32) -> Int { owners[owner]?.jobs ?? 0 }

    /// The next job to start now, taken out of the queue and counted as running; nil when none
    /// may start. Call it again after each start: the job just started changes the shares.
    public mutating func next(now: Double) -> JobQueue.Entry? {
        waits = [:]
        reservation = nil
        // Each owner's share once per decision, not once per comparison.
        let heads = queue.heads(now: now).map { (entry: $0, share: share(of: $0.owner)) }.sorted(by: Self.precedes).map(\.entry)
        guard !heads.isEmpty else { return nil }
        guard running.count < policy.slots else {
            for head in heads { waits[head.name] = .slots(inUse: running.count, total: policy.slots) }
            return nil
        }
        let free = self.free
        // Set once the first job in order does not fit: when it expects to start, and what it leaves over then.
        var reserved: (at: Double, spare: ResourceAmount, spareSlots: Int)?
        for head in heads {
            if let limit = policy.maxRunningPerOwner, runningJobs(ofOwner: head.owner) >= limit {
                waits[head.name] = .ownerLimit(running: runningJobs(ofOwner: head.owner), limit: limit)
                continue
            }
            if reserved == nil {
                if head.need.fits(in: free) { return take(head, now: now) }
                waits[head.name] = .capacity(needed: head.need, free: free)
                guard policy.backfill else { return nil }
                let shadow = shadow(of: head, now: now)
                reserved = shadow
                reservation = (head.name, shadow.at)
            }
            // Backfill: the first few jobs of this owner's line (behind the reserved job, for its owner).
            for candidate in queue.line(of: head.owner, now: now, limit: Self.backfillDepth) where candidate.name != reservation?.job {
                guard candidate.need.fits(in: free), let reserved else { continue }
                if now + candidate.runtimeBound <= reserved.at || (candidate.need.fits(in: reserved.spare) && reserved.spareSlots > 0) {
                    return take(candidate, now: now)
                }
            }
            if waits[head.name] == nil { waits[head.name] = .capacity(needed: head.need, free: free) }
        }
        return nil
    }

    /// How deep into each owner's line backfill looks: a bound on the work of one decision.
    public static let backfillDepth = 8

    /// When the reserved job can start at the latest, counting on running jobs ending by their
    /// bounds, and what is left over for others then; never, when even all ending is not enough.
    private func shadow(of job: JobQueue.Entry, now: Double) -> (at: Double, spare: ResourceAmount, spareSlots: Int) {
        var available = free
        var slots = policy.slots - running.count
        for ending in running.values.sorted(by: { $0.endsBy < $1.endsBy }) {
            available = available + ending.need
            slots += 1
            if job.need.fits(in: available) {
                return (max(now, ending.endsBy), available - job.need, slots - 1)
            }
        }
        return (.infinity, .zero, 0)
    }

    private mutating func take(_ entry: JobQueue.Entry, now: Double) -> JobQueue.Entry {
        waits[entry.name] = nil
        queue.remove(entry.name)
        started(entry.name, Running(owner: entry.owner, need: entry.need, endsBy: now + entry.runtimeBound))
        return entry
    }

    /// Resuming first, then priority, then the owner with the smaller running share, then submission.
    private static func precedes(_ a: (entry: JobQueue.Entry, share: Double), _ b: (entry: JobQueue.Entry, share: Double)) -> Bool {
        if a.entry.lane != b.entry.lane { return a.entry.lane.rawValue < b.entry.lane.rawValue }
        if a.entry.priority != b.entry.priority { return a.entry.priority > b.entry.priority }
        if a.share != b.share { return a.share < b.share }
        return a.entry.sequence < b.entry.sequence
    }

    /// The owner's dominant share: the largest fraction of any resource, job slots included, its running jobs hold.
    private func share(of owner: UInt32) -> Double {
        guard let held = owners[owner] else { return 0 }
        return max(held.held.share(of: capacity), policy.slots > 0 ? Double(held.jobs) / Double(policy.slots) : 0)
    }
}

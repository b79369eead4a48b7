public import TrainingCore

/// The jobs waiting to start, one line per owner. Within a line the order is: jobs resuming after
/// an interruption or a retry first (they resume work already paid for), then higher priority,
/// then submission order. Which line goes next is ``Scheduler``'s choice (fair share between
/// owners); ``next(now:)`` here ignores shares, for callers that only need the order.
///
/// Pure and in memory: the supervisor loads it once at start and tells it of every change.
/// Adding or removing a job costs O(log n + its owner's line); finding each owner's first job
/// costs O(owners), however long the lines are.
public struct JobQueue: Sendable {
    /// Which of the two lines a job waits in.
    public enum Lane: Int, Sendable, Equatable {
        /// Interrupted or retried: starts before any new job.
        case resuming = 0
        /// Submitted and never started.
        case new = 1
    }

    /// A waiting job, as the queue needs to know it.
    public struct Entry: Sendable, Equatable {
        public var name: String
        /// Submission order (the store's sequence number).
        public var sequence: Int64
        public var lane: Lane
        /// It may not start before this time (a retry's backoff, a spot reclaim's capacity gap).
        public var notBefore: Double?
        /// It is stopped at this time if it has not started (MaxWaitTimeInSeconds of managed spot,
        /// MaxPendingTimeInSeconds).
        public var deadline: Double?
        /// The owner's uid: each owner has a line of its own.
        public var owner: UInt32
        /// Higher starts first within the owner's line, and before lower priorities of other owners.
        public var priority: Int
        /// What all its hosts need at once.
        public var need: ResourceAmount
        /// The longest it can run once started (MaxRuntimeInSeconds and the stop grace period):
        /// what backfill counts on.
        public var runtimeBound: Double

        public init(name: String, sequence: Int64, lane: Lane, notBefore: Double? = nil, deadline: Double? = nil,
                    owner: UInt32 = 0, priority: Int = 0, need: ResourceAmount = .zero, runtimeBound: Double = 86_400) {
            self.name = name
            self.sequence = sequence
            self.lane = lane
            self.notBefore = notBefore
            self.deadline = deadline
            self.owner = owner
            self.priority = priority
            self.need = need
            self.runtimeBound = runtimeBound
        }

        /// Where it stands among jobs regardless of owner: lane, then priority, then submission.
        public static func precedes(_ a: Entry, _ b: Entry) -> Bool {
            if a.lane != b.lane { return a.lane.rawValue < b.lane.rawValue }
            if a.priority != b.priority { return a.priority > b.priority }
            return a.sequence < b.sequence
        }
    }

    /// Each owner's line, in order.
    private var lines: [UInt32: [Entry]] = [:]
    /// Each waiting job's owner and line position key, by name.
    private var index: [String: Entry] = [:]
    /// Jobs with a notBefore or a deadline: few (backoffs, managed spot, MaxPendingTime), scanned for wake-ups.
    private var timed: [String: Entry] = [:]

    public init() {}

    public var count: Int { index.count }
    public var isEmpty: Bool { index.isEmpty }

    public func contains(_ name: String) -> Bool { index[name] != nil }

    /// Jobs waiting in `owner`'s line.
    public func count(ofOwner owner: UInt32) -> Int { lines[owner]?.count ?? 0 }

    /// Adds a job, or moves it if it was already waiting.
    public mutating func add(_ entry: Entry) {
        remove(entry.name)
        index[entry.name] = entry
        let position = Self.insertionPoint(of: entry, in: lines[entry.owner] ?? [])
        lines[entry.owner, default: []].insert(entry, at: position)
        if entry.notBefore != nil || entry.deadline != nil { timed[entry.name] = entry }
    }

    /// Takes a job out (it started, was stopped, failed or deleted); nil if it was not waiting.
    @discardableResult
    public mutating func remove(_ name: String) -> Entry? {
        guard let entry = index.removeValue(forKey: name) else { return nil }
        timed[name] = nil
        guard var line = lines[entry.owner] else { return nil }
        let position = Self.insertionPoint(of: entry, in: line)
        guard position < line.count, line[position].name == name else { return nil }
        let removed = line.remove(at: position)
        lines[entry.owner] = line.isEmpty ? nil : line
        return removed
    }

    /// Each owner's first job that may start now (its notBefore passed), in no particular order.
    public func heads(now: Double) -> [Entry] {
        // Jobs held back by a notBefore are few; each scan stops at the first that may start.
        lines.values.compactMap { line in line.first { ($0.notBefore ?? 0) <= now } }
    }

    /// The first `limit` jobs of `owner`'s line that may start now, in order.
    public func line(of owner: UInt32, now: Double, limit: Int) -> [Entry] {
        Array((lines[owner] ?? []).lazy.filter { ($0.notBefore ?? 0) <= now }.prefix(limit))
    }

    /// The next job that may start now regardless of shares and capacity, taken out; nil when none may.
    public mutating func next(now: Double) -> Entry? {
        guard let first = heads(now: now).min(by: Entry.precedes) else { return nil }
        return remove(first.name)
    }

    /// Jobs whose deadline has passed (they are to be stopped), taken out of the queue.
    public mutating func expired(now: Double) -> [Entry] {
        let due = timed.values.filter { ($0.deadline ?? .infinity) <= now }.sorted { $0.sequence < $1.sequence }
        for entry in due { remove(entry.name) }
        return due
    }

    /// The earliest time after `now` at which a held-back job may start or a deadline falls.
    public func nextWakeUp(after now: Double) -> Double? {
        timed.values.flatMap { [$0.notBefore, $0.deadline].compactMap { $0 } }.filter { $0 > now }.min()
    }

    /// How many jobs of its owner are ahead of `name`, or nil if it is not waiting.
    public func jobsAhead(of name: String) -> Int? {
        guard let entry = index[name] else { return nil }
        return Self.insertionPoint(of: entry, in: lines[entry.owner] ?? [])
    }

    public func entry(named name: String) -> Entry? { index[name] }

    /// The waiting jobs in the order they would start with equal shares (ignoring notBefore).
    public var entries: [Entry] { lines.values.flatMap { $0 }.sorted(by: Entry.precedes) }

    /// The first position of `line` that `entry` does not follow (binary search).
    private static func insertionPoint(of entry: Entry, in line: [Entry]) -> Int {
        var low = 0, high = line.count
        while low < high {
            let middle = (low + high) / 2
            if Entry.precedes(line[middle], entry) { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

/// The jobs waiting to start, in the order they may start: jobs resuming after an interruption
/// or a retry first (they resume work already paid for), then new jobs in submission order.
///
/// Pure and in memory: the supervisor loads it once at start and tells it of every change, so
/// asking what starts next, or where a job stands, costs O(log n) however long the queue is.
/// Later work (priorities, capacity per resource) replaces `Lane` and the order, not the callers.
public struct JobQueue: Sendable {
    /// Which of the two lines a job waits in.
    public enum Lane: Sendable, Equatable {
        /// Interrupted or retried: starts before any new job.
        case resuming
        /// Submitted and never started.
        case new
    }

    /// A waiting job, as the queue needs to know it.
    public struct Entry: Sendable, Equatable {
        public var name: String
        /// Submission order (the store's sequence number).
        public var sequence: Int64
        public var lane: Lane
        /// It may not start before this time (a retry's backoff, a spot reclaim's capacity gap).
        public var notBefore: Double?
        /// It is stopped at this time if it has not started (MaxWaitTimeInSeconds of managed spot).
        public var deadline: Double?

        public init(name: String, sequence: Int64, lane: Lane, notBefore: Double? = nil, deadline: Double? = nil) {
            self.name = name
            self.sequence = sequence
            self.lane = lane
            self.notBefore = notBefore
            self.deadline = deadline
        }
    }

    /// Sorted by sequence, one array per lane.
    private var resuming: [Entry] = []
    private var new: [Entry] = []
    /// Lane and sequence of each waiting job, by name.
    private var index: [String: (lane: Lane, sequence: Int64)] = [:]
    /// Jobs with a notBefore or a deadline: few (backoffs, managed spot), scanned for wake-ups.
    private var timed: [String: Entry] = [:]

    public init() {}

    public var count: Int { index.count }
    public var isEmpty: Bool { index.isEmpty }

    public func contains(_ name: String) -> Bool { index[name] != nil }

    /// Adds a job, or moves it if it was already waiting.
    public mutating func add(_ entry: Entry) {
        remove(entry.name)
        index[entry.name] = (entry.lane, entry.sequence)
        let position = Self.insertionPoint(of: entry.sequence, in: lane(entry.lane))
        if entry.lane == .resuming { resuming.insert(entry, at: position) } else { new.insert(entry, at: position) }
        if entry.notBefore != nil || entry.deadline != nil { timed[entry.name] = entry }
    }

    /// Takes a job out (it started, was stopped, failed or deleted); nil if it was not waiting.
    @discardableResult
    public mutating func remove(_ name: String) -> Entry? {
        guard let (lane, sequence) = index.removeValue(forKey: name) else { return nil }
        timed[name] = nil
        let position = Self.insertionPoint(of: sequence, in: self.lane(lane))
        guard position < self.lane(lane).count, self.lane(lane)[position].name == name else { return nil }
        return lane == .resuming ? resuming.remove(at: position) : new.remove(at: position)
    }

    /// The next job that may start now, taken out of the queue; nil when none may.
    public mutating func next(now: Double) -> Entry? {
        for lane in [Lane.resuming, .new] {
            // Jobs held back by a notBefore are few; the scan stops at the first that may start.
            if let entry = self.lane(lane).first(where: { ($0.notBefore ?? 0) <= now }) {
                return remove(entry.name)
            }
        }
        return nil
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

    /// How many jobs are ahead of `name` (both lanes), or nil if it is not waiting.
    public func jobsAhead(of name: String) -> Int? {
        guard let (lane, sequence) = index[name] else { return nil }
        let position = Self.insertionPoint(of: sequence, in: self.lane(lane))
        return lane == .resuming ? position : resuming.count + position
    }

    /// The waiting jobs in the order they would start (ignoring notBefore).
    public var entries: [Entry] { resuming + new }

    private func lane(_ lane: Lane) -> [Entry] { lane == .resuming ? resuming : new }

    /// The first position whose sequence is not below `sequence` (binary search).
    private static func insertionPoint(of sequence: Int64, in entries: [Entry]) -> Int {
        var low = 0, high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].sequence < sequence { low = middle + 1 } else { high = middle }
        }
        return low
    }
}

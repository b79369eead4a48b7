import Testing
import TrainingScheduler

@Suite("The queue of waiting jobs")
struct JobQueueTests {
    typealias Entry = JobQueue.Entry

    @Test("resuming jobs start first, then new ones in submission order, whatever order they were added in")
    func order() {
        var queue = JobQueue()
        for sequence in [5, 2, 9, 1] as [Int64] { queue.add(Entry(name: "n\(sequence)", sequence: sequence, lane: .new)) }
        queue.add(Entry(name: "r7", sequence: 7, lane: .resuming))
        queue.add(Entry(name: "r3", sequence: 3, lane: .resuming))
        #expect(queue.entries.map(\.name) == ["r3", "r7", "n1", "n2", "n5", "n9"])
        #expect(queue.jobsAhead(of: "r3") == 0 && queue.jobsAhead(of: "n1") == 2 && queue.jobsAhead(of: "n9") == 5)
        var started: [String] = []
        while let entry = queue.next(now: 0) { started.append(entry.name) }
        #expect(started == ["r3", "r7", "n1", "n2", "n5", "n9"])
        #expect(queue.isEmpty)
    }

    @Test("a job held back by notBefore is passed over until then, and is the next wake-up")
    func notBefore() {
        var queue = JobQueue()
        queue.add(Entry(name: "backoff", sequence: 1, lane: .resuming, notBefore: 100))
        queue.add(Entry(name: "fresh", sequence: 2, lane: .new))
        #expect(queue.nextWakeUp(after: 10) == 100)
        #expect(queue.next(now: 10)?.name == "fresh")
        #expect(queue.next(now: 10) == nil)
        #expect(queue.next(now: 100)?.name == "backoff")
        #expect(queue.nextWakeUp(after: 100) == nil)
    }

    @Test("deadlines expire jobs that have not started; removal and re-adding keep the order")
    func deadlinesAndRemoval() {
        var queue = JobQueue()
        queue.add(Entry(name: "spot", sequence: 1, lane: .new, deadline: 50))
        queue.add(Entry(name: "b", sequence: 2, lane: .new))
        queue.add(Entry(name: "c", sequence: 3, lane: .new))
        #expect(queue.expired(now: 49).isEmpty)
        #expect(queue.expired(now: 50).map(\.name) == ["spot"])
        #expect(queue.remove("b")?.name == "b")
        #expect(queue.remove("b") == nil)
        queue.add(Entry(name: "b", sequence: 2, lane: .resuming))
        #expect(queue.entries.map(\.name) == ["b", "c"])
        #expect(queue.count == 2 && queue.contains("c") && !queue.contains("spot"))
    }

    @Test("10,000 waiting jobs: asking where one stands and taking the next stay cheap")
    func large() {
        var queue = JobQueue()
        for sequence in 1...10_000 as ClosedRange<Int64> { queue.add(Entry(name: "j\(sequence)", sequence: sequence, lane: .new)) }
        #expect(queue.jobsAhead(of: "j10000") == 9_999)
        #expect(queue.next(now: 0)?.name == "j1")
        #expect(queue.jobsAhead(of: "j10000") == 9_998)
    }
}

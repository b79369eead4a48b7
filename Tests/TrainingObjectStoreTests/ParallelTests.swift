import Foundation
import Testing
import TrainingObjectStore

/// Parallel.forEach: every index once, at most `concurrency` at a time, nothing new after a failure.
@Suite("Parallel.forEach")
struct ParallelTests {
    final class Record: @unchecked Sendable {
        let lock = NSLock()
        var seen: [Int] = []
        var running = 0
        var most = 0
    }

    struct Failure: Error, Equatable { let index: Int }

    @Test("each index runs once, on up to `concurrency` threads at a time, however the work blocks")
    func everyIndexOnce() throws {
        let record = Record()
        Parallel.forEach(200, concurrency: 6) { (index) throws(Never) in
            record.lock.withLock { record.running += 1; record.most = max(record.most, record.running) }
            usleep(1_000)
            record.lock.withLock { record.running -= 1; record.seen.append(index) }
        }
        #expect(record.seen.sorted() == Array(0..<200))
        #expect(record.most <= 6)
        #expect(record.most >= 2, "blocking work ran one at a time")
    }

    @Test("the first failure is thrown once every thread is done, and no index is started after it")
    func firstFailure() {
        let record = Record()
        let error = #expect(throws: Failure.self) {
            try Parallel.forEach(1_000, concurrency: 3) { (index) throws(Failure) in
                record.lock.withLock { record.seen.append(index) }
                if index == 10 { throw Failure(index: 10) }
                usleep(500)
            }
        }
        #expect(error == Failure(index: 10))
        #expect(record.seen.count < 20, "\(record.seen.count) indices ran")
    }
}

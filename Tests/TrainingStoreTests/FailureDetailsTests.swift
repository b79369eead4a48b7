import Foundation
import Testing
@testable import TrainingStore

/// The failure details a FailureReason cannot hold: the whole failure file and the log's last lines.
@Suite("failure details")
struct FailureDetailsTests {
    @Test("recorded, replaced and read back; none for a job without")
    func roundTrip() throws {
        let scratch = try Scratch()
        let store = try scratch.openStore()
        let id = try store.recordSubmission(Fixtures.submission("details")).id
        let other = try store.recordSubmission(Fixtures.submission("other")).id
        #expect(try store.failureDetails(job: id) == nil)
        let traceback = (1...200).map { "  File \"train.py\", line \($0), in step" }.joined(separator: "\n") + "\nValueError: bad learning rate"
        try store.recordFailureDetails(job: id, FailureDetails(failureFile: traceback, logTail: ["epoch 1", "Traceback (most recent call last):"]))
        #expect(try store.failureDetails(job: id) == FailureDetails(failureFile: traceback, logTail: ["epoch 1", "Traceback (most recent call last):"]))
        try store.recordFailureDetails(job: id, FailureDetails(failureFile: nil, logTail: []))
        #expect(try store.failureDetails(job: id) == FailureDetails(failureFile: nil, logTail: []))
        #expect(try store.failureDetails(job: other) == nil)
        #expect(storeError { try store.recordFailureDetails(job: JobID(rawValue: 999), FailureDetails(failureFile: "x", logTail: [])) }?.code == .notFound)
    }

    @Test("the failure file is kept up to 64 KiB, cut at a character")
    func bounded() {
        let details = FailureDetails(failureFile: String(repeating: "é", count: 40_000), logTail: [])
        #expect(details.failureFile?.utf8.count == 65_536)
        #expect(details.failureFile?.hasSuffix("é") == true)
    }
}

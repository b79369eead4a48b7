import Foundation

/// Bytes that transfer buffers take before they are filled and give back when their request is
/// done, so that memory stays bounded whatever the objects' sizes and however many transfers run.
/// Takers are served in turn: one that has to wait makes every later one wait too, so a large
/// buffer is not starved by a stream of small ones. A taker of more than the whole capacity waits
/// until nothing else is held (it is the only buffer then).
final class BufferBudget: @unchecked Sendable {
    // @unchecked: every access goes through `condition`.
    private let condition = NSCondition()
    let capacity: UInt64
    private var held: UInt64 = 0
    private var nextTicket: UInt64 = 0
    private var serving: UInt64 = 0

    init(capacity: UInt64) { self.capacity = capacity }

    /// Runs `body` holding `bytes` of the budget.
    func withBytes<T, Failure: Error>(_ bytes: UInt64, _ body: () throws(Failure) -> T) throws(Failure) -> T {
        take(bytes)
        defer { giveBack(bytes) }
        return try body()
    }

    /// The bytes held now (for tests and diagnostics).
    var heldBytes: UInt64 { condition.withLock { held } }
    /// Takers waiting for their bytes (for tests).
    var queuedTakers: UInt64 { condition.withLock { nextTicket - serving } }

    func take(_ bytes: UInt64) {
        condition.lock()
        defer { condition.unlock() }
        let ticket = nextTicket
        nextTicket += 1
        while ticket != serving || (held > 0 && held + bytes > capacity) { condition.wait() }
        held += bytes
        serving += 1
        // The next in turn may fit too.
        condition.broadcast()
    }

    func giveBack(_ bytes: UInt64) {
        condition.withLock {
            held -= bytes
            condition.broadcast()
        }
    }
}

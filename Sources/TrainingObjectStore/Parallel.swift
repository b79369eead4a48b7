import Foundation

/// Runs work items on a few threads: each thread takes the next index as it finishes one, no
/// index is taken after a failure, and the first failure is rethrown once all threads are done.
/// Transfers use it for objects and for the parts of an object, so that at most `concurrency`
/// requests (and their buffers) are in flight.
public enum Parallel {
    public static func forEach<Failure: Error>(_ count: Int, concurrency: Int, _ body: @escaping @Sendable (Int) throws(Failure) -> Void)
        throws(Failure)
    {
        guard count > 0 else { return }
        // One item (or one at a time): on this thread, with no thread to start.
        guard count > 1, concurrency > 1 else {
            for index in 0..<count { try body(index) }
            return
        }
        let state = State<Failure>()
        // Threads of its own: the work blocks on the network, and Dispatch's pool (one thread
        // per core) would run only as many transfers at once as there are cores.
        // (Escaping: a finished thread may release the closure a moment after it says it is done.)
        let done = DispatchGroup()
        for _ in 0..<min(max(concurrency, 1), count) {
            done.enter()
            let thread = Thread {
                while let index = state.take(below: count) {
                    do throws(Failure) {
                        try body(index)
                    } catch {
                        state.record(error)
                    }
                }
                done.leave()
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
        done.wait()
        if let failure = state.failure { throw failure }
    }

    private final class State<Failure: Error>: @unchecked Sendable {
        // @unchecked: every access goes through `lock`.
        private let lock = NSLock()
        private var next = 0
        private var first: Failure?

        var failure: Failure? { lock.withLock { first } }

        func take(below count: Int) -> Int? {
            lock.withLock {
                guard first == nil, next < count else { return nil }
                defer { next += 1 }
                return next
            }
        }

        func record(_ error: Failure) { lock.withLock { if first == nil { first = error } } }
    }
}

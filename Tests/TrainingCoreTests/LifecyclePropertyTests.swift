import Testing
import TrainingCore

/// Every job can always be ended: a property of the state machine, checked over every state
/// (status, secondary status, stop cause) and every event, not only over the paths jobs take.
@Suite("Job lifecycle: every (status, event) pair")
struct LifecyclePropertyTests {
    static let events: [JobLifecycle.Event] = [
        .start, .download, .train, .upload, .stopRequested, .maxRuntimeReached, .maxWaitReached,
        .finish(exitCode: nil), .finish(exitCode: 0), .fail, .interrupt, .retry, .requeue,
    ]

    static let states: [JobLifecycle] = TrainingJobStatus.allCases.flatMap { status in
        SecondaryStatus.allCases.flatMap { secondary in
            ([nil] + [SecondaryStatus.stopped, .maxRuntimeExceeded, .maxWaitTimeExceeded]).map {
                JobLifecycle(status: status, secondary: secondary, stopCause: $0)
            }
        }
    }

    @Test("an event either moves the job or is refused with the job unchanged")
    func moveOrRefuseUnchanged() {
        for state in Self.states {
            for event in Self.events {
                var next = state
                do {
                    try next.apply(event)
                } catch {
                    #expect(next == state, "\(event) refused from \(state) but changed it to \(next)")
                    #expect(error.from == state && error.event == event)
                }
            }
        }
    }

    @Test("an ended job takes no event")
    func terminalIsFinal() {
        for state in Self.states where state.status.isTerminal {
            for event in Self.events {
                var next = state
                #expect(throws: JobLifecycle.IllegalTransition.self) { try next.apply(event) }
            }
        }
    }

    @Test("from every state that has not ended, .fail ends the job, and a stop ends it in at most two events")
    func alwaysEndable() {
        for state in Self.states where !state.status.isTerminal {
            var failed = state
            #expect(throws: Never.self) { try failed.apply(.fail) }
            #expect(failed.status.isTerminal, "\(state) --fail--> \(failed)")
            // Stopping: the stop is requested unless the job is already Stopping, then it finishes.
            var stopped = state
            if stopped.status != .stopping { #expect(throws: Never.self, "stop from \(state)") { try stopped.apply(.stopRequested) } }
            #expect(stopped.status == .stopping)
            #expect(throws: Never.self) { try stopped.apply(.finish(exitCode: nil)) }
            #expect(stopped.status == .stopped, "\(state) stopped ends as \(stopped)")
        }
    }

    @Test("whatever events a job has taken, it can still be ended", arguments: 0..<200)
    func randomWalksStayEndable(seed: Int) {
        var generator = SplitMix(seed: UInt64(seed))
        var state = JobLifecycle()
        for _ in 0..<30 {
            let event = Self.events[Int(generator.next() % UInt64(Self.events.count))]
            try? state.apply(event)
        }
        guard !state.status.isTerminal else { return }
        var ended = state
        #expect(throws: Never.self) { try ended.apply(.fail) }
        #expect(ended.status.isTerminal)
    }
}

/// A small deterministic generator, so that a failing walk can be replayed from its seed.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

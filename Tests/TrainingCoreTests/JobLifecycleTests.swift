import Testing
import TrainingCore

/// The status table of the SageMaker contract, section 5.
extension JobLifecycle {
    var pair: Pair { Pair(status, secondary) }
}

struct Pair: Equatable {
    let status: TrainingJobStatus
    let secondary: SecondaryStatus
    init(_ status: TrainingJobStatus, _ secondary: SecondaryStatus) {
        self.status = status
        self.secondary = secondary
    }
}

func == (lhs: Pair, rhs: (TrainingJobStatus, SecondaryStatus)) -> Bool { lhs == Pair(rhs.0, rhs.1) }

@Suite("Job lifecycle")
struct JobLifecycleTests {
    func run(_ events: [JobLifecycle.Event]) throws -> JobLifecycle {
        var lifecycle = JobLifecycle()
        for event in events { try lifecycle.apply(event) }
        return lifecycle
    }

    @Test("exit 0: Starting, Downloading, Training, Uploading, Completed")
    func completed() throws {
        let lifecycle = try run([.start, .download, .train, .upload, .finish(exitCode: 0)])
        #expect(lifecycle.pair == (.completed, .completed))
    }

    @Test("exit != 0: Failed")
    func failed() throws {
        #expect(try run([.start, .train, .fail]).pair == (.failed, .failed))
    }

    @Test("a stop request ends Stopped, whatever the exit code", arguments: [
        JobLifecycle.Event.finish(exitCode: 0), .fail,
    ])
    func stopped(_ last: JobLifecycle.Event) throws {
        let lifecycle = try run([.start, .train, .stopRequested, .upload, last])
        #expect(lifecycle.status == .stopped)
        #expect(lifecycle.secondary == .stopped)
    }

    @Test("MaxRuntime and MaxWaitTime end Stopped with their own secondary status")
    func limits() throws {
        #expect(try run([.start, .train, .maxRuntimeReached, .upload, .finish(exitCode: 143)]).secondary == .maxRuntimeExceeded)
        #expect(try run([.start, .train, .interrupt, .maxWaitReached, .finish(exitCode: nil)]).secondary == .maxWaitTimeExceeded)
    }

    @Test("an interruption stays InProgress and starts again")
    func interruption() throws {
        let lifecycle = try run([.start, .train, .interrupt, .requeue, .start, .train])
        #expect(lifecycle.pair == (.inProgress, .training))
        // A drained or crashed job restarts straight from Interrupted.
        #expect(try run([.start, .train, .interrupt, .start]).pair == (.inProgress, .starting))
    }

    @Test("an upload cut short is an interruption: nothing was published, the job trains again")
    func interruptedUpload() throws {
        #expect(try run([.start, .train, .upload, .interrupt, .start]).pair == (.inProgress, .starting))
        var stopping = try run([.start, .train, .stopRequested, .upload])
        #expect(throws: JobLifecycle.IllegalTransition.self) { try stopping.apply(.interrupt) }
    }

    @Test("ended jobs take no events; illegal moves are refused")
    func illegal() throws {
        var ended = try run([.start, .train, .fail])
        #expect(throws: JobLifecycle.IllegalTransition.self) { try ended.apply(.stopRequested) }
        var pending = JobLifecycle()
        #expect(throws: JobLifecycle.IllegalTransition.self) { try pending.apply(.train) }
        #expect(throws: JobLifecycle.IllegalTransition.self) { try pending.apply(.upload) }
        var stopping = try run([.start, .train, .stopRequested])
        #expect(throws: JobLifecycle.IllegalTransition.self) { try stopping.apply(.stopRequested) }
    }

    @Test("a pending job can be stopped before it starts")
    func stopPending() throws {
        #expect(try run([.stopRequested, .finish(exitCode: nil)]).pair == (.stopped, .stopped))
    }
}

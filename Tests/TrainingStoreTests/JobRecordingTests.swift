import Foundation
import Testing
import TrainingCore

@testable import TrainingStore

@Suite struct JobRecordingTests {
    /// Every valid fixture definition (Tests/Fixtures/valid), validated as the daemon does.
    static func fixtureDefinitions() throws -> [ValidatedDefinition] {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/valid")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".json") }.sorted()
        return try names.map { name in
            let bytes = try [UInt8](Data(contentsOf: directory.appendingPathComponent(name)))
            switch DefinitionValidator().validate(bytes, defaultJobName: String(name.dropLast(5))) {
            case .success(let definition): return definition
            case .failure(let rejection): throw StoreError(.invalidArgument, action: "validate \(name)", message: "\(rejection)", path: name)
            }
        }
    }

    @Test("the record a submission returns is the one read back, for every fixture, by the API and the spool")
    func returnedRecordIsTheStoredOne() throws {
        let scratch = try Scratch()
        let store = try scratch.openStore()
        let definitions = try Self.fixtureDefinitions()
        #expect(definitions.count >= 10)
        for (index, definition) in definitions.enumerated() {
            var api = definition
            api.jobName = "api-\(index)"
            api.request.trainingJobName = api.jobName
            let submitted = try store.recordSubmission(JobSubmission(definition: api, arn: "arn:api-\(index)", owner: Fixtures.owner, submittedAt: 1_000.25))
            #expect(try store.job(id: submitted.id) == submitted, "\(definition.jobName)")
            var spooled = definition
            spooled.jobName = "spool-\(index)"
            spooled.request.trainingJobName = spooled.jobName
            let identity = Fixtures.identity("spool-\(index).json", inode: UInt64(index + 1))
            _ = try store.beginSpoolClaim(identity: identity, at: 1_000)
            let accepted = try store.acceptSpoolFiles([(identity, JobSubmission(definition: spooled, arn: "arn:spool-\(index)", owner: Fixtures.owner, submittedAt: 1_000.5))])
            let record = try #require(try accepted.first?.get())
            #expect(try store.job(id: record.id) == record, "\(definition.jobName)")
        }
        // A name taken is that file's failure alone; the record of one accepted alone is the stored one too.
        let identity = Fixtures.identity("taken.json", inode: 999)
        _ = try store.beginSpoolClaim(identity: identity, at: 1_000)
        let taken = try store.acceptSpoolFiles([(identity, Fixtures.submission("api-0"))])
        #expect(storeError { _ = try taken[0].get() }?.code == .jobExists)
        let single = Fixtures.identity("single.json", inode: 1_000)
        _ = try store.beginSpoolClaim(identity: single, at: 1_000)
        let alone = try store.acceptSpoolFile(identity: single, job: Fixtures.submission("single"))
        #expect(try store.job(id: alone.id) == alone)
    }

    @Test func submissionIsStoredWithItsFirstTransition() throws {
        let scratch = try Scratch()
        let store = try scratch.openStore()
        let record = try store.recordSubmission(Fixtures.submission("first", at: 100))
        #expect(record.name == "first")
        #expect(record.arn.hasSuffix("training-job/first"))
        #expect(record.owner == Fixtures.owner)
        #expect(record.source == .api)
        #expect(record.status == .inProgress && record.secondaryStatus == .pending)
        #expect(record.creationTime == 100 && record.lastModifiedTime == 100)
        #expect(record.attempts == 0 && record.finalMetrics.isEmpty && record.exitCode == nil)
        #expect(
            record.transitions == [
                StatusTransition(status: .pending, startTime: 100, statusMessage: "Waiting for capacity")
            ])
        #expect(record.request == Fixtures.definition("first").request)
    }

    @Test func duplicateNameIsJobExists() throws {
        let scratch = try Scratch()
        let store = try scratch.openStore()
        try store.recordSubmission(Fixtures.submission("twice"))
        let error = try #require(storeError { try store.recordSubmission(Fixtures.submission("twice")) })
        #expect(error.code == .jobExists)
        #expect(error.description.contains("'twice' already exists"))
        #expect(try store.jobs(withStatus: .inProgress).count == 1)
    }

    @Test func transitionsAreRecordedInOrderAndClosed() throws {
        let scratch = try Scratch()
        let store = try scratch.openStore()
        let id = try store.recordSubmission(Fixtures.submission("walk", at: 100)).id
        try store.drive(id, [.start, .download, .train, .upload, .finish(exitCode: 0)], from: 101)
        let record = try #require(try store.job(id: id))
        #expect(record.status == .completed && record.secondaryStatus == .completed)
        #expect(record.lastModifiedTime == 105)
        #expect(
            record.transitions.map(\.status) == [.pending, .starting, .downloading, .training, .uploading, .completed])
        #expect(record.transitions.map(\.startTime) == [100, 101, 102, 103, 104, 105])
        // Each transition ends when the next begins; the final one is closed at once.
        #expect(record.transitions.map(\.endTime) == [101, 102, 103, 104, 105, 105])
        #expect(record.transitions[3].statusMessage == "train")
    }

    @Test func stoppingKeepsOneOpenTransitionAndEndsStopped() throws {
        let scratch = try Scratch()
        let store = try scratch.openStore()
        let id = try store.recordSubmission(Fixtures.submission("stop", at: 0)).id
        try store.drive(id, [.start, .train, .maxRuntimeReached], from: 1)
        var record = try #require(try store.job(id: id))
        #expect(record.status == .stopping)
        #expect(record.transitions.filter { $0.endTime == nil }.map(\.status) == [.stopping])
        try store.drive(id, [.upload, .finish(exitCode: nil)], from: 10)
        record = try #require(try store.job(id: id))
        #expect(record.status == .stopped)
        // The stop's cause outlives a reload of the job (schema version 2).
        #expect(record.secondaryStatus == .maxRuntimeExceeded)
        #expect(record.transitions.allSatisfy { $0.endTime != nil })
    }

    @Test func anEndedJobTakesNoMoreTransitions() throws {
        let scratch = try Scratch()
        let store = try scratch.openStore()
        let id = try store.recordSubmission(Fixtures.submission("ended")).id
        try store.drive(id, [.fail], from: 1)
        let error = storeError { try store.recordTransition(job: id, to: JobLifecycle(), message: "again", at: 9) }
        #expect(error?.code == .conflict)
        #expect(
            storeError {
                try store.recordTransition(job: JobID(rawValue: 999), to: JobLifecycle(), message: "", at: 9)
            }?.code == .notFound)
    }

    @Test func unfinishedJobsComeInSubmissionOrder() throws {
        let scratch = try Scratch()
        let store = try scratch.openStore()
        // Clock steps backwards on purpose: queue order is submission order, not CreationTime.
        let ids = try (0..<6).map {
            try store.recordSubmission(Fixtures.submission("queued-\($0)", at: Double(100 - $0))).id
        }
        try store.drive(ids[1], [.fail], from: 200)
        try store.drive(ids[4], [.start, .train, .stopRequested], from: 200)
        try store.drive(ids[2], [.stopRequested, .finish(exitCode: nil)], from: 200)
        #expect(try store.unfinishedJobs().map(\.name) == ["queued-0", "queued-3", "queued-4", "queued-5"])
        #expect(try store.jobs(withStatus: .stopping).map(\.id) == [ids[4]])
        #expect(try store.jobs(withStatus: .failed).map(\.id) == [ids[1]])
    }

    @Test func runFactsAreRecorded() throws {
        let scratch = try Scratch()
        let store = try scratch.openStore()
        let id = try store.recordSubmission(Fixtures.submission("facts")).id
        try store.step(id, .start, at: 0, [.started(at: 0)])
        try store.step(id, .train, at: 50, [.trainingStarted(attempt: 1, at: 50)])
        try store.step(id, .interrupt, at: 60)
        try store.step(id, .requeue, at: 61)
        try store.step(id, .start, at: 70, [.started(at: 70)])
        try store.step(id, .train, at: 80, [.trainingStarted(attempt: 2, at: 80)])  // a restart keeps the first start
        try store.recordTrainingEnded(job: id, at: 90)
        try store.recordExit(job: id, exitCode: nil, signal: 9)
        try store.recordFailureReason(
            job: id, FailureKind.algorithmError.reason(String(repeating: "e\u{0301}", count: 2000)))
        let record = try #require(try store.job(id: id))
        #expect(record.attempts == 2)
        #expect(record.trainingStartTime == 50 && record.trainingEndTime == 90)
        // Each attempt keeps its own, written with its Starting and Training.
        #expect(record.attemptHistory.map(\.number) == [1, 2])
        #expect(record.attemptHistory.map(\.startedAt) == [0, 70])
        #expect(record.attemptHistory.map(\.trainingStartedAt) == [50, 80])
        #expect(record.transitions.map(\.status).suffix(2) == [.starting, .training])
        #expect(record.exitCode == nil && record.exitSignal == 9)
        #expect(record.failureReason?.unicodeScalars.count == 1024)
        #expect(record.failureReason?.hasPrefix("AlgorithmError: ") == true)
        // The schema refuses an exit with both a code and a signal.
        #expect(storeError { try store.recordExit(job: id, exitCode: 1, signal: 9) }?.code == .constraint)
    }

    @Test func attemptFactsAreWrittenOnlyWithTheirTransition() throws {
        let scratch = try Scratch()
        let store = try scratch.openStore()
        let id = try store.recordSubmission(Fixtures.submission("refused")).id
        var starting = try #require(try store.job(id: id)).lifecycle
        try starting.apply(.start)
        try store.step(id, .fail, at: 5)
        // The store refuses the change (the job has ended meanwhile): the attempt it would open is not counted either.
        let refused = storeError {
            try store.recordTransition(job: id, to: starting, message: "late", at: 6, alongside: [.started(at: 6)])
        }
        #expect(refused?.code == .conflict)
        let record = try #require(try store.job(id: id))
        #expect(record.attempts == 0 && record.attemptHistory.isEmpty)
        #expect(record.lifecycle.status == .failed)
    }

    @Test func finalMetricsMustBeFinite() throws {
        let scratch = try Scratch()
        let store = try scratch.openStore()
        let id = try store.recordSubmission(Fixtures.submission("metrics")).id
        let metrics = [
            FinalMetric(metricName: "loss", value: 0.5, timestamp: 3),
            FinalMetric(metricName: "acc", value: 0.9, timestamp: 4),
        ]
        try store.recordFinalMetrics(job: id, metrics)
        #expect(try store.job(id: id)?.finalMetrics == metrics)
        let error = storeError {
            try store.recordFinalMetrics(job: id, [FinalMetric(metricName: "x", value: .nan, timestamp: 1)])
        }
        #expect(error?.code == .invalidArgument)
        #expect(try store.job(id: id)?.finalMetrics == metrics)
    }

    @Test func deletingRemovesOnlyEndedJobsAndNeverReusesTheirNumber() throws {
        let scratch = try Scratch()
        let store = try scratch.openStore()
        let id = try store.recordSubmission(Fixtures.submission("gone")).id
        #expect(storeError { try store.deleteJob(named: "gone") }?.code == .conflict)
        try store.drive(id, [.fail], from: 1)
        try store.deleteJob(named: "gone")
        #expect(try store.job(named: "gone") == nil)
        #expect(storeError { try store.deleteJob(named: "gone") }?.code == .notFound)
        #expect(try store.transitionCount(of: id) == 0)
        let again = try store.recordSubmission(Fixtures.submission("gone")).id
        #expect(again > id)
        #expect(storeError { try store.recordExit(job: id, exitCode: 0, signal: nil) }?.code == .notFound)
    }
}

extension JobStore {
    /// Rows left in `transitions` for a job, read past the model (to see the cascade).
    func transitionCount(of id: JobID) throws -> Int64 {
        try read("count transitions") { db throws(StoreError) in
            try db.scalar(
                "SELECT count(*) FROM transitions WHERE job_seq = ?", [.integer(id.rawValue)], action: "count") ?? 0
        }
    }
}

@Suite struct StatusMessageTests {
    @Test func aMessageChangeKeepsTheTransitionAndItsTimes() throws {
        let scratch = try Scratch()
        let store = try scratch.openStore()
        let id = try store.recordSubmission(Fixtures.submission("queued", at: 5)).id
        try store.recordStatusMessage(job: id, "Waiting for capacity: 2 of 2 job slots in use")
        var record = try #require(try store.job(id: id))
        #expect(record.transitions.count == 1)
        #expect(record.statusMessage == "Waiting for capacity: 2 of 2 job slots in use")
        #expect(record.lastModifiedTime == 5)
        // The same secondary status again: a new message, no new transition.
        try store.recordTransition(job: id, to: record.lifecycle, message: "Still waiting", at: 6)
        record = try #require(try store.job(id: id))
        #expect(record.transitions.map(\.statusMessage) == ["Still waiting"])
        #expect(record.lastModifiedTime == 5)
        try store.drive(id, [.fail], from: 7)
        #expect(storeError { try store.recordStatusMessage(job: id, "late") }?.code == .conflict)
        #expect(storeError { try store.recordStatusMessage(job: JobID(rawValue: 77), "x") }?.code == .notFound)
    }
}

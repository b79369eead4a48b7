import Foundation
import Testing
import TrainingCore

@testable import TrainingStore

@Suite struct DatabaseTests {
    @Test func freshFileGetsCurrentSchemaWithWALAndForeignKeys() throws {
        let scratch = try Scratch()
        let store = try scratch.openStore()
        #expect(try store.schemaVersion() == Migrations.currentVersion)
        #expect(try store.pragma("journal_mode") == "wal")
        #expect(try store.pragma("synchronous") == "1")  // NORMAL
        #expect(try store.pragma("foreign_keys") == "1")
        #expect(FileManager.default.fileExists(atPath: scratch.databasePath + "-wal"))
        // A submission is synced with FULL; the connection goes back to NORMAL afterwards.
        try store.recordSubmission(Fixtures.submission("synced"))
        #expect(try store.pragma("synchronous") == "1")
    }

    @Test func reopeningRunsNoMigrationTwice() throws {
        let scratch = try Scratch()
        do {
            let store = try scratch.openStore()
            try store.recordSubmission(Fixtures.submission("kept"))
        }
        for _ in 0..<3 {
            let store = try scratch.openStore()
            #expect(try store.schemaVersion() == Migrations.currentVersion)
            #expect(try store.job(named: "kept") != nil)
        }
    }

    @Test func twoStoresOnOneFileShareIt() throws {
        let scratch = try Scratch()
        let first = try scratch.openStore()
        let second = try scratch.openStore()
        try first.recordSubmission(Fixtures.submission("shared"))
        #expect(try second.job(named: "shared")?.name == "shared")
    }

    @Test func newerSchemaIsRefused() throws {
        let scratch = try Scratch()
        do {
            _ = try scratch.openStore()
            let raw = try SQLiteConnection(path: scratch.databasePath, readOnly: false)
            try raw.execute("PRAGMA user_version = 99", action: "test")
        }
        let error = storeError { _ = try scratch.openStore() }
        #expect(error?.code == .schemaTooNew)
        #expect(error?.description.contains("version 99") == true)
    }

    @Test func aFileThatIsNotADatabaseIsReportedCorruptWithAdvice() throws {
        let scratch = try Scratch()
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: scratch.databasePath))
        let error = try #require(storeError { _ = try scratch.openStore() })
        #expect(error.code == .corrupt)
        #expect(error.path == scratch.databasePath)
        #expect(error.sqliteCode != nil)
        #expect(error.description.contains("move the file"))
    }

    @Test func aMissingDirectoryCannotBeOpened() throws {
        let scratch = try Scratch()
        let path = scratch.directory.appendingPathComponent("absent/state.sqlite").path
        let error = storeError { _ = try JobStore(path: path) }
        #expect(error?.code == .cannotOpen)
        #expect(error?.description.contains("directory") == true)
    }

    @Test func everythingSurvivesCloseAndReopen() throws {
        let scratch = try Scratch()
        let before: JobRecord
        do {
            let store = try scratch.openStore()
            let id = try store.recordSubmission(Fixtures.submission("durable", at: 10)).id
            try store.step(id, .start, at: 11, [.started(at: 11)])
            try store.step(id, .download, at: 12)
            try store.step(id, .train, at: 13, [.trainingStarted(attempt: 1, at: 13)])
            try store.recordExit(job: id, exitCode: 0, signal: nil)
            try store.recordTrainingEnded(job: id, at: 20)
            try store.drive(id, [.upload, .finish(exitCode: 0)], from: 21)
            try store.recordArtifacts(job: id, modelArtifacts: "file:///out/durable/output/model.tar.gz")
            try store.recordFinalMetrics(job: id, [FinalMetric(metricName: "loss", value: 0.25, timestamp: 19.5)])
            try store.recordBillableTime(job: id, seconds: 7)
            _ = try store.beginSpoolClaim(identity: Fixtures.identity("left-open.json"), at: 30)
            before = try #require(try store.job(id: id))
        }
        let store = try scratch.openStore()
        #expect(try store.job(named: "durable") == before)
        #expect(before.request == Fixtures.definition("durable").request)
        #expect(before.submitted == Fixtures.definition("durable").submitted)
        #expect(try store.openSpoolClaims().map(\.identity.name) == ["left-open.json"])
    }

    @Test func concurrentWritersAndReadersAllSucceed() async throws {
        let scratch = try Scratch()
        let store = try scratch.openStore()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<4 {
                group.addTask {
                    for index in 0..<25 {
                        try store.recordSubmission(Fixtures.submission("w\(writer)-j\(index)", at: Double(index)))
                        _ = try store.listJobs(JobListQuery(maxResults: 5))
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try store.jobs(withStatus: .inProgress).count == 100)
    }
}

@Suite struct LockTests {
    @Test func aLockHeldByAnotherProcessIsReportedBusyWithAdvice() throws {
        let scratch = try Scratch()
        let store = try JobStore(path: scratch.databasePath, busyTimeoutMilliseconds: 50)
        // Another connection (as another process would) takes the write lock and keeps it.
        let other = try SQLiteConnection(path: scratch.databasePath, readOnly: false)
        try other.execute("BEGIN IMMEDIATE", action: "test")
        let error = try #require(storeError { try store.recordSubmission(Fixtures.submission("blocked")) })
        #expect(error.code == .busy)
        #expect(error.description.contains("another trainingd running"))
        try other.execute("ROLLBACK", action: "test")
        try store.recordSubmission(Fixtures.submission("blocked"))
        // Reads go on while a writer holds the lock: WAL readers do not wait.
        try other.execute("BEGIN IMMEDIATE", action: "test")
        #expect(try store.job(named: "blocked") != nil)
        try other.execute("ROLLBACK", action: "test")
    }
}

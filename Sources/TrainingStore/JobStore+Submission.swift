import CSQLite
import Foundation
import TrainingCore

extension JobStore {
    /// Records a job submitted through the API (CreateTrainingJob), with its first transition.
    ///
    /// Synced to disk before it returns unless `durable` is false: the caller answers with the
    /// job's ARN next (after ``syncLog()``, when it was not synced here).
    /// - Returns: the stored job.
    /// - Throws: ``StoreError`` `jobExists` when a job of that name exists (SageMaker's `ResourceInUse`).
    @discardableResult
    public func recordSubmission(_ submission: JobSubmission, durable: Bool = true) throws(StoreError) -> JobRecord {
        let action = "record the submission of job '\(submission.definition.jobName)'"
        return try write(action, durable: durable) { db throws(StoreError) in
            try insertJob(submission, source: .api, in: db, action: action)
        }
    }

    /// Inserts the job row and its first transition; shared by the API and the spool. Returns the
    /// record as written, built from what was inserted rather than read back (three queries and a
    /// decode of the request's JSON, about 0.1 ms of every start); JobRecordingTests checks it is the
    /// record ``job(id:)`` reads.
    func insertJob(
        _ submission: JobSubmission, source: JobSource, in db: SQLiteConnection, action: String
    ) throws(StoreError) -> JobRecord {
        let name = submission.definition.jobName
        let requestJSON = try encodeJSON(submission.definition.request, action: action)
        let spoolFile: String?
        switch source {
        case .api: spoolFile = nil
        case .spool(let fileName): spoolFile = fileName
        }
        let lifecycle = submission.lifecycle
        let at = submission.submittedAt
        do {
            try db.run(
                """
                INSERT INTO jobs (name, arn, owner_uid, owner_gid, source, spool_file, request_json,
                    submitted_json, status, secondary_status, creation_time, last_modified_time)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
                [
                    .text(name), .text(submission.arn), .integer(Int64(submission.owner.uid)),
                    .integer(Int64(submission.owner.gid)), .text(spoolFile == nil ? "api" : "spool"),
                    .optional(spoolFile), .text(requestJSON), .text(submission.definition.submitted.serialized()),
                    .text(lifecycle.status.rawValue), .text(lifecycle.secondary.rawValue), .real(at), .real(at),
                ], action: action)
        } catch  where error.sqliteCode == Self.uniqueViolation && error.message.contains("jobs.name") {
            throw StoreError(
                .jobExists, action: action, message: "a training job named '\(name)' already exists",
                path: path, sqliteCode: error.sqliteCode)
        }
        let id = JobID(rawValue: db.lastInsertRowID)
        for tag in submission.definition.request.tags ?? [] {
            try db.run("INSERT OR REPLACE INTO tags (job_seq, key, value) VALUES (?, ?, ?)",
                       [.integer(id.rawValue), .text(tag.key), .text(tag.value)], action: action)
        }
        try db.run(
            "INSERT INTO transitions (job_seq, seq, status, start_time, end_time, message) VALUES (?, 1, ?, ?, ?, ?)",
            [
                .integer(id.rawValue), .text(lifecycle.secondary.rawValue), .real(at),
                lifecycle.status.isTerminal ? .real(at) : .null, .text(submission.statusMessage),
            ], action: action)
        return JobRecord(
            id: id, name: name, arn: submission.arn, owner: submission.owner, source: source,
            request: submission.definition.request, submitted: submission.definition.submitted,
            status: lifecycle.status, secondaryStatus: lifecycle.secondary, failureReason: nil, creationTime: at,
            lastModifiedTime: at, trainingStartTime: nil, trainingEndTime: nil, exitCode: nil, exitSignal: nil,
            modelArtifacts: nil, finalMetrics: [], billableSeconds: nil, attempts: 0,
            transitions: [StatusTransition(status: lifecycle.secondary, startTime: at, endTime: lifecycle.status.isTerminal ? at : nil,
                                           statusMessage: submission.statusMessage)],
            stopCause: nil)
    }

    /// SQLITE_CONSTRAINT_UNIQUE; the macro is an expression Swift does not import.
    static let uniqueViolation: Int32 = SQLITE_CONSTRAINT | (8 << 8)

    /// Compact JSON with sorted keys and unescaped slashes (URIs stay readable in the file).
    func encodeJSON(_ value: some Encodable, action: String) throws(StoreError) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            throw StoreError(.invalidArgument, action: action, message: "cannot encode as JSON: \(error)", path: path)
        }
    }
}

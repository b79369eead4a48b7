import Foundation
public import TrainingCore

extension JobStore {
    /// The job of that name, with its transitions: what DescribeTrainingJob answers.
    public func job(named name: String) throws(StoreError) -> JobRecord? {
        try loadJobs(where: "name = ?", [.text(name)], action: "read job '\(name)'").first
    }

    /// The job with that submission number.
    public func job(id: JobID) throws(StoreError) -> JobRecord? {
        try loadJobs(where: "seq = ?", [.integer(id.rawValue)], action: "read job \(id)").first
    }

    /// Every job with that status, in submission order.
    public func jobs(withStatus status: TrainingJobStatus) throws(StoreError) -> [JobRecord] {
        try loadJobs(where: "status = ?", [.text(status.rawValue)], action: "read the \(status.rawValue) jobs")
    }

    /// Every job that has not ended (InProgress or Stopping), in submission order:
    /// the queue and the running jobs, as the daemon finds them when it starts.
    public func unfinishedJobs() throws(StoreError) -> [JobRecord] {
        try loadJobs(where: "status IN ('InProgress', 'Stopping')", [], action: "read the unfinished jobs")
    }

    /// Unfinished jobs that are not waiting to start: those something should be running for.
    /// The filter runs in SQL, so the waiting queue (however long) is not decoded.
    public func activeJobs() throws(StoreError) -> [JobRecord] {
        try loadJobs(where: "status IN ('InProgress', 'Stopping') AND secondary_status NOT IN ('Pending', 'Interrupted', 'Restarting')",
                     [], action: "read the active jobs")
    }

    /// Jobs matching `condition` (SQL over `jobs`), oldest submission first, with their
    /// transitions. Two queries in one snapshot rather than one query per job.
    private func loadJobs(
        where condition: String, _ values: [SQLValue], action: String
    ) throws(StoreError) -> [JobRecord] {
        try read(action) { db throws(StoreError) in try loadJobs(in: db, where: condition, values, action: action) }
    }

    /// ``loadJobs(where:_:action:)`` on a connection already in a transaction (the writer's, to read
    /// back what a write transaction recorded before it commits).
    func loadJobs(
        in db: SQLiteConnection, where condition: String, _ values: [SQLValue], action: String
    ) throws(StoreError) -> [JobRecord] {
        do {
            var jobs = try db.query(
                """
                SELECT seq, name, arn, owner_uid, owner_gid, source, spool_file, request_json, submitted_json,
                    status, secondary_status, failure_reason, creation_time, last_modified_time,
                    training_start_time, training_end_time, exit_code, exit_signal, model_artifacts,
                    final_metrics_json, billable_seconds, attempts, stop_cause
                FROM jobs WHERE \(condition) ORDER BY seq
                """, values, action: action
            ) { row throws(StoreError) in try decodeJob(row, action: action) }
            guard !jobs.isEmpty else { return [] }
            let index = Dictionary(uniqueKeysWithValues: jobs.enumerated().map { ($0.element.id, $0.offset) })
            _ = try db.query(
                """
                SELECT job_seq, status, start_time, end_time, message FROM transitions
                WHERE job_seq IN (SELECT seq FROM jobs WHERE \(condition)) ORDER BY job_seq, seq
                """, values, action: action
            ) { row throws(StoreError) in
                let id = JobID(rawValue: row.int64(0))
                guard let position = index[id] else { return }
                let status = try decodeEnum(SecondaryStatus.self, row.text(1), "transition status", action: action)
                jobs[position].transitions.append(
                    StatusTransition(
                        status: status, startTime: row.double(2), endTime: row.optionalDouble(3),
                        statusMessage: row.text(4)))
            }
            _ = try db.query(
                """
                SELECT job_seq, number, started_at, training_started_at, ended_at, training_seconds, outcome, reason
                FROM attempts WHERE job_seq IN (SELECT seq FROM jobs WHERE \(condition)) ORDER BY job_seq, number
                """, values, action: action
            ) { row throws(StoreError) in
                guard let position = index[JobID(rawValue: row.int64(0))] else { return }
                let outcome = try row.optionalText(6).map { text throws(StoreError) in
                    try decodeEnum(AttemptOutcome.self, text, "attempt outcome", action: action)
                }
                jobs[position].attemptHistory.append(
                    AttemptRecord(
                        number: Int(row.int64(1)), startedAt: row.double(2), trainingStartedAt: row.optionalDouble(3),
                        endedAt: row.optionalDouble(4), trainingSeconds: row.double(5), outcome: outcome,
                        reason: row.optionalText(7)))
            }
            return jobs
        }
    }

    private func decodeJob(_ row: Statement, action: String) throws(StoreError) -> JobRecord {
        let request: CreateTrainingJobRequest
        do {
            request = try JSONDecoder().decode(CreateTrainingJobRequest.self, from: Data(row.text(7).utf8))
        } catch {
            throw corrupt("the stored request of job '\(row.text(1))' does not decode: \(error)", action: action)
        }
        let submitted: JSONValue
        do {
            submitted = try StrictJSONParser.parse(Array(row.text(8).utf8))
        } catch {
            throw corrupt("the stored submitted JSON of job '\(row.text(1))' does not parse: \(error)", action: action)
        }
        var metrics: [FinalMetric] = []
        if let json = row.optionalText(19) {
            do {
                metrics = try JSONDecoder().decode([FinalMetric].self, from: Data(json.utf8))
            } catch {
                throw corrupt(
                    "the stored final metrics of job '\(row.text(1))' do not decode: \(error)", action: action)
            }
        }
        return JobRecord(
            id: JobID(rawValue: row.int64(0)), name: row.text(1), arn: row.text(2),
            owner: JobOwner(
                uid: UInt32(truncatingIfNeeded: row.int64(3)), gid: UInt32(truncatingIfNeeded: row.int64(4))),
            source: row.text(5) == "spool" ? .spool(fileName: row.text(6)) : .api,
            request: request, submitted: submitted,
            status: try decodeEnum(TrainingJobStatus.self, row.text(9), "status", action: action),
            secondaryStatus: try decodeEnum(SecondaryStatus.self, row.text(10), "secondary status", action: action),
            failureReason: row.optionalText(11), creationTime: row.double(12), lastModifiedTime: row.double(13),
            trainingStartTime: row.optionalDouble(14), trainingEndTime: row.optionalDouble(15),
            exitCode: row.optionalInt64(16).map { Int32(truncatingIfNeeded: $0) },
            exitSignal: row.optionalInt64(17).map { Int32(truncatingIfNeeded: $0) },
            modelArtifacts: row.optionalText(18), finalMetrics: metrics, billableSeconds: row.optionalInt64(20),
            attempts: Int(row.int64(21)), transitions: [],
            stopCause: try row.optionalText(22).map { text throws(StoreError) in
                try decodeEnum(SecondaryStatus.self, text, "stop cause", action: action)
            })
    }

    /// A status read back from the file; the schema's CHECKs make a failure here mean damage.
    func decodeEnum<T: RawRepresentable>(
        _ type: T.Type, _ text: String, _ what: String, action: String
    ) throws(StoreError) -> T where T.RawValue == String {
        guard let value = T(rawValue: text) else { throw corrupt("unknown \(what) '\(text)'", action: action) }
        return value
    }

    func corrupt(_ message: String, action: String) -> StoreError {
        StoreError(.corrupt, action: action, message: message, path: path)
    }
}

extension JobStore {
    /// SQLite's `PRAGMA integrity_check`: `["ok"]` for a sound database, otherwise what is wrong.
    public func integrityCheck() throws(StoreError) -> [String] {
        try read("check the job database's integrity") { db throws(StoreError) in
            try db.query("PRAGMA integrity_check", action: "check the job database's integrity") { row throws(StoreError) in row.text(0) }
        }
    }
}

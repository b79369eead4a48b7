public import TrainingCore

/// A fact of an attempt that the status change it goes with records in the same commit: Starting
/// opens the attempt, Training records its algorithm's start. One commit per step of a start, and
/// the fact is never lost where the change is kept to be written later (a full disk).
public enum AttemptFact: Sendable, Equatable {
    /// An attempt begins (the first start, a retry, a restart after an interruption): the job's
    /// attempt count goes up by one and the attempt's row opens, started at `at`.
    case started(at: Double)
    /// Attempt `attempt`'s algorithm starts: its own time, and TrainingStartTime. The first start is
    /// kept: a restart after an interruption does not move it, as MaxRuntimeInSeconds caps all
    /// attempts together.
    case trainingStarted(attempt: Int, at: Double)
}

extension JobStore {
    /// Records that a job's lifecycle moved: updates its statuses and LastModifiedTime,
    /// closes the open transition at `at` and appends one for the new secondary status;
    /// `facts`, the attempt's that go with the change, in the same transaction.
    ///
    /// When the secondary status did not change (only the primary did), no
    /// transition is appended; a non-empty `message` replaces the open one's.
    /// A transition to an ended status is closed at once, as SageMaker reports it.
    /// - Throws: `notFound`; `conflict` when the job has already ended.
    public func recordTransition(
        job: JobID, to lifecycle: JobLifecycle, message: String, at: Double, alongside facts: [AttemptFact] = []
    ) throws(StoreError) {
        let action =
            "record the transition of job \(job) to \(lifecycle.status.rawValue)/\(lifecycle.secondary.rawValue)"
        try write(action) { db throws(StoreError) in
            let current = try db.query(
                "SELECT name, status, secondary_status FROM jobs WHERE seq = ?", [.integer(job.rawValue)],
                action: action
            ) { row throws(StoreError) in (row.text(0), row.text(1), row.text(2)) }.first
            guard let (name, status, secondary) = current else { throw notFound(job, action: action) }
            if TrainingJobStatus(rawValue: status)?.isTerminal == true {
                throw StoreError(
                    .conflict, action: action, message: "job '\(name)' has already ended (\(status))", path: path)
            }
            for fact in facts { try record(fact, of: job, in: db, action: action) }
            let ended: SQLValue = lifecycle.status.isTerminal ? .real(at) : .null
            if secondary != lifecycle.secondary.rawValue {
                try db.run(
                    "UPDATE transitions SET end_time = ? WHERE job_seq = ? AND end_time IS NULL",
                    [.real(at), .integer(job.rawValue)], action: action)
                try db.run(
                    """
                    INSERT INTO transitions (job_seq, seq, status, start_time, end_time, message)
                    SELECT ?1, COALESCE(MAX(seq), 0) + 1, ?2, ?3, ?4, ?5 FROM transitions WHERE job_seq = ?1
                    """,
                    [.integer(job.rawValue), .text(lifecycle.secondary.rawValue), .real(at), ended, .text(message)],
                    action: action)
            } else {
                try db.run(
                    """
                    UPDATE transitions SET message = CASE WHEN ?1 = '' THEN message ELSE ?1 END,
                        end_time = COALESCE(end_time, ?2)
                    WHERE job_seq = ?3 AND end_time IS NULL
                    """,
                    [.text(message), ended, .integer(job.rawValue)], action: action)
            }
            guard status != lifecycle.status.rawValue || secondary != lifecycle.secondary.rawValue else {
                return  // Only the message changed: LastModifiedTime follows status changes.
            }
            try db.run(
                "UPDATE jobs SET status = ?, secondary_status = ?, stop_cause = ?, last_modified_time = ? WHERE seq = ?",
                [
                    .text(lifecycle.status.rawValue), .text(lifecycle.secondary.rawValue),
                    lifecycle.stopCause.map { .text($0.rawValue) } ?? .null, .real(at), .integer(job.rawValue),
                ],
                action: action)
        }
    }

    /// Replaces the StatusMessage of the job's open transition, without a status change
    /// (e.g. its place in the queue). LastModifiedTime stays: no status changed.
    /// - Throws: `notFound`; `conflict` when the job has ended (its transitions are closed).
    public func recordStatusMessage(job: JobID, _ message: String) throws(StoreError) {
        let action = "record the status message of job \(job)"
        try write(action) { db throws(StoreError) in
            let changed = try db.run(
                "UPDATE transitions SET message = ? WHERE job_seq = ? AND end_time IS NULL",
                [.text(message), .integer(job.rawValue)], action: action)
            guard changed == 0 else { return }
            guard try db.scalar("SELECT seq FROM jobs WHERE seq = ?", [.integer(job.rawValue)], action: action) != nil
            else {
                throw notFound(job, action: action)
            }
            throw StoreError(
                .conflict, action: action, message: "job \(job) has ended; its transitions are closed", path: path)
        }
    }

    /// Writes one of an attempt's facts inside a transition's transaction. The attempt's number is
    /// the store's count, so that the rows stay consistent whatever the caller believed it to be.
    private func record(_ fact: AttemptFact, of job: JobID, in db: SQLiteConnection, action: String) throws(StoreError) {
        switch fact {
        case .started(let at):
            try updateJob(job, "attempts = attempts + 1", [], in: db, action: action)
            try db.run(
                "INSERT INTO attempts (job_seq, number, started_at) SELECT seq, attempts, ? FROM jobs WHERE seq = ?",
                [.real(at), .integer(job.rawValue)], action: action)
        case .trainingStarted(let attempt, let at):
            try updateJob(
                job, "training_start_time = COALESCE(training_start_time, ?)", [.real(at)], in: db, action: action)
            try db.run(
                "UPDATE attempts SET training_started_at = ? WHERE job_seq = ? AND number = ?",
                [.real(at), .integer(job.rawValue), .integer(Int64(attempt))], action: action)
        }
    }

    /// Closes an attempt: how it ended and how long it trained. BillableTimeInSeconds becomes the
    /// training time of all attempts (time actually run: waits and restarts are not billed).
    public func recordAttemptEnded(
        job: JobID, attempt: Int, at: Double, outcome: AttemptOutcome, reason: String?, trainingSeconds: Double
    ) throws(StoreError) {
        let action = "record the end of attempt \(attempt) of job \(job)"
        try write(action) { db throws(StoreError) in
            try db.run(
                """
                UPDATE attempts SET ended_at = ?, outcome = ?, reason = ?, training_seconds = ?
                WHERE job_seq = ? AND number = ? AND ended_at IS NULL
                """,
                [.real(at), .text(outcome.rawValue), .optional(reason), .real(max(0, trainingSeconds)),
                 .integer(job.rawValue), .integer(Int64(attempt))], action: action)
            try db.run(
                """
                UPDATE jobs SET billable_seconds = (
                    SELECT CAST(ROUND(COALESCE(SUM(training_seconds), 0)) AS INTEGER) FROM attempts WHERE job_seq = ?1)
                WHERE seq = ?1
                """, [.integer(job.rawValue)], action: action)
        }
    }

    /// Records TrainingEndTime (the last end counts).
    public func recordTrainingEnded(job: JobID, at: Double) throws(StoreError) {
        let action = "record the training end of job \(job)"
        try write(action) { db throws(StoreError) in
            try updateJob(job, "training_end_time = ?", [.real(at)], in: db, action: action)
        }
    }

    /// Records how the algorithm's process ended: an exit status or a signal, not both.
    public func recordExit(job: JobID, exitCode: Int32?, signal: Int32?) throws(StoreError) {
        let action = "record the exit of job \(job)"
        try write(action) { db throws(StoreError) in
            try updateJob(
                job, "exit_code = ?, exit_signal = ?",
                [.optional(exitCode.map(Int64.init)), .optional(signal.map(Int64.init))], in: db, action: action)
        }
    }

    /// Records FailureReason, cut to 1024 characters (Unicode scalars, as SQLite and SageMaker count).
    public func recordFailureReason(job: JobID, _ reason: String) throws(StoreError) {
        let action = "record the failure reason of job \(job)"
        let cut = String(String.UnicodeScalarView(reason.unicodeScalars.prefix(1024)))
        try write(action) { db throws(StoreError) in
            try updateJob(job, "failure_reason = ?", [.text(cut)], in: db, action: action)
        }
    }

    /// Records ModelArtifacts.S3ModelArtifacts.
    public func recordArtifacts(job: JobID, modelArtifacts: String) throws(StoreError) {
        let action = "record the model artifacts of job \(job)"
        try write(action) { db throws(StoreError) in
            try updateJob(job, "model_artifacts = ?", [.text(modelArtifacts)], in: db, action: action)
        }
    }

    /// Replaces FinalMetricDataList.
    /// - Throws: `invalidArgument` for a value or time that is not finite (JSON has no NaN).
    public func recordFinalMetrics(job: JobID, _ metrics: [FinalMetric]) throws(StoreError) {
        let action = "record the final metrics of job \(job)"
        if let bad = metrics.first(where: { !$0.value.isFinite || !$0.timestamp.isFinite }) {
            throw StoreError(
                .invalidArgument, action: action,
                message: "metric '\(bad.metricName)' has the non-finite value \(bad.value) at \(bad.timestamp)",
                path: path)
        }
        let json = try encodeJSON(metrics, action: action)
        try write(action) { db throws(StoreError) in
            try updateJob(job, "final_metrics_json = ?", [.text(json)], in: db, action: action)
        }
    }

    /// Records BillableTimeInSeconds.
    public func recordBillableTime(job: JobID, seconds: Int64) throws(StoreError) {
        let action = "record the billable time of job \(job)"
        try write(action) { db throws(StoreError) in
            try updateJob(job, "billable_seconds = ?", [.integer(seconds)], in: db, action: action)
        }
    }

    /// Deletes an ended job with its transitions (DeleteTrainingJob).
    /// - Throws: `notFound`; `conflict` when the job has not ended (stop it first).
    public func deleteJob(named name: String) throws(StoreError) {
        let action = "delete job '\(name)'"
        try write(action) { db throws(StoreError) in
            let status = try db.query("SELECT status FROM jobs WHERE name = ?", [.text(name)], action: action) {
                row throws(StoreError) in row.text(0)
            }.first
            guard let status else {
                throw StoreError(.notFound, action: action, message: "there is no job named '\(name)'", path: path)
            }
            guard TrainingJobStatus(rawValue: status)?.isTerminal == true else {
                throw StoreError(
                    .conflict, action: action, message: "the job is \(status); stop it and wait until it has ended",
                    path: path)
            }
            try db.run("DELETE FROM jobs WHERE name = ?", [.text(name)], action: action)
        }
    }

    /// `UPDATE jobs SET <assignments> WHERE seq = job`, or `notFound`.
    func updateJob(
        _ job: JobID, _ assignments: String, _ values: [SQLValue], in db: SQLiteConnection, action: String
    ) throws(StoreError) {
        let changed = try db.run(
            "UPDATE jobs SET \(assignments) WHERE seq = ?", values + [.integer(job.rawValue)], action: action)
        guard changed > 0 else { throw notFound(job, action: action) }
    }

    func notFound(_ job: JobID, action: String) -> StoreError {
        StoreError(.notFound, action: action, message: "there is no job \(job)", path: path)
    }
}

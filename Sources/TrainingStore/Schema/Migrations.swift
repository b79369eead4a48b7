/// The schema, as an append-only list of SQL scripts.
///
/// Rules, because a database on disk outlives any build of trainingd:
/// - Migration N brings `PRAGMA user_version` from N-1 to N. Once shipped, a
///   migration is never edited; a change is a new migration at the end.
/// - Migrations are plain SQL and never refer to Swift types, so renaming a
///   type cannot change what an old database becomes.
/// - Each runs in its own transaction together with its `user_version` bump:
///   a crash leaves the database at N-1 or N, never in between.
/// - Foreign-key enforcement cannot change inside a transaction; a migration
///   that rebuilds a referenced table must use the 12-step `ALTER TABLE`
///   procedure (https://sqlite.org/lang_altertable.html) and check
///   `PRAGMA foreign_key_check` before it ends.
enum Migrations {
    /// Every migration, in order; the index plus one is the version it produces.
    static let all: [String] = [v1, v2, v3, v4, v5, v6]

    /// The `user_version` of a database that has every migration.
    static var currentVersion: Int64 { Int64(all.count) }

    /// Brings `connection` to ``currentVersion``.
    /// - Throws: `schemaTooNew` when the file was written by a newer trainingd.
    static func migrate(_ connection: SQLiteConnection) throws(StoreError) {
        for (index, script) in all.enumerated() {
            let version = Int64(index + 1)
            try connection.transaction(immediate: true, action: "migrate the job database to version \(version)") {
                () throws(StoreError) in
                // Read inside the write lock: another process may have migrated meanwhile.
                let found = try userVersion(connection)
                guard found < version else { return }
                try connection.execute(script, action: "migrate the job database to version \(version)")
                try connection.execute("PRAGMA user_version = \(version)", action: "record schema version \(version)")
            }
        }
        let found = try userVersion(connection)
        guard found == currentVersion else {
            throw StoreError(
                .schemaTooNew, action: "open the job database",
                message: "its schema is version \(found), this trainingd knows versions up to \(currentVersion)",
                path: connection.path)
        }
    }

    static func userVersion(_ connection: SQLiteConnection) throws(StoreError) -> Int64 {
        try connection.scalar("PRAGMA user_version", action: "read the schema version") ?? 0
    }

    // Times are epoch seconds as REAL, as SageMaker's API gives them.
    // `seq` is AUTOINCREMENT so that a deleted job's number is never reused:
    // queue order and page tokens rely on it only ever growing.
    private static let v1 = """
        CREATE TABLE jobs (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 63),
            arn TEXT NOT NULL CHECK (arn <> ''),
            owner_uid INTEGER NOT NULL CHECK (owner_uid >= 0),
            owner_gid INTEGER NOT NULL CHECK (owner_gid >= 0),
            source TEXT NOT NULL CHECK (source IN ('spool', 'api')),
            spool_file TEXT,
            request_json TEXT NOT NULL CHECK (json_valid(request_json)),
            submitted_json TEXT NOT NULL CHECK (json_valid(submitted_json)),
            status TEXT NOT NULL
                CHECK (status IN ('InProgress', 'Completed', 'Failed', 'Stopping', 'Stopped')),
            secondary_status TEXT NOT NULL CHECK (secondary_status IN (
                'Starting', 'Pending', 'Downloading', 'Training', 'Uploading', 'Stopping', 'Stopped',
                'MaxRuntimeExceeded', 'MaxWaitTimeExceeded', 'Completed', 'Failed', 'Interrupted', 'Restarting')),
            failure_reason TEXT CHECK (length(failure_reason) <= 1024),
            creation_time REAL NOT NULL,
            last_modified_time REAL NOT NULL,
            training_start_time REAL,
            training_end_time REAL,
            exit_code INTEGER,
            exit_signal INTEGER CHECK (exit_signal > 0),
            model_artifacts TEXT,
            final_metrics_json TEXT CHECK (final_metrics_json IS NULL OR json_valid(final_metrics_json)),
            billable_seconds INTEGER CHECK (billable_seconds >= 0),
            attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
            CHECK ((source = 'spool') = (spool_file IS NOT NULL)),
            -- A process ends either by exiting or by a signal.
            CHECK (exit_code IS NULL OR exit_signal IS NULL)
        );
        -- ListTrainingJobs sorts by (key, seq); these serve its keyset pages.
        CREATE INDEX jobs_by_creation ON jobs (creation_time, seq);
        CREATE INDEX jobs_by_status ON jobs (status, seq);
        CREATE INDEX jobs_by_modification ON jobs (last_modified_time);

        -- SecondaryStatusTransitions.
        CREATE TABLE transitions (
            job_seq INTEGER NOT NULL REFERENCES jobs (seq) ON DELETE CASCADE,
            seq INTEGER NOT NULL CHECK (seq >= 1),
            status TEXT NOT NULL CHECK (status IN (
                'Starting', 'Pending', 'Downloading', 'Training', 'Uploading', 'Stopping', 'Stopped',
                'MaxRuntimeExceeded', 'MaxWaitTimeExceeded', 'Completed', 'Failed', 'Interrupted', 'Restarting')),
            start_time REAL NOT NULL,
            end_time REAL,
            message TEXT NOT NULL,
            PRIMARY KEY (job_seq, seq)
        ) WITHOUT ROWID;
        -- At most one transition of a job is still open.
        CREATE UNIQUE INDEX transitions_one_open ON transitions (job_seq) WHERE end_time IS NULL;

        -- One row per spool file the daemon has started to process. The identity
        -- includes the modification time so that a new file that reuses a
        -- deleted file's name and inode is not mistaken for it.
        CREATE TABLE spool_claims (
            file_name TEXT NOT NULL CHECK (file_name <> ''),
            device INTEGER NOT NULL,
            inode INTEGER NOT NULL,
            modification_time INTEGER NOT NULL,
            claimed_at REAL NOT NULL,
            attempts INTEGER NOT NULL CHECK (attempts >= 1),
            state TEXT NOT NULL CHECK (state IN ('claimed', 'done', 'rejected', 'quarantined')),
            finished_at REAL,
            job_seq INTEGER REFERENCES jobs (seq) ON DELETE SET NULL,
            CHECK ((state = 'claimed') = (finished_at IS NULL)),
            CHECK (job_seq IS NULL OR state = 'done'),
            PRIMARY KEY (file_name, device, inode, modification_time)
        );
        CREATE INDEX spool_claims_open ON spool_claims (claimed_at) WHERE state = 'claimed';
        """

    /// Why a Stopping job stops, so that one restored while Stopping ends with the right secondary status.
    private static let v2 = """
        ALTER TABLE jobs ADD COLUMN stop_cause TEXT
            CHECK (stop_cause IS NULL OR stop_cause IN ('Stopped', 'MaxRuntimeExceeded', 'MaxWaitTimeExceeded'));
        """

    /// One row per attempt of a job (its first run, each resumption after an interruption, each
    /// retry): when it ran, how long it trained, how it ended. MaxRuntimeInSeconds caps the
    /// training seconds of all of them; BillableTimeInSeconds is their sum.
    private static let v3 = """
        CREATE TABLE attempts (
            job_seq INTEGER NOT NULL REFERENCES jobs (seq) ON DELETE CASCADE,
            number INTEGER NOT NULL CHECK (number >= 1),
            started_at REAL NOT NULL,
            training_started_at REAL,
            ended_at REAL,
            training_seconds REAL NOT NULL DEFAULT 0 CHECK (training_seconds >= 0),
            outcome TEXT CHECK (outcome IS NULL OR outcome IN ('Completed', 'Failed', 'Stopped', 'Interrupted', 'Retried')),
            reason TEXT,
            CHECK ((outcome IS NULL) = (ended_at IS NULL)),
            PRIMARY KEY (job_seq, number)
        ) WITHOUT ROWID;
        """

    /// What FailureReason's 1,024 characters cannot hold: the whole failure file (up to 64 KiB)
    /// and the last lines of the algorithm's log, one row per failed job.
    private static let v4 = """
        CREATE TABLE failure_details (
            job_seq INTEGER PRIMARY KEY REFERENCES jobs (seq) ON DELETE CASCADE,
            failure_file TEXT CHECK (failure_file IS NULL OR length(CAST(failure_file AS BLOB)) <= 65536),
            log_tail_json TEXT NOT NULL CHECK (json_valid(log_tail_json) AND json_type(log_tail_json) = 'array'),
            recorded_at REAL NOT NULL
        );
        """

    /// A job's tags, which AddTags and DeleteTags change after submission (SageMaker answers them
    /// from ListTags, not DescribeTrainingJob); the jobs already stored get their request's Tags.
    private static let v5 = """
        CREATE TABLE tags (
            job_seq INTEGER NOT NULL REFERENCES jobs (seq) ON DELETE CASCADE,
            key TEXT NOT NULL CHECK (length(key) BETWEEN 1 AND 128),
            value TEXT NOT NULL CHECK (length(value) <= 256),
            PRIMARY KEY (job_seq, key)
        ) WITHOUT ROWID;
        INSERT OR REPLACE INTO tags (job_seq, key, value)
            SELECT jobs.seq, json_extract(tag.value, '$.Key'), coalesce(json_extract(tag.value, '$.Value'), '')
            FROM jobs, json_each(jobs.request_json, '$.Tags') AS tag
            WHERE json_type(tag.value, '$.Key') = 'text'
                AND length(json_extract(tag.value, '$.Key')) BETWEEN 1 AND 128
                AND length(coalesce(json_extract(tag.value, '$.Value'), '')) <= 256;
        """

    /// The GPUs each running job's hosts hold, written before the job starts, so that a restart
    /// that adopts the job gives it the same ones and hands them to nobody else.
    private static let v6 = """
        CREATE TABLE gpu_assignments (
            job_seq INTEGER NOT NULL REFERENCES jobs (seq) ON DELETE CASCADE,
            host TEXT NOT NULL,
            gpu_index INTEGER NOT NULL CHECK (gpu_index >= 0),
            gpu_uuid TEXT NOT NULL,
            PRIMARY KEY (job_seq, gpu_index)
        ) WITHOUT ROWID;
        """
}

extension JobStore {
    // Exactly-once intake of a spool file, crash or not:
    //   1. beginSpoolClaim: a new claim (attempt 1), or the next attempt of a
    //      claim that an earlier daemon left open (it died on the file).
    //   2. The daemon reads and validates the file. If the claim's earlier
    //      attempts all crashed (say three), it quarantines the file instead.
    //   3. acceptSpoolFile records the job AND closes the claim in one
    //      transaction (or rejectSpoolFile records the refusal).
    //   4. The daemon moves the file out of the spool, then forgets the claim.
    // A crash before 3 repeats the file with a higher attempt number; after 3,
    // beginSpoolClaim answers `done` and the daemon only finishes step 4.

    /// Starts (or restarts) processing a spool file.
    ///
    /// - Returns: the claim. In state `claimed`, `attempts` is this attempt's number
    ///   (1 the first time; more means earlier daemons died on the file). In any
    ///   other state the file was already dealt with and nothing changes.
    public func beginSpoolClaim(
        identity: SpoolFileIdentity, at: Double = JobStore.now
    ) throws(StoreError) -> SpoolClaim {
        try beginSpoolClaims(identities: [identity], at: at)[0]
    }

    /// ``beginSpoolClaim(identity:at:)`` for several files in one transaction (a flood of the spool
    /// costs one commit per batch, not one per file). The claims are in the order of `identities`.
    public func beginSpoolClaims(identities: [SpoolFileIdentity], at: Double = JobStore.now) throws(StoreError) -> [SpoolClaim] {
        let action = identities.count == 1 ? "claim \(identities[0])" : "claim \(identities.count) spool files"
        return try write(action) { db throws(StoreError) in
            var begun: [SpoolClaim] = []
            for identity in identities {
                try db.run(
                    """
                    INSERT INTO spool_claims (file_name, device, inode, modification_time, claimed_at, attempts, state)
                    VALUES (?, ?, ?, ?, ?, 1, 'claimed')
                    ON CONFLICT (file_name, device, inode, modification_time) DO UPDATE
                        SET attempts = attempts + 1, claimed_at = excluded.claimed_at WHERE state = 'claimed'
                    """, key(identity) + [.real(at)], action: action)
                guard let claim = try claims(where: Self.claimKey, key(identity), in: db, action: action).first else {
                    throw StoreError(.internal, action: action, message: "the claim of \(identity) vanished after it was written", path: path)
                }
                begun.append(claim)
            }
            return begun
        }
    }

    /// ``acceptSpoolFile(identity:job:)`` for several files in one transaction, durable unless
    /// `durable` is false (then the caller moves the files only after ``syncLog()``). A name
    /// already taken (by an earlier job or by an earlier file of the batch) refuses that file
    /// alone: its result is `jobExists` and its claim stays open; the others are recorded.
    /// Any other failure records none of them.
    public func acceptSpoolFiles(_ files: [(identity: SpoolFileIdentity, job: JobSubmission)], durable: Bool = true)
        throws(StoreError) -> [Result<JobRecord, StoreError>]
    {
        let action = "accept \(files.count) spool files"
        // The records are made inside the transaction: once it has committed, nothing can fail
        // any more, so a file is never taken for unrecorded while its job exists.
        return try write(action, durable: durable) { db throws(StoreError) -> [Result<JobRecord, StoreError>] in
            var results: [Result<JobRecord, StoreError>] = []
            for file in files {
                let itemAction = "accept \(file.identity) as job '\(file.job.definition.jobName)'"
                do throws(StoreError) {
                    // A UNIQUE violation aborts its statement only: the transaction and the files before go on.
                    let record = try insertJob(file.job, source: .spool(fileName: file.identity.name), in: db, action: itemAction)
                    try finishClaim(file.identity, state: .done, job: record.id, at: file.job.submittedAt, in: db, action: itemAction)
                    results.append(.success(record))
                } catch where error.code == .jobExists {
                    results.append(.failure(error))
                }
            }
            return results
        }
    }

    /// ``forgetSpoolClaim(identity:)`` for several files in one transaction.
    public func forgetSpoolClaims(identities: [SpoolFileIdentity]) throws(StoreError) {
        let action = "forget \(identities.count) spool claims"
        try write(action) { db throws(StoreError) in
            for identity in identities {
                _ = try db.run("DELETE FROM spool_claims WHERE \(Self.claimKey)", key(identity), action: action)
            }
        }
    }

    /// Records the job a claimed spool file defines and marks the claim `done`, in
    /// one transaction: either both happen or neither does.
    ///
    /// Synced to disk before it returns: the caller removes the file next. The claim
    /// is closed at the submission's time.
    /// - Throws: `jobExists` (the claim stays open; reject the file), `notFound` when
    ///   there is no claim, `conflict` when the claim is no longer `claimed`.
    @discardableResult
    public func acceptSpoolFile(
        identity: SpoolFileIdentity, job submission: JobSubmission
    ) throws(StoreError) -> JobRecord {
        let action = "accept \(identity) as job '\(submission.definition.jobName)'"
        return try write(action, durable: true) { db throws(StoreError) in
            let record = try insertJob(submission, source: .spool(fileName: identity.name), in: db, action: action)
            // Inserting first, closing the claim second: if the claim cannot be
            // closed, throwing rolls the job back with it.
            try finishClaim(identity, state: .done, job: record.id, at: submission.submittedAt, in: db, action: action)
            return record
        }
    }

    /// Marks a claimed spool file as refused (its definition is invalid, or its name is taken).
    public func rejectSpoolFile(identity: SpoolFileIdentity, at: Double = JobStore.now) throws(StoreError) {
        let action = "reject \(identity)"
        try write(action) { db throws(StoreError) in
            try finishClaim(identity, state: .rejected, job: nil, at: at, in: db, action: action)
        }
    }

    /// Marks a claimed spool file as quarantined: the daemon died on it too often and will not read it again.
    public func quarantineSpoolFile(identity: SpoolFileIdentity, at: Double = JobStore.now) throws(StoreError) {
        let action = "quarantine \(identity)"
        try write(action) { db throws(StoreError) in
            try finishClaim(identity, state: .quarantined, job: nil, at: at, in: db, action: action)
        }
    }

    /// Takes back the attempt that the last ``beginSpoolClaim(identity:at:)`` counted, when the
    /// daemon put the file aside (a transient error) rather than dying on it: a daemon that
    /// stops while the file waits has not stopped *on* it, and must not move it towards quarantine.
    public func releaseSpoolClaimAttempt(identity: SpoolFileIdentity) throws(StoreError) {
        let action = "put aside the claim of \(identity)"
        try write(action) { db throws(StoreError) in
            // A first attempt taken back is no claim at all (attempts counts from 1).
            _ = try db.run(
                "DELETE FROM spool_claims WHERE \(Self.claimKey) AND state = 'claimed' AND attempts = 1",
                key(identity), action: action)
            _ = try db.run(
                "UPDATE spool_claims SET attempts = attempts - 1 WHERE \(Self.claimKey) AND state = 'claimed' AND attempts > 1",
                key(identity), action: action)
        }
    }

    /// Removes the claim once its file has left the spool (or has vanished), in any state.
    public func forgetSpoolClaim(identity: SpoolFileIdentity) throws(StoreError) {
        let action = "forget the claim of \(identity)"
        try write(action) { db throws(StoreError) in
            _ = try db.run("DELETE FROM spool_claims WHERE \(Self.claimKey)", key(identity), action: action)
        }
    }

    /// Claims still `claimed`, oldest first: files a previous daemon was processing when it stopped.
    public func openSpoolClaims() throws(StoreError) -> [SpoolClaim] {
        let action = "read the open spool claims"
        return try read(action) { db throws(StoreError) in
            try claims(where: "state = 'claimed'", [], in: db, action: action)
        }
    }

    /// The claim of one file, in whatever state.
    public func spoolClaim(identity: SpoolFileIdentity) throws(StoreError) -> SpoolClaim? {
        let action = "read the claim of \(identity)"
        return try read(action) { db throws(StoreError) in
            try claims(where: Self.claimKey, key(identity), in: db, action: action).first
        }
    }

    private static let claimKey = "file_name = ? AND device = ? AND inode = ? AND modification_time = ?"

    /// The key columns; st_dev and st_ino are unsigned 64-bit, SQLite integers signed: the bits are kept.
    private func key(_ identity: SpoolFileIdentity) -> [SQLValue] {
        [
            .text(identity.name), .integer(Int64(bitPattern: identity.device)),
            .integer(Int64(bitPattern: identity.inode)), .integer(identity.modificationTime),
        ]
    }

    private func finishClaim(
        _ identity: SpoolFileIdentity, state: SpoolClaimState, job: JobID?, at: Double,
        in db: SQLiteConnection, action: String
    ) throws(StoreError) {
        let changed = try db.run(
            """
            UPDATE spool_claims SET state = ?, finished_at = ?, job_seq = ?
            WHERE \(Self.claimKey) AND state = 'claimed'
            """,
            [.text(state.rawValue), .real(at), .optional(job?.rawValue)] + key(identity), action: action)
        guard changed == 0 else { return }
        if let existing = try claims(where: Self.claimKey, key(identity), in: db, action: action).first {
            throw StoreError(
                .conflict, action: action, message: "the file's claim is already \(existing.state.rawValue)", path: path
            )
        }
        throw StoreError(
            .notFound, action: action, message: "the file was never claimed (call beginSpoolClaim first)", path: path)
    }

    private func claims(
        where condition: String, _ values: [SQLValue], in db: SQLiteConnection, action: String
    ) throws(StoreError) -> [SpoolClaim] {
        try db.query(
            """
            SELECT file_name, device, inode, modification_time, state, attempts, claimed_at, finished_at, job_seq
            FROM spool_claims WHERE \(condition) ORDER BY claimed_at, file_name
            """, values, action: action
        ) { row throws(StoreError) in
            SpoolClaim(
                identity: SpoolFileIdentity(
                    name: row.text(0), device: UInt64(bitPattern: row.int64(1)),
                    inode: UInt64(bitPattern: row.int64(2)), modificationTime: row.int64(3)),
                state: try decodeEnum(SpoolClaimState.self, row.text(4), "spool claim state", action: action),
                attempts: Int(row.int64(5)), claimedAt: row.double(6), finishedAt: row.optionalDouble(7),
                job: row.optionalInt64(8).map(JobID.init(rawValue:)))
        }
    }
}

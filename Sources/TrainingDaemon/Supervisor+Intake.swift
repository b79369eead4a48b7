import Foundation
import TrainingCore
import TrainingStore

/// Spool intake: claim, validate, then accept (the job and the claim recorded in one
/// transaction) or reject. Every file is processed exactly once, also across crashes, and a
/// transient error (no descriptors, no memory, a full or failing disk or database) never
/// rejects a file: it is put aside and tried again (`Supervisor+IntakeRetry`).
extension Supervisor {
    /// How many times a file may be claimed without an outcome before it is quarantined.
    static let claimAttemptLimit = 3

    func intake(_ name: String) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard !draining else { return }
        do {
            switch try spool.claim(name) {
            case .gone: return
            case .nameInUse: waitInIncoming(name, because: nil)
            case .claimed: process(claimed: name)
            }
        } catch {
            waitInIncoming(name, because: error)
        }
    }

    /// Files intake takes together: their claims, and then their jobs, are recorded in one
    /// transaction per batch. Small enough that a batch is a few milliseconds of the queue's time.
    static let intakeBatchSize = 32

    /// Takes `names` in batches, each its own turn on the queue: a flood of the spool interleaves
    /// with requests and with the events of running jobs instead of holding the queue until it is in.
    /// The next batch is queued only when one is done, so whatever arrived meanwhile goes first.
    /// Every caller (each read of the spool's inotify events, a listing) adds to one backlog taken
    /// by one chain of batches: a chain per call put a batch of every chain ahead of a request
    /// (55-61 ms for a CreateTrainingJob at the start of a 10,000-file flood, against one batch's
    /// few milliseconds).
    func intake(_ names: [String]) {
        dispatchPrecondition(condition: .onQueue(queue))
        intakeBacklog.append(names)
        guard !intakeBacklog.isTaking, !intakeBacklog.isEmpty else { return }
        intakeBacklog.isTaking = true
        queue.async { [weak self] in self?.intakeNextBatch() }
    }

    private func intakeNextBatch() {
        intakeBatch(intakeBacklog.take(Self.intakeBatchSize))
        if intakeBacklog.isEmpty {
            intakeBacklog.isTaking = false
        } else {
            queue.async { [weak self] in self?.intakeNextBatch() }
        }
    }

    /// One batch: each file claimed (renamed into `.claimed/`), the claims recorded together, each
    /// definition validated, the valid ones recorded together with their claims closed (synced
    /// once), the files moved, the claims forgotten together. A file put aside by an earlier
    /// transient error takes the one-file path, which knows its claim.
    func intakeBatch(_ names: [String]) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard !draining else { return }
        var fresh: [(name: String, identity: SpoolDirectory.Identity)] = []
        for name in names {
            do {
                switch try spool.claim(name) {
                case .gone: continue
                case .nameInUse: waitInIncoming(name, because: nil); continue
                case .claimed: break
                }
            } catch {
                waitInIncoming(name, because: error)
                continue
            }
            guard spoolRetry.begun[name] == nil else { process(claimed: name); continue }
            do {
                if let found = try spool.identity(ofClaimed: name) { fresh.append((name, found)) }
            } catch {
                waitInClaimed(name, because: error)
            }
        }
        guard !fresh.isEmpty else { return }
        let claims: [SpoolClaim]
        do {
            claims = try store.beginSpoolClaims(identities: fresh.map(\.identity.storeIdentity))
        } catch {
            for file in fresh { waitInClaimed(file.name, because: .deferred("cannot record the claim of \(file.name): \(error)")) }
            return
        }
        var valid: [(name: String, identity: SpoolDirectory.Identity, definition: ValidatedDefinition)] = []
        // Jobs of each owner this batch adds to the queue, for [queue] max_queued_per_user.
        var batched: [uid_t: Int] = [:]
        for (file, claim) in zip(fresh, claims) {
            if claim.state == .claimed { spoolRetry.begun[file.name] = (file.identity, claim.attempts) }
            do {
                guard try proceeds(file.name, file.identity, claim.state, claim.attempts),
                      let definition = try validatedDefinition(file.identity, alsoWaiting: batched[file.identity.owner, default: 0]) else {
                    spoolRetry.begun[file.name] = nil
                    continue
                }
                batched[file.identity.owner, default: 0] += 1
                valid.append((file.name, file.identity, definition))
            } catch {
                waitInClaimed(file.name, because: error)
            }
        }
        recordBatch(valid)
    }

    private func recordBatch(_ files: [(name: String, identity: SpoolDirectory.Identity, definition: ValidatedDefinition)]) {
        guard !files.isEmpty else { return }
        let results: [Result<JobRecord, StoreError>]
        do throws(StoreError) {
            try injectedRecordFault("\(files.count) spool files")
            // Not synced yet: the jobs may start first; the files move once it is (below).
            results = try store.acceptSpoolFiles(files.map { ($0.identity.storeIdentity, submission($0.definition, $0.identity)) }, durable: false)
        } catch {
            for file in files { waitInClaimed(file.name, because: .deferred("cannot record job \(file.definition.jobName) from \(file.name): \(error)")) }
            return
        }
        for (file, result) in zip(files, results) {
            guard case .success(let record) = result else { continue }
            enqueue(record)
            logger.info("accepted job \(file.definition.jobName)", metadata: ["job": "\(file.definition.jobName)"])
            // Recorded: a failure from here on only delays the move, and the claim is `done`.
            spoolRetry.begun[file.name] = nil
        }
        // The jobs that fit start now, before the sync: a start needs the record to survive a crash
        // of the daemon (it does, in the kernel's cache), not a power loss, which ends the jobs too.
        // The files stay in .claimed/ until the records are on disk: after a power loss, a file whose
        // record was lost is taken in again; one whose record survived is moved on (`finish`).
        schedule()
        do {
            try store.syncLog()
        } catch {
            for file in files { waitInClaimed(file.name, because: .deferred("cannot sync the record of \(file.name) to disk: \(error)")) }
            return
        }
        var moved: [SpoolFileIdentity] = []
        for (file, result) in zip(files, results) {
            do throws(SpoolFault) {
                switch result {
                case .success:
                    try spool.accept(file.name)
                    moved.append(file.identity.storeIdentity)
                case .failure:
                    try reject(file.name, file.identity, [Self.nameInUse(file.definition)], quarantine: false)
                    spoolRetry.begun[file.name] = nil
                }
            } catch {
                waitInClaimed(file.name, because: error)
            }
        }
        if !moved.isEmpty {
            do {
                try store.forgetSpoolClaims(identities: moved)
            } catch {
                logger.warning("cannot forget \(moved.count) finished spool claims: \(error)")
            }
        }
    }

    /// Files a crash (or a transient error) left in `.claimed/`: finished ones are moved on, the others processed again.
    func recoverClaimedFiles() {
        do {
            for name in try spool.pending(in: spool.claimed) { process(claimed: name) }
        } catch {
            relistLater(claimed: true, because: error)
        }
    }

    func process(claimed name: String) {
        do {
            try finish(claimed: name)
            spoolRetry.begun[name] = nil
        } catch {
            waitInClaimed(name, because: error)
        }
    }

    /// Takes a claimed file to its outcome; throws `deferred` when that has to wait.
    private func finish(claimed name: String) throws(SpoolFault) {
        guard let found = try spool.identity(ofClaimed: name) else { return }
        let claim = try beginClaim(name, found)
        guard try proceeds(name, claim.identity, claim.state, claim.attempts),
              let definition = try validatedDefinition(claim.identity) else { return }
        if let inUse = try record(definition, claim.identity) {
            try reject(name, claim.identity, [inUse], quarantine: false)
            return
        }
        // The job is recorded: a failure from here on only delays the move, and the claim is `done`.
        spoolRetry.begun[name] = nil
        try spool.accept(name)
        forgetClaim(claim.identity)
    }

    /// Whether a claimed file is to be read and validated now. Not when an earlier daemon already
    /// took it to its outcome (then only the move is finished here), nor when earlier daemons
    /// died on it too often (then it is quarantined).
    private func proceeds(_ name: String, _ identity: SpoolDirectory.Identity, _ state: SpoolClaimState, _ attempt: Int) throws(SpoolFault) -> Bool {
        switch state {
        case .claimed:
            break
        case .done:
            // The job was recorded, but the file was not moved (a crash, or a failed move).
            try spool.accept(name)
            forgetClaim(identity)
            return false
        case .rejected, .quarantined:
            try spool.reject(name, report: ValidationReport(file: name, issues: [ValidationIssue(path: "", code: .unreadable,
                message: "this file was refused before trainingd stopped; see the daemon's log")]))
            forgetClaim(identity)
            return false
        }
        if attempt > Self.claimAttemptLimit {
            try reject(name, identity, [ValidationIssue(path: "", code: .unreadable,
                message: "trainingd stopped \(attempt - 1) times while processing this file; it was quarantined so that it cannot stop the daemon again. Check the daemon's log, then resubmit a corrected copy")],
                quarantine: true)
            return false
        }
        if ProcessInfo.processInfo.environment["TRAININGD_TEST_CRASH_AFTER_CLAIM"] == name {
            // A test hook: dies between the claim and its outcome, as a crash would.
            abort()
        }
        return true
    }

    /// The claim in the store: begun now, or the one this daemon began before the file was put aside.
    private func beginClaim(_ name: String, _ found: SpoolDirectory.Identity)
        throws(SpoolFault) -> (identity: SpoolDirectory.Identity, state: SpoolClaimState, attempts: Int) {
        if let begun = spoolRetry.begun[name] { return (begun.identity, .claimed, begun.attempts) }
        do {
            let claim = try store.beginSpoolClaim(identity: found.storeIdentity)
            if claim.state == .claimed { spoolRetry.begun[name] = (found, claim.attempts) }
            return (found, claim.state, claim.attempts)
        } catch {
            throw .deferred("cannot record the claim of \(name): \(error)")
        }
    }

    /// Reads and validates a claimed file: its definition, or nil when it was refused (the file
    /// and its report are in `rejected/` then).
    /// `alsoWaiting`: jobs of the same owner that are about to join the queue with this one.
    private func validatedDefinition(_ identity: SpoolDirectory.Identity, alsoWaiting: Int = 0) throws(SpoolFault) -> ValidatedDefinition? {
        let name = identity.name
        func refused(_ issues: [ValidationIssue]) throws(SpoolFault) -> ValidatedDefinition? {
            try reject(name, identity, issues, quarantine: false)
            return nil
        }
        guard identity.kind == S_IFREG else {
            let kind = identity.kind == S_IFLNK ? "a symbolic link" : identity.kind == S_IFDIR ? "a directory" : identity.kind == S_IFIFO ? "a FIFO" : "not a regular file"
            return try refused([ValidationIssue(path: "", code: .unreadable, message: "\(name) is \(kind); the spool takes regular files only")])
        }
        guard identity.size <= DefinitionValidator.maximumDefinitionSize else {
            return try refused([DefinitionValidator.tooLarge(size: identity.size)])
        }
        if daemonIdentity.uid != 0, identity.owner != daemonIdentity.uid {
            return try refused([ValidationIssue(path: "", code: .unreadable,
                message: "\(name) belongs to uid \(identity.owner), but this trainingd runs as uid \(daemonIdentity.uid) and can run jobs only as itself; submit it as uid \(daemonIdentity.uid) or use a daemon running as root")])
        }
        let bytes: [UInt8]
        do {
            bytes = try spool.read(claimed: identity, limit: DefinitionValidator.maximumDefinitionSize)
        } catch {
            guard case .unusable(let issue) = error else { throw error }
            return try refused([issue])
        }
        switch validator.validate(bytes, defaultJobName: String(name.dropLast(".json".count))) {
        case .failure(let rejection): return try refused(rejection.issues)
        case .success(let validated):
            if let refusal = admissionRefusal(validated, ownerUID: identity.owner, ownerGID: identity.group, alsoWaiting: alsoWaiting) {
                return try refused([refusal])
            }
            return validated
        }
    }

    private func submission(_ definition: ValidatedDefinition, _ identity: SpoolDirectory.Identity) -> JobSubmission {
        JobSubmission(definition: definition, arn: configuration.arn(ofJob: definition.jobName),
                      owner: JobOwner(uid: identity.owner, gid: identity.group), submittedAt: Self.now)
    }

    private static func nameInUse(_ definition: ValidatedDefinition) -> ValidationIssue {
        ValidationIssue(path: "TrainingJobName", code: .resourceInUse,
            message: "Training job \(definition.jobName) already exists; choose another TrainingJobName (or delete the old job)")
    }

    /// The test hook `spool-record-fault:<n>`: the next n records fail as on a full disk.
    private func injectedRecordFault(_ what: String) throws(StoreError) {
        let faultsLeft = spoolRetry.injectedRecordFaults ?? testHooks.spoolRecordFaults
        guard faultsLeft > 0 else { return }
        spoolRetry.injectedRecordFaults = faultsLeft - 1
        throw StoreError(.full, action: "accept \(what) (test hook spool-record-fault)",
                         message: "database or disk is full", path: store.path, sqliteCode: 13)
    }

    /// Records the job and closes the claim in one transaction; the issue when the name is taken.
    /// Any other failure of the store (a full disk, an I/O error) says nothing about the
    /// definition, so the file waits for the store to work again.
    private func record(_ definition: ValidatedDefinition, _ identity: SpoolDirectory.Identity) throws(SpoolFault) -> ValidationIssue? {
        do throws(StoreError) {
            try injectedRecordFault(identity.storeIdentity.description)
            enqueue(try store.acceptSpoolFile(identity: identity.storeIdentity, job: submission(definition, identity)))
        } catch let error where error.code == .jobExists {
            return Self.nameInUse(definition)
        } catch {
            throw .deferred("cannot record job \(definition.jobName) from \(identity.name): \(error)")
        }
        logger.info("accepted job \(definition.jobName)", metadata: ["job": "\(definition.jobName)"])
        schedule()
        return nil
    }

    /// The file and its report are moved before the outcome is recorded: a crash in between leaves
    /// nothing in `.claimed/` to process again, so the file is still handled once.
    private func reject(_ name: String, _ identity: SpoolDirectory.Identity, _ issues: [ValidationIssue], quarantine: Bool) throws(SpoolFault) {
        try spool.reject(name, report: ValidationReport(file: name, issues: issues))
        do {
            if quarantine {
                try store.quarantineSpoolFile(identity: identity.storeIdentity)
            } else {
                try store.rejectSpoolFile(identity: identity.storeIdentity)
            }
            try store.forgetSpoolClaim(identity: identity.storeIdentity)
        } catch {
            // Harmless: the file has left the spool, and a claim without its file is never read again.
            logger.error("cannot record the rejection of \(name): \(error)", metadata: ["spool_file": "\(name)"])
        }
        logger.notice("rejected \(name): \(ValidationReport.summary(of: issues))", metadata: ["spool_file": "\(name)"])
    }

    private func forgetClaim(_ identity: SpoolDirectory.Identity) {
        do {
            try store.forgetSpoolClaim(identity: identity.storeIdentity)
        } catch {
            logger.warning("cannot forget the finished claim of \(identity.name): \(error)", metadata: ["spool_file": "\(identity.name)"])
        }
    }
}

/// The spool files intake has yet to take, oldest first; owned by the supervisor's queue.
struct IntakeBacklog {
    private var names: [String] = []
    /// How many of `names` were taken; the taken prefix is dropped once it is half the array, so
    /// a take costs its batch, not the backlog's length.
    private var taken = 0
    /// Whether a chain of batches is taking the backlog (at most one is).
    var isTaking = false

    var isEmpty: Bool { taken == names.count }

    mutating func append(_ more: [String]) { names.append(contentsOf: more) }

    mutating func take(_ count: Int) -> [String] {
        let batch = Array(names[taken..<min(names.count, taken + count)])
        taken += batch.count
        if taken * 2 >= names.count {
            names.removeFirst(taken)
            taken = 0
        }
        return batch
    }
}

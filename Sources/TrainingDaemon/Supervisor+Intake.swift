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
        let identity = claim.identity
        switch claim.state {
        case .claimed:
            break
        case .done:
            // The job was recorded, but the file was not moved (a crash, or a failed move).
            try spool.accept(name)
            forgetClaim(identity)
            return
        case .rejected, .quarantined:
            try spool.reject(name, report: ValidationReport(file: name, issues: [ValidationIssue(path: "", code: .unreadable,
                message: "this file was refused before trainingd stopped; see the daemon's log")]))
            forgetClaim(identity)
            return
        }
        let attempt = claim.attempts
        if attempt > Self.claimAttemptLimit {
            try reject(name, identity, [ValidationIssue(path: "", code: .unreadable,
                message: "trainingd stopped \(attempt - 1) times while processing this file; it was quarantined so that it cannot stop the daemon again. Check the daemon's log, then resubmit a corrected copy")],
                quarantine: true)
            return
        }
        if ProcessInfo.processInfo.environment["TRAININGD_TEST_CRASH_AFTER_CLAIM"] == name {
            // A test hook: dies between the claim and its outcome, as a crash would.
            abort()
        }
        if let issues = try admit(identity) {
            try reject(name, identity, issues, quarantine: false)
        }
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

    /// Validates and records a claimed file; returns the issues when the definition is refused.
    private func admit(_ identity: SpoolDirectory.Identity) throws(SpoolFault) -> [ValidationIssue]? {
        let name = identity.name
        guard identity.kind == S_IFREG else {
            let kind = identity.kind == S_IFLNK ? "a symbolic link" : identity.kind == S_IFDIR ? "a directory" : identity.kind == S_IFIFO ? "a FIFO" : "not a regular file"
            return [ValidationIssue(path: "", code: .unreadable, message: "\(name) is \(kind); the spool takes regular files only")]
        }
        guard identity.size <= DefinitionValidator.maximumDefinitionSize else {
            return [DefinitionValidator.tooLarge(size: identity.size)]
        }
        if daemonIdentity.uid != 0, identity.owner != daemonIdentity.uid {
            return [ValidationIssue(path: "", code: .unreadable,
                message: "\(name) belongs to uid \(identity.owner), but this trainingd runs as uid \(daemonIdentity.uid) and can run jobs only as itself; submit it as uid \(daemonIdentity.uid) or use a daemon running as root")]
        }
        let bytes: [UInt8]
        do {
            bytes = try spool.read(claimed: identity, limit: DefinitionValidator.maximumDefinitionSize)
        } catch {
            guard case .unusable(let issue) = error else { throw error }
            return [issue]
        }
        let definition: ValidatedDefinition
        switch validator.validate(bytes, defaultJobName: String(name.dropLast(".json".count))) {
        case .failure(let rejection): return rejection.issues
        case .success(let validated): definition = validated
        }
        if let inUse = try record(definition, identity) { return [inUse] }
        // The job is recorded: a failure from here on only delays the move, and the claim is `done`.
        spoolRetry.begun[name] = nil
        try spool.accept(name)
        forgetClaim(identity)
        return nil
    }

    /// Records the job and closes the claim in one transaction; the issue when the name is taken.
    /// Any other failure of the store (a full disk, an I/O error) says nothing about the
    /// definition, so the file waits for the store to work again.
    private func record(_ definition: ValidatedDefinition, _ identity: SpoolDirectory.Identity) throws(SpoolFault) -> ValidationIssue? {
        let submission = JobSubmission(
            definition: definition, arn: configuration.arn(ofJob: definition.jobName),
            owner: JobOwner(uid: identity.owner, gid: identity.group), submittedAt: Self.now)
        do throws(StoreError) {
            let faultsLeft = spoolRetry.injectedRecordFaults ?? testHooks.spoolRecordFaults
            if faultsLeft > 0 {
                spoolRetry.injectedRecordFaults = faultsLeft - 1
                throw StoreError(.full, action: "accept \(identity.storeIdentity) (test hook spool-record-fault)",
                                 message: "database or disk is full", path: store.path, sqliteCode: 13)
            }
            enqueue(try store.acceptSpoolFile(identity: identity.storeIdentity, job: submission))
        } catch let error where error.code == .jobExists {
            return ValidationIssue(path: "TrainingJobName", code: .resourceInUse,
                message: "Training job \(definition.jobName) already exists; choose another TrainingJobName (or delete the old job)")
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

import Foundation
import TrainingCore
import TrainingStore

/// Spool intake: claim, validate, then accept (the job and the claim recorded in one
/// transaction) or reject. Every file is processed exactly once, also across crashes.
extension Supervisor {
    /// How many times a file may be claimed without an outcome before it is quarantined.
    static let claimAttemptLimit = 3

    func intake(_ name: String) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard !draining, spool.claim(name) else { return }
        process(claimed: name)
    }

    /// Files a crash left in `.claimed/`: finished ones are moved on, the others processed again.
    func recoverClaimedFiles() {
        for name in spool.pending(in: spool.claimed) { process(claimed: name) }
    }

    private func process(claimed name: String) {
        guard let identity = spool.identity(ofClaimed: name) else { return }
        let claim: SpoolClaim
        do {
            claim = try store.beginSpoolClaim(identity: identity.storeIdentity)
        } catch {
            logger.error("cannot record the claim of \(name): \(error); leaving it in \(spool.claimed)", metadata: ["spool_file": "\(name)"])
            return
        }
        switch claim.state {
        case .claimed:
            break
        case .done:
            // The job was recorded, but the daemon stopped before the file was moved.
            spool.accept(name)
            try? store.forgetSpoolClaim(identity: identity.storeIdentity)
            return
        case .rejected, .quarantined:
            spool.reject(name, report: ValidationReport(file: name, issues: [ValidationIssue(path: "", code: .unreadable,
                message: "this file was refused before trainingd stopped; see the daemon's log")]))
            try? store.forgetSpoolClaim(identity: identity.storeIdentity)
            return
        }
        let attempt = claim.attempts
        if attempt > Self.claimAttemptLimit {
            reject(name, identity, [ValidationIssue(path: "", code: .unreadable,
                message: "trainingd stopped \(attempt - 1) times while processing this file; it was quarantined so that it cannot stop the daemon again. Check the daemon's log, then resubmit a corrected copy")],
                quarantine: true)
            return
        }
        if ProcessInfo.processInfo.environment["TRAININGD_TEST_CRASH_AFTER_CLAIM"] == name {
            // A test hook: dies between the claim and its outcome, as a crash would.
            abort()
        }
        guard let issues = admit(name, identity) else { return }
        reject(name, identity, issues, quarantine: false)
    }

    /// Validates and records a claimed file; returns the issues when it is refused.
    private func admit(_ name: String, _ identity: SpoolDirectory.Identity) -> [ValidationIssue]? {
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
        guard let bytes = spool.read(claimed: name, limit: DefinitionValidator.maximumDefinitionSize) else {
            return [ValidationIssue(path: "", code: .unreadable, message: "cannot read \(name): \(String(cString: strerror(errno)))")]
        }
        let definition: ValidatedDefinition
        switch validator.validate(bytes, defaultJobName: String(name.dropLast(".json".count))) {
        case .failure(let rejection): return rejection.issues
        case .success(let validated): definition = validated
        }
        switch submit(definition, ownerUID: identity.owner, ownerGID: identity.group, spoolIdentity: identity.storeIdentity) {
        case .success:
            spool.accept(name)
            try? store.forgetSpoolClaim(identity: identity.storeIdentity)
            return nil
        case .failure(let issue):
            return [issue]
        }
    }

    /// The file is moved before the outcome is recorded: a crash in between leaves nothing in
    /// `.claimed/` to process again, so the file is still handled once.
    private func reject(_ name: String, _ identity: SpoolDirectory.Identity, _ issues: [ValidationIssue], quarantine: Bool) {
        spool.reject(name, report: ValidationReport(file: name, issues: issues))
        do {
            if quarantine {
                try store.quarantineSpoolFile(identity: identity.storeIdentity)
            } else {
                try store.rejectSpoolFile(identity: identity.storeIdentity)
            }
            try store.forgetSpoolClaim(identity: identity.storeIdentity)
        } catch {
            logger.error("cannot record the rejection of \(name): \(error)", metadata: ["spool_file": "\(name)"])
        }
        logger.notice("rejected \(name): \(ValidationReport.summary(of: issues))", metadata: ["spool_file": "\(name)"])
    }
}

import Testing
import TrainingCore

@testable import TrainingStore

@Suite struct SpoolClaimTests {
    @Test func attemptsAreCountedAcrossCrashes() throws {
        let scratch = try Scratch()
        let file = Fixtures.identity("crashy.json")
        // Each daemon "crashes": it claims the file and never records an outcome nor closes the
        // database (the stores are kept open, so nothing is checkpointed: the next reads the WAL).
        var crashed: [JobStore] = []
        for expected in 1...4 {
            let store = try scratch.openStore()
            crashed.append(store)
            let claim = try store.beginSpoolClaim(identity: file, at: Double(expected))
            #expect(claim.state == .claimed)
            #expect(claim.attempts == expected)
            #expect(claim.interruptedAttempts == expected - 1)
            #expect(claim.claimedAt == Double(expected))
        }
        let store = try scratch.openStore()
        #expect(crashed.count == 4)
        #expect(try store.openSpoolClaims().map(\.attempts) == [4])
        try store.quarantineSpoolFile(identity: file, at: 10)
        #expect(try store.openSpoolClaims().isEmpty)
        // A finished claim is answered as it is, without counting another attempt.
        let again = try store.beginSpoolClaim(identity: file, at: 11)
        #expect(again.state == .quarantined && again.attempts == 4 && again.finishedAt == 10)
    }

    @Test func aRewrittenFileIsANewClaim() throws {
        let scratch = try Scratch()
        let store = try scratch.openStore()
        var file = Fixtures.identity("job.json")
        _ = try store.beginSpoolClaim(identity: file, at: 1)
        _ = try store.beginSpoolClaim(identity: file, at: 2)
        file.modificationTime += 1
        #expect(try store.beginSpoolClaim(identity: file, at: 3).attempts == 1)
        // st_dev and st_ino use all 64 bits.
        let huge = SpoolFileIdentity(name: "big.json", device: .max, inode: UInt64.max - 1, modificationTime: -5)
        #expect(try store.beginSpoolClaim(identity: huge, at: 4).identity == huge)
        #expect(try store.openSpoolClaims().count == 3)
    }

    @Test func acceptingRecordsTheJobAndClosesTheClaimTogether() throws {
        let scratch = try Scratch()
        let store = try scratch.openStore()
        let file = Fixtures.identity("good.json")
        _ = try store.beginSpoolClaim(identity: file, at: 1)
        let record = try store.acceptSpoolFile(identity: file, job: Fixtures.submission("good", at: 2))
        #expect(record.source == .spool(fileName: "good.json"))
        let claim = try #require(try store.spoolClaim(identity: file))
        #expect(claim.state == .done && claim.job == record.id && claim.finishedAt == 2)
        // The daemon crashed before moving the file: the next claim says it is done.
        let reopened = try scratch.openStore()
        let next = try reopened.beginSpoolClaim(identity: file, at: 3)
        #expect(next.state == .done && next.attempts == 1 && next.job == record.id)
        try reopened.forgetSpoolClaim(identity: file)
        #expect(try reopened.spoolClaim(identity: file) == nil)
        #expect(try reopened.job(named: "good") == record)
    }

    @Test func aDuplicateNameLeavesTheClaimOpenAndNoJob() throws {
        let scratch = try Scratch()
        let store = try scratch.openStore()
        let taken = try store.recordSubmission(Fixtures.submission("taken", at: 1))
        let file = Fixtures.identity("taken.json")
        _ = try store.beginSpoolClaim(identity: file, at: 2)
        let error = storeError { try store.acceptSpoolFile(identity: file, job: Fixtures.submission("taken", at: 3)) }
        #expect(error?.code == .jobExists)
        #expect(try store.spoolClaim(identity: file)?.state == .claimed)
        #expect(try store.job(named: "taken") == taken)
        try store.rejectSpoolFile(identity: file, at: 4)
        #expect(try store.spoolClaim(identity: file)?.state == .rejected)
    }

    @Test func aClaimThatCannotBeClosedRollsTheJobBack() throws {
        let scratch = try Scratch()
        let store = try scratch.openStore()
        // Never claimed: the job row is written first, then the claim update fails.
        let unclaimed = Fixtures.identity("unclaimed.json")
        let error = storeError {
            try store.acceptSpoolFile(identity: unclaimed, job: Fixtures.submission("ghost", at: 1))
        }
        #expect(error?.code == .notFound)
        #expect(try store.job(named: "ghost") == nil)
        // Already rejected: accepting it later must not create a job either.
        let rejected = Fixtures.identity("rejected.json")
        _ = try store.beginSpoolClaim(identity: rejected, at: 1)
        try store.rejectSpoolFile(identity: rejected, at: 2)
        #expect(
            storeError { try store.acceptSpoolFile(identity: rejected, job: Fixtures.submission("late", at: 3)) }?.code
                == .conflict)
        #expect(try store.job(named: "late") == nil)
        #expect(try store.unfinishedJobs().isEmpty)
        #expect(storeError { try store.quarantineSpoolFile(identity: rejected, at: 4) }?.code == .conflict)
    }

    @Test func deletingTheJobKeepsItsClaim() throws {
        let scratch = try Scratch()
        let store = try scratch.openStore()
        let file = Fixtures.identity("done.json")
        _ = try store.beginSpoolClaim(identity: file, at: 1)
        let id = try store.acceptSpoolFile(identity: file, job: Fixtures.submission("done", at: 2)).id
        try store.drive(id, [.fail], from: 3)
        try store.deleteJob(named: "done")
        let claim = try #require(try store.spoolClaim(identity: file))
        #expect(claim.state == .done && claim.job == nil)
    }

    @Test func aBatchRecordsEveryFileButTheOneWhoseNameIsTaken() throws {
        let scratch = try Scratch()
        let store = try scratch.openStore()
        _ = try store.recordSubmission(Fixtures.submission("taken", at: 1))
        let files = ["a.json", "taken.json", "b.json", "a-again.json"].map { Fixtures.identity($0) }
        let claims = try store.beginSpoolClaims(identities: files, at: 2)
        #expect(claims.map(\.identity) == files)
        #expect(claims.allSatisfy { $0.state == .claimed && $0.attempts == 1 })
        // "a-again.json" names job "a", which the first file of the same batch takes.
        let results = try store.acceptSpoolFiles(zip(files, ["a", "taken", "b", "a"]).map { ($0, Fixtures.submission($1, at: 3)) })
        #expect(results.map { (try? $0.get())?.name } == ["a", nil, "b", nil])
        let codes: [StoreError.Code?] = results.map { result in
            guard case .failure(let error) = result else { return nil }
            return error.code
        }
        #expect(codes == [nil, .jobExists, nil, .jobExists])
        #expect(try files.map { try store.spoolClaim(identity: $0)?.state } == [.done, .claimed, .done, .claimed])
        try store.forgetSpoolClaims(identities: [files[0], files[2]])
        #expect(try store.spoolClaim(identity: files[0]) == nil && store.spoolClaim(identity: files[2]) == nil)
        #expect(try store.openSpoolClaims().map(\.identity.name) == ["a-again.json", "taken.json"])
        // Claimed again in a later batch (a daemon that died on them): counted as second attempts.
        #expect(try store.beginSpoolClaims(identities: [files[1], files[3]], at: 4).map(\.attempts) == [2, 2])
    }

    @Test func statementsAreReusedWithoutLeakingBindings() throws {
        let scratch = try Scratch()
        let store = try scratch.openStore()
        // The same SQL runs many times (cached), with different values each time: none leaks into the next.
        for index in 0..<300 {
            _ = try store.beginSpoolClaim(identity: Fixtures.identity("f\(index).json"), at: Double(index))
        }
        #expect(try store.openSpoolClaims().count == 300)
        #expect(try store.openSpoolClaims().map(\.claimedAt) == (0..<300).map(Double.init))
    }
}

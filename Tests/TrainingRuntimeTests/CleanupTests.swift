import Foundation
import Testing
import TrainingRuntime

@Suite("Nothing of a job survives it")
struct CleanupTests {
    /// `setsid` puts the sleeper in a session (and process group) of its own. In a PID namespace
    /// the kernel kills it with the namespace's init, even with its output redirected; with
    /// isolation none the keeper finds it through the log pipe it still holds.
    @Test(
        "a setsid grandchild does not survive the job",
        arguments: [(Isolation.pidNamespace, " >/dev/null 2>&1"), (Isolation.none, "")])
    func setsidGrandchildDies(isolation: Isolation, redirect: String) async throws {
        try await withTemporaryDirectory { dir in
            let marker = uniqueSleepArgument()
            let script = "setsid sleep \(marker)\(redirect) & while [ ! -e go ]; do sleep 0.02; done; exit 0"
            let job = try RunningJob(shellJob(script, in: dir, isolation: isolation))
            var grandchild: Int32 = 0
            try await waitUntil("the grandchild") {
                grandchild = sleepers(marker).first ?? 0
                return grandchild != 0
            }
            #expect(getsid(grandchild) == grandchild, "the grandchild leads a session of its own")
            _ = FileManager.default.createFile(atPath: dir + "/go", contents: nil)
            let report = try #require(await job.exit())
            #expect(report.exitCode == 0)
            #expect(report.escapedKilled == (isolation == .none ? 1 : 0))
            #expect(!isAlive(grandchild))
            #expect(sleepers(marker).allSatisfy { !isAlive($0) })
        }
    }

    /// PR_SET_PDEATHSIG kills the algorithm's main process; in a PID namespace that takes the
    /// whole namespace down. With isolation none the rest of its process group would survive
    /// (a known limit), so that case runs a job without children.
    @Test("when the keeper itself is killed, the job dies with it", arguments: [Isolation.pidNamespace, .none])
    func keeperDeath(isolation: Isolation) async throws {
        try await withTemporaryDirectory { dir in
            let marker = uniqueSleepArgument()
            let script = isolation == .none ? "echo ready; exec sleep \(marker)" : "echo ready; sleep \(marker)"
            let job = try RunningJob(shellJob(script, in: dir, isolation: isolation))
            try await job.waitForLog("out ready")
            try await waitUntil("the sleeper") { !sleepers(marker).isEmpty }
            let sleeper = try #require(sleepers(marker).first)
            let algorithm = try #require(AlgorithmStart.read(statusPath: job.spec.statusPath)).algorithmPID
            kill(job.process.keeperPID, SIGKILL)
            let report = try #require(await job.exit())
            #expect(report.keeperStatus == .signaled(SIGKILL))
            #expect(report.statusFileError?.code == .statusUnreadable)
            #expect(report.exitCode == nil)
            try await waitUntil("the job's death", timeout: .seconds(2)) { !isAlive(algorithm) && !isAlive(sleeper) }
        }
    }
}

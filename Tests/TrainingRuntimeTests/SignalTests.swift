import Foundation
import Testing
import TrainingRuntime

@Suite("Signals")
struct SignalTests {
    @Test("terminate() reaches the script's trap, which exits 0", arguments: [Isolation.pidNamespace, .none])
    func terminateReachesTrap(isolation: Isolation) async throws {
        try await withTemporaryDirectory { dir in
            let script = "trap 'echo got TERM; exit 0' TERM; echo ready; sleep 1000 & wait"
            let job = try RunningJob(shellJob(script, in: dir, isolation: isolation))
            try await job.waitForLog("out ready")
            try job.process.terminate()
            let report = try #require(await job.exit())
            #expect(report.exitCode == 0)
            #expect(job.logLines.contains { $0.hasSuffix("out got TERM") }, "\(job.logLines), \(report)")
        }
    }

    @Test("a job that ignores SIGTERM dies on killAll()", arguments: [Isolation.pidNamespace, .none])
    func killAllEndsStubbornJob(isolation: Isolation) async throws {
        try await withTemporaryDirectory { dir in
            let job = try RunningJob(shellJob("trap '' TERM; echo ready; while :; do sleep 1; done", in: dir,
                isolation: isolation))
            try await job.waitForLog("out ready")
            try job.process.terminate()
            try await Task.sleep(for: .milliseconds(200))
            #expect(FileManager.default.fileExists(atPath: job.spec.statusPath) == false, "SIGTERM was ignored")
            try job.process.killAll()
            let report = try #require(await job.exit())
            #expect(report.signal == SIGKILL)
            #expect(report.keeperStatus == .exited(128 + SIGKILL))
            // Signalling an ended job is not an error.
            try job.process.killAll()
        }
    }
}

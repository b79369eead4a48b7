import Foundation
import Testing
import TrainingRuntime

@Suite("Exit status")
struct ExitStatusTests {
    @Test("the algorithm's exit code passes through", arguments: [Isolation.pidNamespace, .none])
    func exitCodePassesThrough(isolation: Isolation) async throws {
        try await withTemporaryDirectory { dir in
            let job = try RunningJob(shellJob("exit 7", in: dir, isolation: isolation))
            let report = try #require(await job.exit())
            #expect(report.exitCode == 7)
            #expect(report.signal == nil && report.execError == nil && report.setupError == nil)
            #expect(report.keeperStatus == .exited(7))
            #expect(report.isolationUsed == (isolation == .none ? .processGroup : .pidNamespace))
            let start = try #require(AlgorithmStart.read(statusPath: job.spec.statusPath))
            #expect(report.algorithmPID == start.algorithmPID)
        }
    }

    @Test("a missing program is an exec error ENOENT", arguments: ["no-such-program-here", "/nonexistent/program"])
    func missingProgram(program: String) async throws {
        try await withTemporaryDirectory { dir in
            var spec = shellJob("", in: dir)
            spec.arguments = [program, "train"]
            let report = try #require(await RunningJob(spec).exit())
            #expect(report.execError?.errorNumber == ENOENT)
            #expect(report.execError?.message.contains(program) == true)
            #expect(report.exitCode == nil)
            #expect(report.keeperStatus == .exited(127))
            #expect(AlgorithmStart.read(statusPath: spec.statusPath) == nil)
        }
    }

    @Test("a bind target that does not exist is a setup error naming it")
    func missingBindTarget() async throws {
        try await withTemporaryDirectory { dir in
            var spec = shellJob("true", in: dir, isolation: .pidNamespace)
            spec.binds = [BindMount(source: dir, target: dir + "/does-not-exist")]
            let report = try #require(await RunningJob(spec).exit())
            #expect(report.setupError?.contains(dir + "/does-not-exist") == true)
            #expect(report.keeperStatus == .exited(125))
            #expect(!FileManager.default.fileExists(atPath: dir + "/does-not-exist"))
        }
    }

    @Test("binds with isolation none are refused by the keeper")
    func bindsNeedNamespace() async throws {
        try await withTemporaryDirectory { dir in
            var spec = shellJob("true", in: dir, isolation: .none)
            spec.binds = [BindMount(source: dir, target: dir)]
            let report = try #require(await RunningJob(spec).exit())
            #expect(report.setupError?.contains("mount namespace") == true)
            #expect(report.isolationUsed == .processGroup)
        }
    }

    @Test("an invalid spec is refused before anything is spawned")
    func invalidSpec() throws {
        var spec = shellJob("true", in: "/tmp")
        spec.binds = [BindMount(source: "/tmp", target: "/opt/a:b")]
        #expect(throws: RuntimeError.self) {
            try LocalExecutor(keeperPath: testKeeperPath).launch(spec, queue: .main) { _ in }
        }
        #expect(throws: RuntimeError.self) { try LocalExecutor.locateKeeper(override: "/nonexistent/keeper") }
    }
}

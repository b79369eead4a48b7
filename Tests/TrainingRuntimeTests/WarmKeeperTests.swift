import Foundation
import Testing
@testable import TrainingRuntime

/// Warm keepers (`WarmKeepers`, the keeper's warm.c) with real processes, without cgroups (the
/// cgroup side is TrainingCgroupsTests' `claim` and the end-to-end limits tests).
@Suite("Warm keepers")
struct WarmKeeperTests {
    /// A pool of `count` whose problems the test collects.
    static func pool(_ count: Int, commandLineRoom: Int = 128) -> (WarmKeepers, Problems) {
        let problems = Problems()
        let pool = WarmKeepers(keeperPath: testKeeperPath, count: count, instance: "test-" + UUID().uuidString.prefix(8),
                               cgroups: nil, commandLineRoom: commandLineRoom, report: { problems.add($0) })
        return (pool, problems)
    }

    /// A started pool of `count`, once they are all ready (the caller stops it).
    static func readyPool(_ count: Int, commandLineRoom: Int = 128) async throws -> (WarmKeepers, Problems) {
        let (pool, problems) = Self.pool(count, commandLineRoom: commandLineRoom)
        pool.start()
        try await waitUntil("\(count) warm keepers") { pool.readyCount == count }
        return (pool, problems)
    }

    /// Pids of this pool's waiting keepers, from their command lines.
    static func waitingKeepers(_ pool: WarmKeepers) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry in
            guard let pid = Int32(entry) else { return nil }
            let arguments = commandLine(of: pid)
            return arguments.count >= 3 && arguments[1] == "--warm" && arguments[2].hasPrefix("trainingd-warm:\(pool.instance):") ? pid : nil
        }.sorted()
    }

    /// The non-empty arguments on a process's command line.
    static func commandLine(of pid: Int32) -> [String] {
        let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether `pid` is gone and reaped (a zombie still answers kill 0).
    static func isGone(_ pid: Int32) -> Bool { kill(pid, 0) != 0 && errno == ESRCH }

    @Test("a job handed to a warm keeper runs as with a spawned keeper: its log, exit code and status file, the job's token on the keeper's command line")
    func handOff() async throws {
        let (pool, problems) = try await Self.readyPool(1)
        defer { pool.stop() }
        try await withTemporaryDirectory { directory in
            let keeper = try #require(pool.take())
            #expect(Self.waitingKeepers(pool).contains(keeper.pid))
            var spec = shellJob("echo from-the-job; touch \(directory)/go-on-wait; while [ ! -e \(directory)/go ]; do sleep 0.01; done; exit 3", in: directory)
            spec.warmKeeper = keeper
            let job = try RunningJob(spec)
            #expect(job.process.keeperPID == keeper.pid)
            try await waitUntil("the job to run") { FileManager.default.fileExists(atPath: directory + "/go-on-wait") }
            #expect(KeeperDiscovery.token(of: keeper.pid) == spec.token, "the keeper took on the job's token")
            // It wrote the job's token over its own command line rather than exec'ing the one sent.
            #expect(Self.commandLine(of: keeper.pid) == [testKeeperPath, "--token", spec.token])
            FileManager.default.createFile(atPath: directory + "/go", contents: nil)
            let report = try #require(await job.exit())
            #expect(report.exitCode == 3, "\(report)")
            #expect(job.logLines.contains { $0.hasSuffix(" out from-the-job") }, "\(job.logLines)")
            #expect(FileManager.default.fileExists(atPath: spec.startedPath))
        }
        // Its replacement was started when it was taken.
        try await waitUntil("the replacement") { pool.readyCount == 1 }
        #expect(problems.all.isEmpty, "\(problems.all)")
    }

    @Test("a warm keeper whose command line has no room for the job's token execs itself with the one sent, and the job runs the same")
    func handOffWithoutRoom() async throws {
        let (pool, problems) = try await Self.readyPool(1, commandLineRoom: 0)
        defer { pool.stop() }
        try await withTemporaryDirectory { directory in
            let keeper = try #require(pool.take())
            var spec = shellJob("echo from-the-job; touch \(directory)/go-on-wait; while [ ! -e \(directory)/go ]; do sleep 0.01; done; exit 4", in: directory)
            spec.warmKeeper = keeper
            let job = try RunningJob(spec)
            try await waitUntil("the job to run") { FileManager.default.fileExists(atPath: directory + "/go-on-wait") }
            #expect(KeeperDiscovery.token(of: keeper.pid) == spec.token)
            #expect(Self.commandLine(of: keeper.pid).contains("--status"), "the keeper exec'd the command line sent")
            FileManager.default.createFile(atPath: directory + "/go", contents: nil)
            let report = try #require(await job.exit())
            #expect(report.exitCode == 4, "\(report)")
            #expect(job.logLines.contains { $0.hasSuffix(" out from-the-job") }, "\(job.logLines)")
        }
        #expect(problems.all.isEmpty, "\(problems.all)")
    }

    @Test("a warm keeper let go without a job ends and is reaped; stop ends the rest and later takes find none")
    func releaseAndStop() async throws {
        let (pool, _) = try await Self.readyPool(2)
        let keeper = try #require(pool.take())
        keeper.release()
        try await waitUntil("the released keeper to be reaped") { Self.isGone(keeper.pid) }
        try await waitUntil("the replacement") { pool.readyCount == 2 }
        let left = Self.waitingKeepers(pool)
        #expect(left.count == 2)
        pool.stop()
        for pid in left { #expect(Self.isGone(pid), "warm keeper \(pid) outlived stop()") }
        #expect(pool.take() == nil)
    }

    @Test("a warm keeper killed while it waits is reaped and replaced, and the pool says so")
    func killedWhileWaiting() async throws {
        let (pool, problems) = try await Self.readyPool(1)
        defer { pool.stop() }
        let first = try #require(Self.waitingKeepers(pool).first)
        kill(first, SIGKILL)
        try await waitUntil("the killed keeper to be reaped") { Self.isGone(first) }
        try await waitUntil("a replacement (after a 1 s pause)", timeout: .seconds(10)) {
            pool.readyCount == 1 && Self.waitingKeepers(pool).first.map { $0 != first } == true
        }
        #expect(problems.all.contains { $0.contains("ended before it got a job") }, "\(problems.all)")
    }

    @Test("a job whose warm keeper died after it was taken still runs, with a keeper spawned for it")
    func deadWarmKeeperFallsBack() async throws {
        let (pool, _) = try await Self.readyPool(1)
        defer { pool.stop() }
        try await withTemporaryDirectory { directory in
            let keeper = try #require(pool.take())
            kill(keeper.pid, SIGKILL)
            var probe = pollfd(fd: keeper.pidfd, events: Int16(POLLIN), revents: 0)
            #expect(poll(&probe, 1, 5_000) == 1, "the killed keeper ended")
            var spec = shellJob("echo spawned-instead", in: directory)
            spec.warmKeeper = keeper
            let job = try RunningJob(spec)
            #expect(job.process.keeperPID != keeper.pid)
            let report = try #require(await job.exit())
            #expect(report.exitCode == 0, "\(report)")
            #expect(job.logLines.contains { $0.hasSuffix(" out spawned-instead") }, "\(job.logLines)")
            try await waitUntil("the dead warm keeper to be reaped") { Self.isGone(keeper.pid) }
        }
    }
}

/// Messages collected from any thread.
final class Problems: @unchecked Sendable {
    // @unchecked: `messages` is read and written under `lock` only.
    private let lock = NSLock()
    private var messages: [String] = []
    func add(_ message: String) { lock.withLock { messages.append(message) } }
    var all: [String] { lock.withLock { messages } }
}

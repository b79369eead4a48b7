import Dispatch
import Foundation
import Testing
@testable import TrainingRuntime

/// The keeper built beside the test bundle (`.build-runtime/debug/`), or in this checkout.
let testKeeperPath: String = {
    let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    let fallbacks = [".build-runtime", ".build"].flatMap { scratch in
        ["debug", "release"].map { "\(repository)/\(scratch)/\($0)" }
    }
    do {
        return try LocalExecutor.locateKeeper(searchDirectories: fallbacks)
    } catch {
        fatalError("\(error)")
    }
}()

let isRoot = getuid() == 0
let jobEnvironment = ["PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C"]

/// A private temporary directory (mode 0755) for one test, removed afterwards.
func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    var template = Array("/tmp/trainingruntime-test-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
    let path = String(cString: made)
    chmod(path, 0o755)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// A spec whose log and status files are in `directory`.
func shellJob(_ script: String, in directory: String, isolation: Isolation = .auto) -> LaunchSpec {
    LaunchSpec(
        arguments: ["sh", "-c", script], environment: jobEnvironment, workingDirectory: directory,
        logPath: directory + "/job.log", statusPath: directory + "/job.status", token: "test-\(UUID().uuidString)",
        isolation: isolation)
}

/// A launched job and a way to wait for its end.
struct RunningJob {
    let process: any JobProcess
    let spec: LaunchSpec
    private let reports: AsyncStream<ExitReport>
    /// Set on the executor's queue when the report arrives, whether or not a test thread is free
    /// to take it from the stream yet (the suites share a few threads with blocking tests).
    private let ended = EndedFlag()

    init(_ spec: LaunchSpec, executor: LocalExecutor = LocalExecutor(keeperPath: testKeeperPath)) throws {
        let (stream, continuation) = AsyncStream.makeStream(of: ExitReport.self)
        let queue = DispatchQueue(label: "test.job")
        let ended = ended
        process = try executor.launch(spec, queue: queue) { report in
            ended.set()
            continuation.yield(report)
            continuation.finish()
        }
        self.spec = spec
        reports = stream
    }

    /// Waits for the end; after `timeout` the job is killed and the test fails.
    func exit(timeout: Duration = .seconds(10)) async -> ExitReport? {
        let (process, ended) = (process, ended)
        let timer = Task {
            try await Task.sleep(for: timeout)
            guard !ended.isSet else { return }
            Issue.record("the job did not end within \(timeout); killing it")
            try? process.killAll()
        }
        defer { timer.cancel() }
        for await report in reports { return report }
        return nil
    }

    /// The log so far, one entry per line.
    var logLines: [String] {
        ((try? String(contentsOfFile: spec.logPath, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// Waits until some log line ends with `text`.
    func waitForLog(_ text: String, timeout: Duration = .seconds(5)) async throws {
        try await waitUntil("log line \(text)", timeout: timeout) { logLines.contains { $0.hasSuffix(text) } }
    }
}

/// A flag set once from any thread.
final class EndedFlag: @unchecked Sendable {
    // @unchecked: `value` is read and written under `lock` only.
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

/// Polls `condition` every 10 ms.
func waitUntil(_ what: String, timeout: Duration = .seconds(5), _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        if ContinuousClock.now > deadline {
            Issue.record("timed out waiting for \(what)")
            throw CancellationError()
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}

/// Host pids of the processes running `sleep <argument>` (exactly that command line, so a
/// `setsid` that has not exec'd sleep yet does not count).
func sleepers(_ argument: String) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry in
        guard let pid = Int32(entry), let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
        else { return nil }
        let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        return arguments == ["sleep", argument] ? pid : nil
    }
}

/// Whether `pid` is a live process (a zombie counts as dead: it runs nothing any more).
func isAlive(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0 || errno == EPERM,
        let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return false }
    let state = stat[stat.index(close, offsetBy: 2)]
    return state != "Z" && state != "X"
}

/// A unique `sleep` duration argument, to find a test's own sleeper in /proc.
func uniqueSleepArgument() -> String {
    "1000.\(UInt32.random(in: 100_000...999_999))"
}

import Foundation
import Testing
import TrainingFiles
import TrainingRuntime

/// Makes `dir/src` (holding `file`) and an empty mount point `dir/target`, both mode 0755.
func makeBindDirectories(in dir: String) throws -> (source: String, target: String) {
    let source = dir + "/src", target = dir + "/target"
    for path in [source, target] {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false,
            attributes: [.posixPermissions: 0o755])
    }
    try "from the host\n".write(toFile: source + "/file", atomically: false, encoding: .utf8)
    chmod(source + "/file", 0o644)
    return (source, target)
}

@Suite("Mounts and credentials", .enabled(if: isRoot, "needs root"))
struct MountTests {
    @Test("the job sees the bind at its target; the host does not")
    func bindIsPrivate() async throws {
        try await withTemporaryDirectory { dir in
            let (source, target) = try makeBindDirectories(in: dir)
            var spec = shellJob("grep -c ' \(target) ' /proc/self/mountinfo; cat target/file", in: dir,
                isolation: .pidNamespace)
            spec.binds = [BindMount(source: source, target: target)]
            let job = try RunningJob(spec)
            let report = try #require(await job.exit())
            #expect(report.exitCode == 0, "\(job.logLines)")
            #expect(job.logLines.map { $0.dropFirst(25) } == ["out 1", "out from the host"])
            let hostMounts = try #require(ProcFile.read("/proc/self/mountinfo"))
            #expect(!hostMounts.contains(" \(target) "))
        }
    }

    @Test("a read-only bind cannot be written")
    func readOnlyBind() async throws {
        try await withTemporaryDirectory { dir in
            let (source, target) = try makeBindDirectories(in: dir)
            var spec = shellJob("cat target/file && echo x > target/new", in: dir, isolation: .pidNamespace)
            spec.binds = [BindMount(source: source, target: target, readOnly: true)]
            let job = try RunningJob(spec)
            let report = try #require(await job.exit())
            #expect(report.exitCode != 0)
            #expect(job.logLines.contains { $0.hasSuffix("Read-only file system") })
            #expect(!FileManager.default.fileExists(atPath: source + "/new"))
        }
    }

    @Test("a job launched with uid and gid 65534 runs as 65534", arguments: [Isolation.pidNamespace, .none])
    func credentials(isolation: Isolation) async throws {
        try await withTemporaryDirectory { dir in
            var spec = shellJob("id -u; id -g; id -G", in: dir, isolation: isolation)
            spec.credentials = Credentials(uid: 65534, gid: 65534)
            let job = try RunningJob(spec)
            #expect(try #require(await job.exit()).exitCode == 0)
            #expect(job.logLines.map { $0.dropFirst(25) } == ["out 65534", "out 65534", "out 65534"])
        }
    }
}

@Suite(
    "An unprivileged keeper",
    .enabled(if: isRoot && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv"), "needs root and setpriv"))
struct UnprivilegedKeeperTests {
    /// The keeper runs as 65534 (dropped by setpriv, which execs it under the same pid), so it
    /// needs a user namespace for its PID and mount namespaces.
    @Test("as uid 65534 with isolation pidns: a bind works and a setsid grandchild does not survive")
    func userNamespace() async throws {
        try await withTemporaryDirectory { dir in
            let (source, target) = try makeBindDirectories(in: dir)
            let output = dir + "/out"  // the keeper's own files, writable by 65534
            try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: false)
            chown(output, 65534, 65534)
            let marker = uniqueSleepArgument()
            let script = """
                id -u; grep -c ' \(target) ' /proc/self/mountinfo; cat target/file
                setsid sleep \(marker) >/dev/null 2>&1 &
                while [ ! -e go ]; do sleep 0.02; done
                """
            var spec = shellJob(script, in: dir, isolation: .pidNamespace)
            spec.logPath = output + "/job.log"
            spec.statusPath = output + "/job.status"
            spec.binds = [BindMount(source: source, target: target, readOnly: true)]
            let executor = LocalExecutor(
                keeperPath: testKeeperPath,
                launchPrefix: ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"], keeperUID: 65534)
            let job = try RunningJob(spec, executor: executor)
            var grandchild: Int32 = 0
            try await waitUntil("the grandchild") {
                grandchild = sleepers(marker).first ?? 0
                return grandchild != 0
            }
            _ = FileManager.default.createFile(atPath: dir + "/go", contents: nil)
            let report = try #require(await job.exit())
            #expect(report.exitCode == 0, "\(report)")
            #expect(report.isolationUsed == .pidNamespace)
            #expect(job.logLines.map { $0.dropFirst(25) } == ["out 65534", "out 1", "out from the host"])
            #expect(!isAlive(grandchild))
        }
    }
}

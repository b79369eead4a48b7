import Foundation
import Testing
@testable import TrainingRuntime

/// A root keeper starting a job for an unprivileged user: nothing the user wrote (the job's
/// environment, links in the job's tree) may make it act as root on the user's behalf.
@Suite("A root keeper and a hostile job owner", .enabled(if: isRoot, "needs root"))
struct PrivilegeTests {
    static let owner = Credentials(uid: 65534, gid: 65534)

    /// `dir/volume` (the job's tree, the owner's) with `input/data/train` replaced by a link to
    /// `dir/root-only` (root's, 0700, holding `secret`), and `dir/data` (the owner may read it).
    func hostileTree(in dir: String) throws -> (volume: String, rootOnly: String, data: String) {
        let volume = dir + "/volume", rootOnly = dir + "/root-only", data = dir + "/data"
        for path in [volume + "/input/data", rootOnly, data] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        try "secret\n".write(toFile: rootOnly + "/secret", atomically: false, encoding: .utf8)
        try "data\n".write(toFile: data + "/file", atomically: false, encoding: .utf8)
        chmod(rootOnly, 0o700)
        chmod(data, 0o755)
        chmod(data + "/file", 0o644)
        for path in [volume, volume + "/input", volume + "/input/data"] { chown(path, 65534, 65534) }
        symlink(rootOnly, volume + "/input/data/train")
        lchown(volume + "/input/data/train", 65534, 65534)
        return (volume, rootOnly, data)
    }

    @Test("the keeper runs with its own fixed environment; the job's reaches only the algorithm")
    func keeperEnvironmentIsFixed() async throws {
        try await withTemporaryDirectory { dir in
            var spec = shellJob("echo \"$LD_PRELOAD $GCONV_PATH\"; while [ ! -e go ]; do sleep 0.02; done", in: dir,
                                isolation: .pidNamespace)
            spec.environment["LD_PRELOAD"] = "/nonexistent/evil.so"
            spec.environment["LD_LIBRARY_PATH"] = dir
            spec.environment["GCONV_PATH"] = dir
            spec.credentials = Self.owner
            let job = try RunningJob(spec)
            try await job.waitForLog("/nonexistent/evil.so " + dir)
            let environ = FileManager.default.contents(atPath: "/proc/\(job.process.keeperPID)/environ") ?? Data()
            let keeper = environ.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            _ = FileManager.default.createFile(atPath: dir + "/go", contents: nil)
            #expect(try #require(await job.exit()).exitCode == 0)
            #expect(keeper == LocalExecutor.keeperEnvironment)
        }
    }

    @Test("a bind target below a bind that the owner replaced with a link is refused, not followed")
    func linkedBindTargetIsRefused() async throws {
        try await withTemporaryDirectory { dir in
            let tree = try hostileTree(in: dir)
            var spec = shellJob("ls \(dir)/job/input/data/train; cat \(dir)/job/input/data/train/secret", in: dir, isolation: .pidNamespace)
            try FileManager.default.createDirectory(atPath: dir + "/job", withIntermediateDirectories: false)
            spec.binds = [BindMount(source: tree.volume, target: dir + "/job"),
                          BindMount(source: tree.data, target: dir + "/job/input/data/train", readOnly: true)]
            spec.credentials = Self.owner
            let job = try RunningJob(spec)
            let report = try #require(await job.exit())
            #expect(report.setupError?.contains("bind target") == true, "\(report) \(job.logLines)")
            #expect(!job.logLines.contains { $0.hasSuffix("secret") })
            #expect(try String(contentsOfFile: tree.rootOnly + "/secret", encoding: .utf8) == "secret\n")
        }
    }

    @Test("a bind source is opened with the owner's rights: root-only data is not bound")
    func bindSourceAsOwner() async throws {
        try await withTemporaryDirectory { dir in
            let tree = try hostileTree(in: dir)
            unlink(tree.volume + "/input/data/train")
            mkdir(tree.volume + "/input/data/train", 0o755)
            chown(tree.volume + "/input/data/train", 65534, 65534)
            try FileManager.default.createDirectory(atPath: dir + "/job", withIntermediateDirectories: false)
            // Root reaches root-only/inner; its owner cannot (root-only is 0700), so the job must not either.
            try FileManager.default.createDirectory(atPath: tree.rootOnly + "/inner", withIntermediateDirectories: false)
            try "secret\n".write(toFile: tree.rootOnly + "/inner/secret", atomically: false, encoding: .utf8)
            chmod(tree.rootOnly + "/inner", 0o755)
            chmod(tree.rootOnly + "/inner/secret", 0o644)
            var spec = shellJob("cat \(dir)/job/input/data/train/secret", in: dir, isolation: .pidNamespace)
            spec.binds = [BindMount(source: tree.volume, target: dir + "/job"),
                          BindMount(source: tree.rootOnly + "/inner", target: dir + "/job/input/data/train", readOnly: true)]
            spec.credentials = Self.owner
            let job = try RunningJob(spec)
            let report = try #require(await job.exit())
            #expect(report.setupError?.contains("Permission denied") == true, "\(report)")
            #expect(!job.logLines.contains { $0.hasSuffix("secret") })
        }
    }

    @Test("a missing bind target below a bind is created as the owner, never as root")
    func missingTargetCreatedAsOwner() async throws {
        try await withTemporaryDirectory { dir in
            let tree = try hostileTree(in: dir)
            try FileManager.default.createDirectory(atPath: dir + "/job", withIntermediateDirectories: false)
            var spec = shellJob("cat \(dir)/job/input/data/fresh/deep/file", in: dir, isolation: .pidNamespace)
            spec.binds = [BindMount(source: tree.volume, target: dir + "/job"),
                          BindMount(source: tree.data, target: dir + "/job/input/data/fresh/deep", readOnly: true)]
            spec.credentials = Self.owner
            let job = try RunningJob(spec)
            #expect(try #require(await job.exit()).exitCode == 0, "\(job.logLines)")
            #expect(job.logLines.map { $0.dropFirst(25) } == ["out data"])
            var info = stat()
            #expect(stat(tree.volume + "/input/data/fresh/deep", &info) == 0 && info.st_uid == 65534)
        }
    }

    @Test("status and log files are never written through a link")
    func statusFilesNeverFollowLinks() async throws {
        try await withTemporaryDirectory { dir in
            try "canary\n".write(toFile: dir + "/canary", atomically: false, encoding: .utf8)
            var spec = shellJob("exit 0", in: dir, isolation: .pidNamespace)
            spec.statusPath = dir + "/job.status"
            spec.credentials = Self.owner
            symlink(dir + "/canary", dir + "/job.status.tmp")
            symlink(dir + "/created-through-link", dir + "/job.status.started.tmp")
            let job = try RunningJob(spec)
            #expect(try #require(await job.exit()).exitCode == 0)
            #expect(try String(contentsOfFile: dir + "/canary", encoding: .utf8) == "canary\n")
            #expect(!FileManager.default.fileExists(atPath: dir + "/created-through-link"))
        }
    }

    @Test("a user's process dressed up as a keeper is not taken for one")
    func imitationKeeperIsIgnored() async throws {
        try await withTemporaryDirectory { dir in
            try "#include <unistd.h>\nint main(void) { sleep(120); return 0; }\n".write(
                toFile: dir + "/fake.c", atomically: false, encoding: .utf8)
            let fake = dir + "/\(LocalExecutor.keeperName)"
            let compile = Process()
            compile.executableURL = URL(fileURLWithPath: "/usr/bin/cc")
            compile.arguments = ["-o", fake, dir + "/fake.c"]
            try compile.run()
            compile.waitUntilExit()
            try #require(compile.terminationStatus == 0)
            let token = "trainingd:imitation-\(UUID().uuidString)"
            // posix_spawn, not Foundation.Process: this test must own the child and reap it itself.
            let arguments = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", fake, "--token", token]
            let argv = arguments.map { strdup($0) } + [nil]
            defer { argv.forEach { free($0) } }
            var pid: pid_t = 0
            try #require(posix_spawn(&pid, arguments[0], nil, nil, argv, environ) == 0)
            defer {
                kill(pid, SIGKILL)
                var status: Int32 = 0
                waitpid(pid, &status, 0)
            }
            try await waitUntil("the imitation to run") {
                (FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()).starts(with: Data(fake.utf8))
            }
            #expect(KeeperDiscovery.keepers(token: token).isEmpty)
        }
    }
}

import Foundation
import Testing
import TrainingRuntime

@Suite("What the algorithm starts with")
struct JobSetupTests {
    @Test("exactly its environment, stdin /dev/null, fds 0-2 only, no blocked or ignored signals")
    func cleanStart() async throws {
        try await withTemporaryDirectory { dir in
            var spec = shellJob(
                "env | grep -v '^PWD=' | sort; readlink /proc/self/fd/0; grep -E '^Sig(Blk|Ign)' /proc/self/status;"
                    + " exec ls /proc/self/fd", in: dir)
            spec.environment["FOO"] = "bar baz"
            let job = try RunningJob(spec)
            #expect(try #require(await job.exit()).exitCode == 0)
            let expected = ["FOO=bar baz", "LANG=C", "PATH=/usr/local/bin:/usr/bin:/bin", "/dev/null",
                "SigBlk:\t0000000000000000", "SigIgn:\t0000000000000000", "0", "1", "2", "3"]  // 3: ls's own
            #expect(job.logLines.map { String($0.dropFirst(29)) } == expected)
        }
    }
}

@Suite("A root filesystem", .enabled(if: isRoot, "needs root"))
struct RootFilesystemTests {
    @Test("binds land inside the root, the job is chrooted there and sees its own /proc")
    func chroot() async throws {
        try await withTemporaryDirectory { dir in
            let (source, _) = try makeBindDirectories(in: dir)
            let root = dir + "/root"
            var binds = [BindMount(source: "/usr", target: "/usr", readOnly: true)]
            for name in ["usr", "proc", "data"] {
                try FileManager.default.createDirectory(atPath: "\(root)/\(name)", withIntermediateDirectories: true)
            }
            // Mirror the host's /bin, /lib... (symlinks into /usr on merged-/usr systems).
            for name in ["bin", "sbin", "lib", "lib64"] {
                if let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/" + name) {
                    try FileManager.default.createSymbolicLink(atPath: "\(root)/\(name)", withDestinationPath: link)
                } else if FileManager.default.fileExists(atPath: "/" + name) {
                    try FileManager.default.createDirectory(atPath: "\(root)/\(name)", withIntermediateDirectories: false)
                    binds.append(BindMount(source: "/" + name, target: "/" + name, readOnly: true))
                }
            }
            binds.append(BindMount(source: source, target: "/data"))
            var spec = shellJob("pwd; cat file; echo $$; test -e \(dir) || echo host hidden", in: dir,
                isolation: .pidNamespace)
            spec.rootFilesystem = root
            spec.workingDirectory = "/data"
            spec.binds = binds
            let job = try RunningJob(spec)
            #expect(try #require(await job.exit()).exitCode == 0)
            #expect(job.logLines.map { String($0.dropFirst(29)) } == ["/data", "from the host", "1", "host hidden"])
        }
    }
}

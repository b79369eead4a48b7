import Foundation
import Testing
import TrainingCore

/// The real daemon, as root, running jobs for uid 65534, who attacks it with nothing but the
/// right to drop a file in the spool and write its own job's files (docs/threat-model.md).
@Suite("A hostile job owner against the root daemon", .enabled(if: getuid() == 0, "needs root"))
struct PrivilegeEndToEndTests {
    static let user: uid_t = 65534
    static let asUser = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

    /// Root's files the attacks aim at: `file`, `dir/kept`, `secret`, all root's and private.
    struct Canaries {
        let directory: String
        let secret: String

        init(in root: String) throws {
            directory = root + "/canary"
            secret = "TOPSECRET-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: directory + "/dir", withIntermediateDirectories: true)
            try "canary-file\n".write(toFile: directory + "/file", atomically: false, encoding: .utf8)
            try "kept\n".write(toFile: directory + "/dir/kept", atomically: false, encoding: .utf8)
            try (secret + "\n").write(toFile: directory + "/secret", atomically: false, encoding: .utf8)
            for (path, mode) in [("", 0o700), ("/dir", 0o700), ("/file", 0o600), ("/dir/kept", 0o600), ("/secret", 0o600)] {
                chmod(directory + path, mode_t(mode))
            }
        }

        /// Every path below the canary directory with its owner, mode and content.
        func snapshot() -> [String: String] {
            var entries: [String: String] = [:]
            let paths = [""] + (FileManager.default.subpaths(atPath: directory) ?? []).map { "/" + $0 }
            for path in paths {
                var info = stat()
                lstat(directory + path, &info)
                let content = FileManager.default.contents(atPath: directory + path).map { String(decoding: $0, as: UTF8.self) } ?? ""
                entries[path] = "\(info.st_uid):\(info.st_gid) \(String(info.st_mode, radix: 8)) \(content)"
            }
            return entries
        }
    }

    /// A directory anyone may write (the attack's own notes), and the attack script.
    func attackKit(_ daemon: DaemonHarness) throws -> (scratch: String, attack: String) {
        let scratch = daemon.root + "/scratch"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        chmod(scratch, 0o777)
        // `files`: replaces every file it can write below the job's directory with a link to a
        // canary, and plants links at every name the daemon or a keeper may create next.
        // `directories`: also replaces the directories (the volumes included), deepest first.
        let attack = try daemon.script("attack.sh", """
            J="$1"; C="$2"
            find "$J" -mindepth 1 ! -type d 2>/dev/null | while read -r e; do
              rm -f "$e" 2>/dev/null; ln -s "$C/file" "$e" 2>/dev/null
            done
            i=0
            for kind in algorithm stage package checkpoint checkpoint-watch; do
              for suffix in .status .status.tmp .status.started .status.started.tmp .status.keeper.log .json .result.json .log .log.1; do
                i=$((i+1)); ln -s "$C/new-$i" "$J/.work/$kind-algo-1$suffix" 2>/dev/null
              done
            done
            if [ "$3" = directories ]; then
              find "$J" -mindepth 1 -depth -type d ! -path "$J/.work" 2>/dev/null | while read -r e; do
                rm -rf "$e" 2>/dev/null; ln -s "$C/dir" "$e" 2>/dev/null
              done
            fi
            true
            """)
        return (scratch, attack)
    }

    @Test("links to root's files planted everywhere the owner can write, during the run and between attempts, change none of them; output/failure linked to a secret leaks nothing")
    func symlinkAttacks() throws {
        let daemon = try DaemonHarness(config: "max_concurrent = 1", gracePeriod: 2)
        let canaries = try Canaries(in: daemon.root)
        let before = canaries.snapshot()
        let (scratch, attack) = try attackKit(daemon)
        for directory in ["data/train", "checkpoints", "output"] {
            try FileManager.default.createDirectory(atPath: daemon.root + "/" + directory, withIntermediateDirectories: true)
        }
        try "1,2\n".write(toFile: daemon.root + "/data/train/train.csv", atomically: false, encoding: .utf8)
        for path in ["checkpoints", "output"] { chown(daemon.root + "/" + path, Self.user, Self.user) }
        let jobDirectory = daemon.root + "/jobs/hostile"
        // Run 1 attacks and waits to be interrupted; run 2 attacks, links output/failure to the secret and fails.
        let image = try daemon.script("hostile.sh", """
            n=$(cat "$SCRATCH/runs" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$SCRATCH/runs"
            sh "$ATTACK" "$JOB_DIR" "$CANARY" files
            rm -rf /opt/ml/output 2>/dev/null; mkdir -p /opt/ml/output; ln -s "$CANARY/secret" /opt/ml/output/failure
            rm -rf /opt/ml/model; ln -s "$CANARY/dir" /opt/ml/model
            echo $n > "$SCRATCH/attacked-$n"
            if [ "$n" -eq 1 ]; then trap 'exit 0' TERM; i=0; while [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; fi
            exit 3
            """)
        let definition = daemon.definition(name: "hostile", image: image)
            .setting("Environment", ["JOB_DIR": .string(jobDirectory), "CANARY": .string(canaries.directory),
                                     "SCRATCH": .string(scratch), "ATTACK": .string(attack)])
            .setting("InputDataConfig", [["ChannelName": "train", "DataSource": ["S3DataSource": [
                "S3DataType": "S3Prefix", "S3Uri": .string("file://\(daemon.root)/data/train/")]]]])
            .setting("CheckpointConfig.S3Uri", .string("file://\(daemon.root)/checkpoints/hostile/"))
            .setting("RetryStrategy", ["MaximumRetryAttempts": 1])
        // Attempt 2 (after the interruption) fails in staging, a platform fault: attempt 3 is the retry.
        try daemon.start(environment: ["TRAININGD_TEST_HOOKS": "stage-fault-at:hostile:2"])
        try daemon.submit(definition, as: "hostile.json", owner: Self.user)
        try daemon.waitFor("the first run's attack", timeout: 30) { FileManager.default.fileExists(atPath: scratch + "/attacked-1") }
        let interrupted = try daemon.jobctl(["interrupt", "hostile", "--capacity-returns-after", "1"])
        #expect(interrupted.status == 0, "\(interrupted.stderr)")
        // Between attempts, from outside the job: the owner's own processes attack too.
        // A wait that times out is recorded, and the canaries are still checked: a daemon the
        // attack wedged must not hide what it did to root's files.
        try? daemon.waitFor("the interruption", timeout: 30) { (try daemon.job("hostile"))?.attemptHistory.count ?? 0 >= 1 }
        _ = try runCommand(["/bin/sh", attack, jobDirectory, canaries.directory, "directories"], prefix: Self.asUser, timeout: 30)
        try? daemon.waitFor("the failed staging", timeout: 30) { (try daemon.job("hostile"))?.attemptHistory.count ?? 0 >= 2 }
        _ = try runCommand(["/bin/sh", attack, jobDirectory, canaries.directory, "directories"], prefix: Self.asUser, timeout: 30)
        let ended = try? daemon.waitForEnd("hostile", timeout: 90)
        let after = canaries.snapshot()
        #expect(after == before, "a canary changed, or a file appeared where a link pointed: \(after.filter { before[$0.key] != $0.value })")
        let job = try #require(ended)

        #expect(job.attemptHistory.map(\.outcome) == [.interrupted, .retried, .failed], "\(job.attemptHistory)")
        #expect(FileManager.default.fileExists(atPath: scratch + "/attacked-2"), "the last attempt ran")
        #expect(job.failureReason?.contains("the algorithm wrote no /opt/ml/output/failure") == true, "\(job.failureReason ?? "")")
        let described = try daemon.jobctl(["describe", "hostile", "--json"])
        let logs = try daemon.jobctl(["logs", "hostile"])
        let state = ["trainingd.db", "trainingd.db-wal"].compactMap { FileManager.default.contents(atPath: daemon.root + "/state/" + $0) }
        let secret = Data(canaries.secret.utf8)
        #expect(!described.stdout.contains(canaries.secret) && !logs.stdout.contains(canaries.secret))
        #expect(!state.contains { $0.range(of: secret) != nil }, "the secret is in the database")
        #expect(!daemon.stderr.contains(canaries.secret))
    }

    @Test("output/failure as a FIFO, a link to /dev/zero or a huge file: the job fails at once with a bounded reason",
          arguments: [("fifo", "mkfifo /opt/ml/output/failure"), ("zero", "ln -s /dev/zero /opt/ml/output/failure"),
                      ("huge", "yes x | head -c 20000000 > /opt/ml/output/failure")])
    func hostileFailureFile(name: String, plant: String) throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let image = try daemon.script("plant.sh", plant + "\nexit 3")
        try daemon.submit(daemon.definition(name: name, image: image), as: name + ".json", owner: Self.user)
        let job = try daemon.waitForEnd(name, timeout: 30)
        #expect(job.lifecycle.status == .failed)
        let reason = job.failureReason ?? ""
        #expect(reason.utf8.count < 1200, "\(reason.prefix(200))")
        if name != "huge" {
            #expect(reason == "AlgorithmError: the algorithm wrote no /opt/ml/output/failure, exit code: 3", "\(reason)")
        }
        // The daemon still answers: nothing blocked its queue.
        #expect(try daemon.jobctl(["describe", name]).status == 0)
    }

    @Test("the job's LD_PRELOAD, LD_LIBRARY_PATH and GCONV_PATH reach its algorithm only, never a root process")
    func loaderVariables() throws {
        let daemon = try DaemonHarness()
        let (scratch, _) = try attackKit(daemon)
        let marker = scratch + "/loaded"
        let source = daemon.root + "/evil.c"
        try """
            #include <fcntl.h>
            #include <stdio.h>
            #include <unistd.h>
            __attribute__((constructor)) static void mark(void) {
                char exe[256] = {0}, line[320];
                if (readlink("/proc/self/exe", exe, sizeof exe - 1) < 0) exe[0] = '?';
                int n = snprintf(line, sizeof line, "%u %s\\n", (unsigned)geteuid(), exe);
                int fd = open("\(marker)", O_WRONLY | O_APPEND | O_CREAT, 0666);
                if (fd >= 0) { if (write(fd, line, (size_t)n) < 0) {} close(fd); }
            }
            """.write(toFile: source, atomically: false, encoding: .utf8)
        let library = daemon.root + "/evil.so"
        let compiled = try runCommand(["/usr/bin/cc", "-shared", "-fPIC", "-o", library, source])
        try #require(compiled.status == 0, "\(compiled.stderr)")
        _ = FileManager.default.createFile(atPath: marker, contents: nil)
        chmod(marker, 0o666)
        try FileManager.default.createDirectory(atPath: daemon.root + "/output", withIntermediateDirectories: true)
        chown(daemon.root + "/output", Self.user, Self.user)
        try daemon.start()
        let image = try daemon.script("plain.sh", "echo \"preload=$LD_PRELOAD\"")
        let definition = daemon.definition(name: "preload", image: image)
            .setting("Environment", ["LD_PRELOAD": .string(library), "LD_LIBRARY_PATH": .string(daemon.root),
                                     "GCONV_PATH": .string(daemon.root)])
        try daemon.submit(definition, as: "preload.json", owner: Self.user)
        let job = try daemon.waitForEnd("preload")
        #expect(job.lifecycle.status == .completed, "\(job.failureReason ?? "") \(daemon.log("preload"))")
        #expect(daemon.log("preload").contains("preload=\(library)"))
        let loaded = (try? String(contentsOfFile: marker, encoding: .utf8)) ?? ""
        let users = Set(loaded.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) })
        #expect(users == ["65534"], "processes that loaded the job's library:\n\(loaded)")
    }

    @Test("a hard link to someone else's file in the spool is refused: its owner would become the job's owner")
    func hardLinkedSubmission() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        // A file of uid 4321 that others may write (a mistake people make); anyone may link it.
        let victims = daemon.root + "/victims-file.json"
        let image = try daemon.script("whoami.sh", "id -u")
        try daemon.definition(name: "linked", image: image).serialized(.pretty).write(toFile: victims, atomically: false, encoding: .utf8)
        chown(victims, 4321, 4321)
        chmod(victims, 0o666)
        // Linked under a dot-name, then renamed into place, as tools submit (the rename is what the spool watches).
        #expect(link(victims, daemon.root + "/spool/incoming/.linked.json") == 0)
        #expect(rename(daemon.root + "/spool/incoming/.linked.json", daemon.root + "/spool/incoming/linked.json") == 0)
        let report = daemon.root + "/spool/rejected/linked.json.error.json"
        try daemon.waitFor("the rejection", timeout: 20) { FileManager.default.fileExists(atPath: report) }
        #expect(try String(contentsOfFile: report, encoding: .utf8).contains("hard links"))
        #expect(try daemon.job("linked") == nil)
    }

    @Test("the volume is the owner's from the start: every directory and config file in it, as the algorithm finds them, in a sized volume and in the spare job directory's made-ahead tree",
          arguments: ["auto", "none"])
    func volumeIsTheOwners(volumeSize: String) throws {
        let daemon = try DaemonHarness(config: "[limits]\nvolume_size = \"\(volumeSize)\"")
        try FileManager.default.createDirectory(atPath: daemon.root + "/output", withIntermediateDirectories: true)
        chown(daemon.root + "/output", Self.user, Self.user)
        try daemon.start()
        // The job takes a spare job directory, whose volume tree the daemon made ahead as root
        // (`checkpoints` is the last of it).
        try daemon.waitFor("a spare job directory with its tree", timeout: 10) {
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: daemon.root + "/jobs")) ?? []
            return entries.contains { $0.hasPrefix(".spare-") && FileManager.default.fileExists(atPath: daemon.root + "/jobs/\($0)/algo-1/checkpoints") }
        }
        // What the algorithm sees before it writes anything: owner uid of each entry of /opt/ml.
        let look = try daemon.script("look.sh", "find /opt/ml -mindepth 1 -printf '%U %p\\n' > /opt/ml/model/owners.txt")
        try daemon.submit(daemon.definition(name: "owned", image: look), as: "owned.json", owner: Self.user)
        let job = try daemon.waitForEnd("owned", timeout: 60)
        #expect(job.lifecycle.status == .completed, "\(job.failureReason ?? "")")
        let listing = daemon.archiveFile(daemon.root + "/output/owned/output/model.tar.gz", "owners.txt") ?? ""
        let entries = listing.split(separator: "\n").map { $0.split(separator: " ", maxSplits: 1) }
        let paths = Set(entries.compactMap { $0.count == 2 ? String($0[1]) : nil })
        for expected in ["/opt/ml/input/config/hyperparameters.json", "/opt/ml/input/config/resourceconfig.json",
                         "/opt/ml/input/data", "/opt/ml/output/data", "/opt/ml/output/intermediate", "/opt/ml/checkpoints"] {
            #expect(paths.contains(expected), "\(expected) is missing: \(listing)")
        }
        for entry in entries where entry.count == 2 && !entry[1].hasPrefix("/opt/ml/model/owners.txt") {
            #expect(entry[0] == "\(Self.user)", "\(entry[1]) belongs to uid \(entry[0]), not the job's owner")
        }
    }

    @Test("artifacts are delivered as the owner: small ones by the daemon acting as the owner, large ones by a worker; an output directory linked to root's gets nothing")
    func artifactsAsTheOwner() throws {
        let daemon = try DaemonHarness(config: "max_concurrent = 3")
        let canaries = try Canaries(in: daemon.root)
        let before = canaries.snapshot()
        try FileManager.default.createDirectory(atPath: daemon.root + "/output/linked", withIntermediateDirectories: true)
        chown(daemon.root + "/output", Self.user, Self.user)
        chown(daemon.root + "/output/linked", Self.user, Self.user)
        // The owner points the job's output directory at root's private directory.
        #expect(symlink(canaries.directory + "/dir", daemon.root + "/output/linked/output") == 0)
        lchown(daemon.root + "/output/linked/output", Self.user, Self.user)
        try daemon.start()
        let small = try daemon.script("small.sh", "echo weights > /opt/ml/model/weights.txt")
        let large = try daemon.script("large.sh", "head -c 3000000 /dev/urandom > /opt/ml/model/weights.bin")
        try daemon.submit(daemon.definition(name: "small", image: small), as: "small.json", owner: Self.user)
        try daemon.submit(daemon.definition(name: "large", image: large), as: "large.json", owner: Self.user)
        try daemon.submit(daemon.definition(name: "linked", image: small), as: "linked.json", owner: Self.user)
        for name in ["small", "large"] {
            let job = try daemon.waitForEnd(name, timeout: 60)
            #expect(job.lifecycle.status == .completed, "\(name): \(job.failureReason ?? "")")
            let archive = daemon.root + "/output/\(name)/output/model.tar.gz"
            var info = stat()
            #expect(stat(archive, &info) == 0 && info.st_uid == Self.user && info.st_gid == Self.user, "\(name): the archive is not the owner's")
            #expect(daemon.archiveListing(archive) == ["./", name == "small" ? "./weights.txt" : "./weights.bin"])
        }
        // The small model needed no worker (no request was written for one); the large one did.
        #expect(!FileManager.default.fileExists(atPath: daemon.root + "/jobs/small/.work/package-algo-1.json"))
        #expect(FileManager.default.fileExists(atPath: daemon.root + "/jobs/large/.work/package-algo-1.json"))
        let linked = try daemon.waitForEnd("linked", timeout: 60)
        #expect(linked.lifecycle.status == .failed)
        #expect(linked.failureReason?.hasPrefix("ClientError: could not deliver the artifacts") == true, "\(linked.failureReason ?? "")")
        #expect(canaries.snapshot() == before, "root's directory received the artifacts")
    }
}

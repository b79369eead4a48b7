import Foundation
import Testing
import TrainingCore
import TrainingStore

/// The spool under bad conditions, and the privacy of the daemon's state.
@Suite("Spool resilience and private state")
struct SpoolResilienceEndToEndTests {
    @Test("the state directory is 0700 and the database files 0600, whatever the umask and an older daemon left")
    func privateState() throws {
        let daemon = try DaemonHarness()
        let state = daemon.root + "/state"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: false)
        chmod(state, 0o755)
        do {
            // What an older trainingd left: a readable database.
            _ = try JobStore(path: state + "/trainingd.db")
        }
        for suffix in ["", "-wal", "-shm"] { chmod(state + "/trainingd.db" + suffix, 0o644) }
        try daemon.start(prefix: ["/bin/sh", "-c", "umask 000; exec \"$0\" \"$@\""])
        let image = try daemon.script("ok.sh", "exit 0")
        try daemon.submit(daemon.definition(name: "private", image: image), as: "private.json")
        #expect(try daemon.waitForEnd("private").lifecycle.status == .completed)

        #expect(Self.mode(state) == 0o700)
        for suffix in ["", "-wal", "-shm"] {
            #expect(Self.mode(state + "/trainingd.db" + suffix) == 0o600, "trainingd.db\(suffix)")
        }
        for directory in ["logs", "jobs", "spool", "spool/accepted", "spool/rejected"] {
            #expect(Self.mode(daemon.root + "/" + directory) == 0o755, "\(directory)")
        }
        #expect(Self.mode(daemon.root + "/spool/.claimed") == 0o700)
        #expect(Self.mode(daemon.root + "/spool/incoming") == 0o1777)
    }

    @Test("out of descriptors, a valid file is not rejected; it is accepted once descriptors are free, and a bad one gets its report")
    func descriptorExhaustion() throws {
        let daemon = try DaemonHarness(config: "[daemon]\nlog_level = \"debug\"")
        try daemon.start()
        let pid = try #require(daemon.lockHolder)
        // The connection cap is sized at start against the open-file limit so that connections
        // alone cannot exhaust it; lowering the limit of the running daemon to just above what
        // it holds makes them do so, as any other shortage (another leak, ENFILE) would.
        let limit = Self.openDescriptors(pid) + 16
        let lowered = try runCommand(["/usr/bin/prlimit", "--pid", String(pid), "--nofile=\(limit):\(limit)"])
        try #require(lowered.status == 0, "\(lowered.stderr)")
        // Every connection the daemon accepts takes one of its descriptors, until none is left.
        var connections: [Int32] = []
        defer { for fd in connections { close(fd) } }
        for _ in 0..<(limit + 8) {
            guard let fd = Self.connect(daemon.root + "/control.sock") else { break }
            connections.append(fd)
        }
        try daemon.waitFor("the daemon to run out of descriptors (\(connections.count) connections)", timeout: 10) { Self.openDescriptors(pid) >= limit }

        let image = try daemon.script("ok.sh", "exit 0")
        try daemon.submit(daemon.definition(name: "patient", image: image), as: "patient.json")
        try daemon.submit(#"{"TrainingJobName": "bad_name"}"#, as: "bad.json")
        try daemon.waitFor("the intake warning", timeout: 10) { daemon.stderr.contains("spool intake is held up") }
        #expect(daemon.stderr.contains("Too many open files"))
        let rejected = daemon.root + "/spool/rejected/"
        #expect(!FileManager.default.fileExists(atPath: rejected + "patient.json"))
        #expect(!FileManager.default.fileExists(atPath: rejected + "bad.json"))
        #expect(try daemon.job("patient") == nil)

        for fd in connections { close(fd) }
        connections = []
        #expect(try daemon.waitForEnd("patient", timeout: 30).lifecycle.status == .completed)
        #expect(FileManager.default.fileExists(atPath: daemon.root + "/spool/accepted/patient.json"))
        try daemon.waitFor("the bad file's rejection", timeout: 10) { FileManager.default.fileExists(atPath: rejected + "bad.json") }
        #expect(try String(contentsOfFile: rejected + "bad.json.error.json", encoding: .utf8).contains("trainingJobName"))
        #expect(!FileManager.default.fileExists(atPath: rejected + "patient.json"))
        try daemon.waitFor("the recovery notice", timeout: 10) { daemon.stderr.contains("spool intake works again") }
        #expect(daemon.stderr.components(separatedBy: "spool intake is held up").count == 2, "one warning for the episode")
    }

    @Test("every rejected file has its .error.json beside it")
    func everyRejectionHasItsReport() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        try daemon.submit("not json", as: "garbage.json")
        try daemon.submit(#"{"TrainingJobName": "bad_name"}"#, as: "bad.json")
        try daemon.waitFor("the first rejection", timeout: 10) { FileManager.default.fileExists(atPath: daemon.root + "/spool/rejected/bad.json.error.json") }
        try daemon.submit(#"{"TrainingJobName": "bad_name"}"#, as: "bad.json")  // the same name again: bad.1.json
        let big = String(repeating: " ", count: DefinitionValidator.maximumDefinitionSize + 1)
        try daemon.submit(big, as: "big.json")
        let fifo = daemon.root + "/spool/incoming/.pipe.json"
        mkfifo(fifo, 0o644)
        rename(fifo, daemon.root + "/spool/incoming/pipe.json")
        symlink("/etc/hostname", daemon.root + "/spool/incoming/.link.json")
        rename(daemon.root + "/spool/incoming/.link.json", daemon.root + "/spool/incoming/link.json")
        let rejected = daemon.root + "/spool/rejected/"
        let expected = ["garbage.json", "bad.json", "bad.1.json", "big.json", "pipe.json", "link.json"]
        try daemon.waitFor("six rejections", timeout: 15) {
            expected.allSatisfy { FileManager.default.fileExists(atPath: rejected + $0 + ".error.json") }
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: rejected).filter { !$0.hasSuffix(".error.json") }
        #expect(Set(files) == Set(expected))
        for file in files {
            let report = try String(contentsOfFile: rejected + file + ".error.json", encoding: .utf8)
            #expect(report.contains("\"errorType\""), "\(file)")
            var info = stat()
            #expect(lstat(rejected + file + ".error.json", &info) == 0 && info.st_mode & 0o777 == 0o644)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: daemon.root + "/spool/.claimed").isEmpty)
    }

    static func mode(_ path: String) -> mode_t? {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & 0o7777 : nil
    }

    static func openDescriptors(_ pid: pid_t) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []).count
    }

    /// A non-blocking connection, so that a full backlog (the daemon no longer accepting) fails instead of blocking.
    static func connect(_ path: String) -> Int32? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        let result = withUnixAddress(path) { Glibc.connect(fd, $0, $1) }
        guard result == 0 else {
            close(fd)
            return nil
        }
        return fd
    }
}

extension SpoolResilienceEndToEndTests {
    @Test("a database that cannot be written (disk full) delays a spool file; it is accepted once a write works")
    func databaseFull() throws {
        let daemon = try DaemonHarness()
        try daemon.start(environment: ["TRAININGD_TEST_HOOKS": "spool-record-fault:3"])
        let image = try daemon.script("ok.sh", "exit 0")
        try daemon.submit(daemon.definition(name: "full-disk", image: image), as: "full-disk.json")
        #expect(try daemon.waitForEnd("full-disk", timeout: 20).lifecycle.status == .completed)
        #expect(FileManager.default.fileExists(atPath: daemon.root + "/spool/accepted/full-disk.json"))
        #expect(!FileManager.default.fileExists(atPath: daemon.root + "/spool/rejected/full-disk.json"))
        #expect(daemon.stderr.contains("database or disk is full"))
        // The waits were not crashes: the claim is gone, not counted towards quarantine.
        #expect(try daemon.store().openSpoolClaims().isEmpty)
    }
}

extension SpoolResilienceEndToEndTests {
    @Test("a file a crash left claimed, then delayed by a full database at the next start, is accepted and not quarantined")
    func recoveredFileWaits() throws {
        let daemon = try DaemonHarness()
        try FileManager.default.createDirectory(atPath: daemon.root + "/spool/incoming", withIntermediateDirectories: true)
        let image = try daemon.script("ok.sh", "exit 0")
        try daemon.submit(daemon.definition(name: "left-claimed", image: image), as: "left-claimed.json")
        try daemon.start(environment: ["TRAININGD_TEST_CRASH_AFTER_CLAIM": "left-claimed.json"], waitForListening: false)
        _ = daemon.waitForExit(timeout: 20)
        #expect(FileManager.default.fileExists(atPath: daemon.root + "/spool/.claimed/left-claimed.json"))
        // Restarts while the file waits are not crashes on it: the quarantine counter does not move.
        for _ in 0..<3 {
            try daemon.start(environment: ["TRAININGD_TEST_HOOKS": "spool-record-fault:1000"])
            try daemon.waitFor("the intake warning", timeout: 10) { daemon.stderr.contains("spool intake is held up") }
            daemon.stop()
        }
        try daemon.start()
        #expect(try daemon.waitForEnd("left-claimed", timeout: 20).lifecycle.status == .completed)
        #expect(FileManager.default.fileExists(atPath: daemon.root + "/spool/accepted/left-claimed.json"))
        #expect(!FileManager.default.fileExists(atPath: daemon.root + "/spool/rejected/left-claimed.json"))
    }
}

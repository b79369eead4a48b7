import Foundation
import Testing
import TrainingCore
import TrainingFiles
import TrainingStore

/// Starts the real `trainingd` binary on a temporary root and drives it through the spool.
final class DaemonHarness: @unchecked Sendable {
    let root: String
    let configPath: String
    private(set) var process: Process?
    private var stderrPath: String { root + "/daemon.stderr" }

    /// The directory holding the built executables (next to the test bundle).
    static let products: String = {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = (executable as NSString).deletingLastPathComponent
        while !FileManager.default.fileExists(atPath: directory + "/trainingd"), directory != "/" {
            directory = (directory as NSString).deletingLastPathComponent
        }
        return directory
    }()

    /// A machine far larger than this one, so that only job slots keep a test's jobs waiting; a
    /// test about capacity declares its own `[capacity]`.
    static let roomyCapacity = """
        [capacity]
        cpus = 4096
        memory = "64TiB"
        """

    /// `onDaemonStop` is "drain" by default, so that a test's jobs end with the test's daemon.
    init(config: String = "", gracePeriod: Int = 2, onDaemonStop: String = "drain") throws {
        // Short: the control socket path must fit in 107 bytes.
        root = "/tmp/td-" + String(UUID().uuidString.prefix(8)).lowercased()
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        chmod(root, 0o755)
        configPath = root + "/trainingd.conf"
        // The capacity first: tests add [jobs] keys at the end of the file.
        try """
            \(config.contains("[capacity]") ? "" : Self.roomyCapacity)
            [jobs]
            stop_grace_period_seconds = \(gracePeriod)
            on_daemon_stop = "\(onDaemonStop)"
            \(config)
            """.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    deinit {
        stop()
        detachMounts(under: root)
        try? FileManager.default.removeItem(atPath: root)
    }

    /// Volumes are file systems of their own, kept mounted while the daemon keeps them: detaches
    /// them (and FastFile mounts) below `directory`, deepest first, so that the tree can go.
    func detachMounts(under directory: String) {
        let points = (ProcFile.read("/proc/self/mountinfo") ?? "").split(separator: "\n").compactMap { line -> String? in
            let fields = line.split(separator: " ", maxSplits: 5)
            return fields.count > 4 && fields[4].hasPrefix(directory + "/") ? String(fields[4]) : nil
        }
        for point in points.sorted(by: { $0.count > $1.count }) { umount2(point, Int32(MNT_DETACH)) }
    }

    /// Starts the daemon; `prefix` runs it through another program (`setpriv` to start it as another user).
    /// Waits for the control socket to be bound (which happens just before READY) unless
    /// `waitForListening` is false (a socket-activated daemon only starts at the first connection).
    func start(environment: [String: String] = [:], prefix: [String] = [], waitForListening: Bool = true) throws {
        let process = Process()
        let command = prefix + [Self.products + "/trainingd", "--root", root, "--config", configPath]
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        unlink(root + "/control.sock")  // a previous daemon's, which would look like readiness
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        self.process = process
        guard waitForListening else { return }
        try waitFor("the daemon to listen", timeout: 20) { FileManager.default.fileExists(atPath: root + "/control.sock") }
    }

    /// SIGTERM and wait (the daemon drains: running jobs are recorded as interrupted); SIGKILL
    /// after 30 s, so that a daemon that does not stop fails its test instead of stalling the suite.
    func stop() {
        guard let process, process.isRunning else { return }
        process.terminate()
        if waitForExit(timeout: 30) == nil {
            FileHandle.standardError.write(Data("trainingd did not stop within 30 s of SIGTERM and was killed:\n\(stderr)\n".utf8))
        }
    }

    /// Waits up to `timeout` seconds for the daemon to exit on its own; its exit status, or nil
    /// (after SIGKILL) when it did not.
    func waitForExit(timeout: Double) -> Int32? {
        guard let process else { return nil }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        guard !process.isRunning else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        return process.terminationStatus
    }

    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// The pid the root lock names: the daemon's, however it was started.
    var lockHolder: pid_t? {
        (try? String(contentsOfFile: root + "/trainingd.lock", encoding: .utf8))
            .flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// Drops a definition into the spool as tools should: a dot-file renamed into place.
    func submit(_ definition: String, as file: String, owner: uid_t? = nil) throws {
        let temporary = root + "/spool/incoming/." + file
        try definition.write(toFile: temporary, atomically: false, encoding: .utf8)
        if let owner { chown(temporary, owner, owner) }
        guard rename(temporary, root + "/spool/incoming/" + file) == 0 else { throw POSIXError(.EIO) }
    }

    /// Writes an executable script into the root and returns its path.
    func script(_ name: String, _ body: String) throws -> String {
        let path = root + "/" + name
        // Executable before it is in place: a daemon checking a running test's script while it is
        // written again must never see it without its x bits.
        let temporary = path + ".new-" + UUID().uuidString
        try ("#!/bin/sh\n" + body + "\n").write(toFile: temporary, atomically: false, encoding: .utf8)
        chmod(temporary, 0o755)
        guard rename(temporary, path) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        return path
    }

    func store() throws -> JobStore { try JobStore(path: root + "/state/trainingd.db") }

    func job(_ name: String) throws -> JobRecord? { try store().job(named: name) }

    /// Waits until the job has ended, and returns its record.
    @discardableResult
    func waitForEnd(_ name: String, timeout: Double = 60) throws -> JobRecord {
        var record: JobRecord?
        try waitFor("job \(name) to end", timeout: timeout) {
            record = try? self.job(name)
            return record?.lifecycle.status.isTerminal == true
        }
        return record!
    }

    func waitFor(_ what: String, timeout: Double, _ condition: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return }
            usleep(50_000)
        }
        Issue.record("timed out waiting for \(what); daemon stderr:\n\(stderr)")
        throw POSIXError(.ETIMEDOUT)
    }

    /// A minimal valid definition that runs `image`; change it with `JSONValue.setting(_:_:)`.
    func definition(name: String, image: String, maxRuntime: Int64 = 60) -> JSONValue {
        [
            "TrainingJobName": .string(name),
            "AlgorithmSpecification": ["TrainingImage": .string(image), "TrainingInputMode": "File"],
            "OutputDataConfig": ["S3OutputPath": .string("file://\(root)/output/")],
            "ResourceConfig": ["InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1],
            "StoppingCondition": ["MaxRuntimeInSeconds": .integer(maxRuntime)],
        ]
    }

    func submit(_ definition: JSONValue, as file: String, owner: uid_t? = nil) throws {
        try submit(definition.serialized(.pretty), as: file, owner: owner)
    }

    func log(_ job: String, host: String = "algo-1") -> String {
        (try? String(contentsOfFile: "\(root)/logs/\(job)/\(host).log", encoding: .utf8)) ?? ""
    }

    /// Host pids of processes whose command line is exactly `arguments`.
    static func processes(withArguments arguments: [String]) -> [pid_t] {
        let wanted = Data(arguments.joined(separator: "\0").utf8) + Data([0])
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry in
            guard let pid = pid_t(entry), FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") == wanted else { return nil }
            return pid
        }
    }

    /// The names in a tar.gz archive.
    func archiveListing(_ path: String) -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/tar")
        process.arguments = ["-tzf", path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try? process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map(String.init)
    }

    /// One member of a tar.gz archive (`./name`), as text; nil when it is not there.
    func archiveFile(_ path: String, _ member: String) -> String? {
        Self.output(of: ["/bin/tar", "-xzOf", path, "./" + member])
    }

    /// What `arguments` (a program's path, then its arguments) writes on its standard output, as
    /// text; nil when it cannot be run or fails.
    static func output(of arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return process.terminationStatus == 0 ? String(decoding: data, as: UTF8.self) : nil
    }
}

import Foundation
import Testing
import TrainingCore

/// A program whose standard output the test reads line by line while it runs (through a pipe, as
/// `| tee` would); killed after `timeout` seconds so that a stuck one fails its test.
final class PipedCommand {
    private let process = Process()
    private let output = Pipe()
    private var pending: [UInt8] = []

    init(_ arguments: [String], timeout: Int = 60) throws {
        let command = ["/usr/bin/timeout", "-k", "5", String(timeout)] + arguments
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// The next line, or nil when none came within `seconds` (or the output ended).
    func nextLine(within seconds: Double) -> String? {
        let deadline = Date().addingTimeInterval(seconds)
        let descriptor = output.fileHandleForReading.fileDescriptor
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                defer { pending.removeSubrange(...newline) }
                return String(decoding: pending[..<newline], as: UTF8.self)
            }
            let left = Int32(deadline.timeIntervalSinceNow * 1000)
            guard left > 0 else { return nil }
            var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, left) > 0 else { return nil }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { return nil }
            pending += buffer[..<count]
        }
    }

    /// Waits for the end; the exit status and the rest of the output.
    func finish() -> (status: Int32, rest: String) {
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: pending + Array(data), as: UTF8.self))
    }
}

/// jobctl against the real daemon: output through pipes, --name, --wait --logs, SIGKILL after the grace period.
@Suite("jobctl usability end to end", .serialized)
struct JobctlUsabilityEndToEndTests {
    @Test("through a pipe, submit --wait prints each line as it comes, not all at the end")
    func lineBuffered() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let release = daemon.root + "/release"
        let waiting = try daemon.script("waiting.sh", "while [ ! -e \(release) ]; do sleep 0.1; done")
        let file = try daemon.definitionFile("piped", daemon.definition(name: "piped", image: waiting))
        let command = try PipedCommand([DaemonHarness.products + "/jobctl", "submit", "--wait", file, "--root", daemon.root])
        let arn = command.nextLine(within: 15)
        let training = (0..<5).lazy.compactMap { _ in command.nextLine(within: 15) }.first { $0.contains("Training") }
        let stillRunning = (try? daemon.job("piped"))?.lifecycle.status == .inProgress
        FileManager.default.createFile(atPath: release, contents: nil)
        let ended = command.finish()
        #expect(arn?.hasSuffix("training-job/piped") == true, "\(arn ?? "nothing")")
        #expect(training != nil, "the Training line only came at the end")
        #expect(stillRunning)
        #expect(ended.status == 0)
        #expect(ended.rest.contains("Completed"))
    }

    @Test("submit --name reuses a definition file; --wait --logs prints the log, then how the job ended")
    func nameAndLogs() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let talker = try daemon.script("talker.sh", "echo epoch 1; sleep 0.3; echo epoch 2")
        let file = try daemon.definitionFile("base", daemon.definition(name: "base", image: talker))
        let first = try daemon.jobctl(["submit", "--name", "run-1", "--wait", "--logs", file])
        #expect(first.status == 0, "\(first.stderr)")
        let lines = first.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasSuffix("training-job/run-1") == true)
        #expect(lines.contains { $0.hasSuffix(" out epoch 1") } && lines.contains { $0.hasSuffix(" out epoch 2") }, "\(lines)")
        #expect(lines.last?.contains("Completed") == true, "\(lines)")
        let failing = try daemon.script("failing.sh", "echo about to fail; exit 3")
        let second = try daemon.jobctl(["submit", "--name", "run-2", "--wait", "--logs",
                                        try daemon.definitionFile("other", daemon.definition(name: "other", image: failing))])
        #expect(second.status == 1)
        #expect(second.stdout.contains(" out about to fail"))
        #expect(second.stdout.contains("FailureReason: AlgorithmError"))
        #expect(try daemon.job("run-1")?.lifecycle.status == .completed)
        #expect(try daemon.job("base") == nil)
        #expect(try daemon.jobctl(["submit", "--logs", file]).status != 0, "--logs without --wait is refused")
    }

    @Test("a stop that ends in SIGKILL says so in describe and in the job's log")
    func graceKillVisible() throws {
        let daemon = try DaemonHarness(gracePeriod: 1)
        try daemon.start()
        let stubborn = try daemon.script("stubborn.sh", "trap '' TERM; echo started; while true; do sleep 0.1; done")
        #expect(try daemon.jobctl(["submit", try daemon.definitionFile("stubborn", daemon.definition(name: "stubborn", image: stubborn))]).status == 0)
        try daemon.waitFor("training", timeout: 10) { daemon.log("stubborn").contains("started") }
        #expect(try daemon.jobctl(["stop", "stubborn"]).status == 0)
        let waited = try daemon.jobctl(["wait", "--verbose", "stubborn"])
        #expect(waited.status == 3)
        let escalation = "the algorithm did not stop within 1 s of SIGTERM; it was killed (SIGKILL)"
        #expect(waited.stdout.contains(escalation), "\(waited.stdout)")
        #expect(try daemon.jobctl(["describe", "stubborn"]).stdout.contains("Stopping the training job; " + escalation))
        #expect(daemon.log("stubborn").contains(" err trainingd: " + escalation), "\(daemon.log("stubborn"))")
        // A job that stops on SIGTERM says nothing of the kind.
        let polite = try daemon.script("polite.sh", "trap 'exit 0' TERM; echo started; while true; do sleep 0.1; done")
        #expect(try daemon.jobctl(["submit", try daemon.definitionFile("polite", daemon.definition(name: "polite", image: polite))]).status == 0)
        try daemon.waitFor("training", timeout: 10) { daemon.log("polite").contains("started") }
        #expect(try daemon.jobctl(["stop", "polite"]).status == 0)
        #expect(try daemon.jobctl(["wait", "polite"]).status == 3)
        #expect(!(try daemon.jobctl(["describe", "polite"]).stdout.contains("SIGKILL")))
        #expect(!daemon.log("polite").contains("SIGKILL"))
    }
}

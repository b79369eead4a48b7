import Foundation
import Testing
import TrainingControl
import TrainingCore
import TrainingStore

/// Output of a command run by a test.
struct CommandResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a program to completion; `prefix` runs it through another (setpriv, to be another user).
/// It is killed after `timeout` seconds (exit status 124), so that a stuck program fails its test
/// instead of stalling the suite.
func runCommand(_ arguments: [String], prefix: [String] = [], environment: [String: String] = [:], timeout: Int = 120) throws -> CommandResult {
    let process = Process()
    let command = ["/usr/bin/timeout", "-k", "5", String(timeout)] + prefix + arguments
    process.executableURL = URL(fileURLWithPath: command[0])
    process.arguments = Array(command.dropFirst())
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    // Standard error goes to a file, so that only one pipe is read and neither can fill up and stall the child.
    let errorPath = FileManager.default.temporaryDirectory.appendingPathComponent("stderr-\(UUID().uuidString)").path
    _ = FileManager.default.createFile(atPath: errorPath, contents: nil)
    defer { unlink(errorPath) }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle(forWritingAtPath: errorPath)
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return CommandResult(status: process.terminationStatus, stdout: String(decoding: data, as: UTF8.self),
                         stderr: (try? String(contentsOfFile: errorPath, encoding: .utf8)) ?? "")
}

extension DaemonHarness {
    func jobctl(_ arguments: [String], prefix: [String] = []) throws -> CommandResult {
        try runCommand([Self.products + "/jobctl"] + arguments + ["--root", root], prefix: prefix)
    }

    var socket: String { root + "/control.sock" }

    func definitionFile(_ name: String, _ definition: JSONValue) throws -> String {
        let path = root + "/" + name + ".json"
        try definition.serialized(.pretty).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }
}

/// The real `jobctl` against the real daemon.
@Suite("jobctl end to end", .serialized)
struct JobctlEndToEndTests {
    @Test("submit --wait: exit 0 Completed, 1 Failed, 3 Stopped")
    func submitWait() throws {
        let daemon = try DaemonHarness(gracePeriod: 1)
        try daemon.start()
        let ok = try daemon.script("ok.sh", "echo fine")
        let bad = try daemon.script("bad.sh", "exit 4")
        let slow = try daemon.script("slow.sh", "trap 'exit 0' TERM; while true; do sleep 0.1; done")
        let completed = try daemon.jobctl(["submit", "--wait", try daemon.definitionFile("ok", daemon.definition(name: "ok", image: ok))])
        #expect(completed.status == 0, "\(completed.stderr)")
        #expect(completed.stdout.contains("arn:aws:sagemaker:local:000000000000:training-job/ok"))
        #expect(completed.stdout.contains("Completed"))
        let failed = try daemon.jobctl(["submit", "--wait", try daemon.definitionFile("bad", daemon.definition(name: "bad", image: bad))])
        #expect(failed.status == 1)
        #expect(failed.stdout.contains("AlgorithmError: the algorithm wrote no /opt/ml/output/failure, exit code: 4"))
        let stopped = try daemon.jobctl(["submit", "--wait", try daemon.definitionFile("slow", daemon.definition(name: "slow", image: slow, maxRuntime: 1))])
        #expect(stopped.status == 3)
        #expect(stopped.stdout.contains("MaxRuntimeExceeded"))
    }

    @Test("stop, wait, describe, list, delete")
    func lifecycle() throws {
        let daemon = try DaemonHarness(gracePeriod: 1)
        try daemon.start()
        let slow = try daemon.script("slow.sh", "trap 'echo saved > /opt/ml/model/m; exit 0' TERM; while true; do sleep 0.1; done")
        #expect(try daemon.jobctl(["submit", try daemon.definitionFile("long", daemon.definition(name: "long", image: slow))]).status == 0)
        try daemon.waitFor("training", timeout: 10) { (try? daemon.job("long"))?.secondaryStatus == .training }
        #expect(try daemon.jobctl(["stop", "long"]).status == 0)
        #expect(try daemon.jobctl(["wait", "long"]).status == 3)
        let described = try daemon.jobctl(["describe", "long"])
        #expect(described.stdout.contains("Stopped / Stopped"))
        #expect(described.stdout.contains("History:"))
        let json = try StrictJSONParser.parse(Array(try daemon.jobctl(["describe", "long", "--json"]).stdout.utf8))
        #expect(json["TrainingJobStatus"] == "Stopped")
        #expect(json["ModelArtifacts"]?["S3ModelArtifacts"]?.stringValue == "file://\(daemon.root)/output/long/output/model.tar.gz")
        #expect(json["SecondaryStatusTransitions"]?.arrayValue?.map { $0["Status"]?.stringValue ?? "" } == ["Pending", "Starting", "Training", "Stopping", "Uploading", "Stopped"])
        let listed = try daemon.jobctl(["list"])
        #expect(listed.stdout.split(separator: "\n").count == 2)
        #expect(listed.stdout.split(separator: "\n").allSatisfy { $0.count <= 80 })
        #expect(try daemon.jobctl(["delete", "long"]).status == 0)
        let gone = try daemon.jobctl(["describe", "long"])
        #expect(gone.status == 5)
        #expect(gone.stderr.contains("ValidationException: Requested resource not found."))
        #expect(FileManager.default.fileExists(atPath: daemon.root + "/output/long/output/model.tar.gz"), "artifacts stay")
    }

    @Test("logs, and logs --follow sees lines written after it started")
    func logs() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let talker = try daemon.script("talker.sh", "echo first; sleep 1.5; echo second; echo oops >&2")
        #expect(try daemon.jobctl(["submit", try daemon.definitionFile("talker", daemon.definition(name: "talker", image: talker))]).status == 0)
        try daemon.waitFor("the first line", timeout: 10) { daemon.log("talker").contains("first") }
        #expect(!daemon.log("talker").contains("second"))
        let followed = try daemon.jobctl(["logs", "--follow", "talker"])
        #expect(followed.status == 0)
        let lines = followed.stdout.split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines.last?.hasSuffix(" err oops") == true)
        #expect(lines.contains { $0.hasSuffix(" out second") })
        #expect(try daemon.jobctl(["logs", "talker"]).stdout == followed.stdout)
        #expect(try daemon.jobctl(["logs", "talker", "--host", "algo-7"]).stderr.contains("has no host algo-7"))
    }

    @Test("every error type, each with its __type")
    func errors() throws {
        let daemon = try DaemonHarness(config: "[control]\nsocket_group = \"nogroup\"")
        try daemon.start()
        let ok = try daemon.script("ok.sh", "exit 0")
        let file = try daemon.definitionFile("dup", daemon.definition(name: "dup", image: ok))
        #expect(try daemon.jobctl(["submit", "--wait", file]).status == 0)
        let duplicate = try daemon.jobctl(["submit", file])
        #expect(duplicate.status == 5)
        #expect(duplicate.stderr.contains("ResourceInUse"))
        #expect(try daemon.jobctl(["stop", "dup"]).stderr.contains("ValidationException: The training job dup is Completed: it has ended, so there is nothing to stop"))
        #expect(try daemon.jobctl(["describe", "nothing"]).stderr.contains("Requested resource not found."))
        let invalid = try daemon.jobctl(["submit", try daemon.definitionFile("inv", daemon.definition(name: "inv", image: ok).setting("ResourceConfig.InstanceCount", 0))])
        #expect(invalid.status == 1)
        #expect(invalid.stderr.contains("Value '0' at 'resourceConfig.instanceCount'"))

        func curl(_ target: String, _ arguments: [String]) throws -> String {
            try runCommand(["/usr/bin/curl", "-s", "--unix-socket", daemon.socket, "http://localhost/", "-H", "X-Amz-Target: \(target)"] + arguments).stdout
        }
        #expect(try curl("SageMaker.DescribeTrainingJob", ["-d", "{not json"]).contains("\"__type\":\"SerializationException\""))
        #expect(try curl("SageMaker.Nothing", ["-d", "{}"]).contains("\"__type\":\"UnknownOperationException\""))
        let big = daemon.root + "/big.json"
        try String(repeating: " ", count: 5 * 1024 * 1024).write(toFile: big, atomically: true, encoding: .utf8)
        #expect(try curl("SageMaker.CreateTrainingJob", ["--data-binary", "@" + big]).contains("larger than"))

        // A second local user may describe, but not stop or delete, root's jobs.
        let nobody = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        #expect(try daemon.jobctl(["describe", "dup"], prefix: nobody).status == 0)
        let denied = try daemon.jobctl(["delete", "dup"], prefix: nobody)
        #expect(denied.status == 5)
        #expect(denied.stderr.contains("AccessDeniedException: You (uid 65534) may not delete training job dup: it belongs to uid 0"))
        // Nor drain the daemon, which interrupts everyone's jobs.
        let drain = try daemon.jobctl(["drain"], prefix: nobody)
        #expect(drain.status == 5)
        #expect(drain.stderr.contains("AccessDeniedException: You (uid 65534) may not drain trainingd"))
        #expect(try daemon.jobctl(["list"]).status == 0)
    }

    @Test("a missing daemon is one line that says what was tried, exit 4")
    func unreachable() throws {
        let result = try runCommand([DaemonHarness.products + "/jobctl", "list", "--socket", "/nonexistent/control.sock"])
        #expect(result.status == 4)
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(result.stderr.contains("cannot connect to trainingd at /nonexistent/control.sock"))
    }

    @Test("pagination over 250 jobs, every sort order, nothing missed or repeated")
    func pagination() throws {
        let daemon = try DaemonHarness()
        try FileManager.default.createDirectory(atPath: daemon.root + "/state", withIntermediateDirectories: true)
        let store = try daemon.store()
        let statuses: [[JobLifecycle.Event]] = [[.start, .train, .upload, .finish(exitCode: 0)], [.start, .train, .fail], [.stopRequested, .finish(exitCode: nil)]]
        for index in 0..<250 {
            let name = String(format: "job-%03d", (index * 7) % 250)
            let text = daemon.definition(name: name, image: "/bin/true").serialized()
            let definition = try DefinitionValidator().validate(Array(text.utf8)).get()
            let record = try store.recordSubmission(JobSubmission(definition: definition, arn: "arn:\(name)", owner: JobOwner(uid: 0, gid: 0), submittedAt: 1_000 + Double(index)))
            var lifecycle = record.lifecycle
            for event in statuses[index % 3] {
                try lifecycle.apply(event)
                try store.recordTransition(job: record.id, to: lifecycle, message: "", at: 2_000 + Double(index))
            }
        }
        try daemon.start()
        for sortBy in ["Name", "CreationTime", "Status"] {
            for order in ["Ascending", "Descending"] {
                let listed = try daemon.jobctl(["list", "--json", "--sort-by", sortBy, "--sort-order", order])
                let summaries = try StrictJSONParser.parse(Array(listed.stdout.utf8)).arrayValue ?? []
                let names = summaries.compactMap { $0["TrainingJobName"]?.stringValue }
                #expect(names.count == 250 && Set(names).count == 250, "\(sortBy) \(order)")
                let keys: [String] = summaries.map { summary in
                    switch sortBy {
                    case "Name": return summary["TrainingJobName"]?.stringValue ?? ""
                    case "Status": return summary["TrainingJobStatus"]?.stringValue ?? ""
                    default: return String(format: "%012.3f", (summary["CreationTime"].flatMap { if case .double(let d) = $0 { d } else { nil } }) ?? 0)
                    }
                }
                #expect(keys == (order == "Ascending" ? keys.sorted() : keys.sorted(by: >)), "\(sortBy) \(order)")
            }
        }
        // Small pages through the API, while jobs are being created: every old job exactly once.
        let client = ControlClient(socketPath: daemon.socket)
        var seen: [String] = []
        var token: JSONValue? = nil
        let image = try daemon.script("ok.sh", "exit 0")
        repeat {
            var request: JSONValue = ["MaxResults": 7, "SortBy": "CreationTime", "SortOrder": "Ascending"]
            if let token { request = request.setting("NextToken", token) }
            let page = try client.call(.listTrainingJobs, request)
            seen += (page["TrainingJobSummaries"]?.arrayValue ?? []).compactMap { $0["TrainingJobName"]?.stringValue }
            token = page["NextToken"]
            if seen.count == 70 { try daemon.submit(daemon.definition(name: "newcomer", image: image), as: "newcomer.json") }
        } while token != nil
        let old = seen.filter { $0.hasPrefix("job-") }
        #expect(old.count == 250 && Set(old).count == 250)
    }
}

@Suite("jobctl events and metrics", .serialized)
struct ObserveEndToEndTests {
    @Test("events NAME follows one job to its end; metrics gives the time series")
    func eventsAndMetrics() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let image = try daemon.script("metric.sh", "for i in 1 2 3; do echo \"loss=0.$i\"; sleep 0.3; done")
        let definition = daemon.definition(name: "watched", image: image)
            .setting("AlgorithmSpecification.MetricDefinitions", [["Name": "loss", "Regex": "loss=([0-9.]+)"]])
        #expect(try daemon.jobctl(["submit", try daemon.definitionFile("watched", definition)]).status == 0)
        let events = try daemon.jobctl(["events", "watched", "--json"])
        #expect(events.status == 0)
        let statuses = events.stdout.split(separator: "\n").compactMap { try? StrictJSONParser.parse(Array($0.utf8))["SecondaryStatus"]?.stringValue }
        // The stream starts with the job's state when it was opened, then each change, in the lifecycle's order.
        let lifecycle = ["Pending", "Starting", "Training", "Uploading", "Completed"]
        #expect(statuses.last == "Completed")
        #expect(statuses.compactMap { lifecycle.firstIndex(of: $0) } == Array(lifecycle.indices.suffix(statuses.count)), "\(statuses)")
        let metrics = try StrictJSONParser.parse(Array(try daemon.jobctl(["metrics", "watched", "--json"]).stdout.utf8))
        let values = metrics["Metrics"]?.arrayValue?.first?["Values"]?.arrayValue?.compactMap { value -> Double? in
            if case .double(let number)? = value["Value"] { return number }
            return nil
        }
        #expect(values == [0.1, 0.2, 0.3])
        #expect(try daemon.jobctl(["describe", "watched"]).stdout.contains("Metric:        loss = 0.3"))
    }

    @Test("events without a name sees every job's changes")
    func allEvents() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let client = ControlClient(socketPath: daemon.socket)
        let image = try daemon.script("ok.sh", "exit 0")
        let seen = LockedBox<[String]>([])
        let watcher = Thread {
            try? client.stream(.watchEvents, .object([])) { line in
                let event = try? StrictJSONParser.parse(Array(line.utf8))
                seen.with { $0.append("\(event?["TrainingJobName"]?.stringValue ?? "") \(event?["SecondaryStatus"]?.stringValue ?? "")") }
                return !(line.contains("\"b\"") && line.contains("\"Completed\""))
            }
        }
        watcher.start()
        usleep(300_000)
        for name in ["a", "b"] {
            try daemon.submit(daemon.definition(name: name, image: image), as: name + ".json")
            try daemon.waitForEnd(name)
        }
        try daemon.waitFor("the events", timeout: 5) { seen.with { $0.contains("b Completed") } }
        #expect(seen.with { $0.contains("a Completed") })
    }
}

/// A value shared between a test and a thread it started.
final class LockedBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Value

    init(_ value: Value) {
        stored = value
    }

    func with<Result>(_ body: (inout Value) -> Result) -> Result {
        lock.withLock { body(&stored) }
    }
}

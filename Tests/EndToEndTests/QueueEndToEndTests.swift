import Foundation
import Testing
import TrainingCore
import TrainingStore

/// The scheduler through the real daemon: capacity in CPUs and memory (ml.m5.large, mapped exactly:
/// 2 vCPUs and 8 GiB a host), fair share between owners, priority, per-user limits,
/// MaxPendingTimeInSeconds and the refusal of what can never fit.
@Suite("The queue: capacity, fair share, priority, limits")
struct QueueEndToEndTests {
    /// Room for two ml.m5.large hosts at once; slots to spare.
    static let twoHosts = """
        max_concurrent = 16
        [capacity]
        cpus = 4
        memory = "64GiB"
        """

    /// A job that appends "start NAME" and "end NAME" to `<root>/trace`, and in between waits for
    /// `<root>/release-NAME` when `held` (at most 60 s).
    static func job(_ daemon: DaemonHarness, _ name: String, held: Bool = false, tags: [(String, String)] = []) throws -> JSONValue {
        let script = try daemon.script("traced.sh", """
            echo "start $TRAINING_JOB_NAME" >> "\(daemon.root)/trace"
            if [ "$HELD" = yes ]; then
                i=0; while [ ! -e "\(daemon.root)/release-$TRAINING_JOB_NAME" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
            else
                sleep 0.2
            fi
            echo "end $TRAINING_JOB_NAME" >> "\(daemon.root)/trace"
            """)
        var definition = daemon.definition(name: name, image: script).setting("Environment", ["HELD": .string(held ? "yes" : "no")])
        if !tags.isEmpty {
            definition = definition.setting("Tags", .array(tags.map { ["Key": .string($0.0), "Value": .string($0.1)] }))
        }
        return definition
    }

    static func release(_ daemon: DaemonHarness, _ name: String) {
        FileManager.default.createFile(atPath: daemon.root + "/release-" + name, contents: nil)
    }

    static func trace(_ daemon: DaemonHarness) -> [String] {
        ((try? String(contentsOfFile: daemon.root + "/trace", encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// The most jobs the trace shows running at once.
    static func mostAtOnce(_ trace: [String]) -> Int {
        var running = 0, most = 0
        for line in trace {
            running += line.hasPrefix("start ") ? 1 : -1
            most = max(most, running)
        }
        return most
    }

    static func started(_ daemon: DaemonHarness) -> [String] {
        trace(daemon).filter { $0.hasPrefix("start ") }.map { String($0.dropFirst(6)) }
    }

    static func waitUntilAccepted(_ daemon: DaemonHarness, _ names: [String]) throws {
        try daemon.waitFor("\(names.count) jobs to be accepted", timeout: 20) { try names.allSatisfy { try daemon.job($0) != nil } }
    }

    @Test("5 jobs on a capacity of 2 hosts: at most 2 run at once, and all complete, in submission order")
    func capacityOfTwo() throws {
        let daemon = try DaemonHarness(config: Self.twoHosts)
        try daemon.start()
        let names = (1...5).map { "cap-\($0)" }
        // One at a time, so that submission order is the spool's order too.
        for name in names {
            try daemon.submit(Self.job(daemon, name), as: name + ".json")
            try Self.waitUntilAccepted(daemon, [name])
        }
        for name in names { #expect(try daemon.waitForEnd(name).lifecycle.status == .completed) }
        let trace = Self.trace(daemon)
        #expect(Self.mostAtOnce(trace) == 2, "\(trace)")
        #expect(Self.started(daemon) == names, "\(trace)")
    }

    @Test("fair share: one owner has 20 jobs queued, the other's job starts next")
    func fairShare() throws {
        let daemon = try DaemonHarness(config: Self.twoHosts)
        try FileManager.default.createDirectory(atPath: daemon.root + "/output", withIntermediateDirectories: true)
        chmod(daemon.root + "/output", 0o1777)
        FileManager.default.createFile(atPath: daemon.root + "/trace", contents: nil)
        chmod(daemon.root + "/trace", 0o666)
        try daemon.start()
        // Root's job holds one host's room; nobody's first job the other.
        try daemon.submit(Self.job(daemon, "blocker", held: true), as: "blocker.json")
        try daemon.waitFor("the blocker to start", timeout: 20) { Self.started(daemon) == ["blocker"] }
        let many = (1...20).map { "nobody-\($0)" }
        try daemon.submit(Self.job(daemon, many[0], held: true), as: many[0] + ".json", owner: 65534)
        try daemon.waitFor("nobody's first job to start", timeout: 20) { Self.started(daemon).count == 2 }
        for name in many.dropFirst() { try daemon.submit(Self.job(daemon, name), as: name + ".json", owner: 65534) }
        try Self.waitUntilAccepted(daemon, many)
        try daemon.submit(Self.job(daemon, "daemon-1"), as: "daemon-1.json", owner: 1)
        try Self.waitUntilAccepted(daemon, ["daemon-1"])
        // The blocker ends: nobody already runs a job and uid 1 none, so uid 1's starts first.
        Self.release(daemon, "blocker")
        #expect(try daemon.waitForEnd("daemon-1").lifecycle.status == .completed)
        #expect(Array(Self.started(daemon).prefix(3)) == ["blocker", "nobody-1", "daemon-1"], "\(Self.trace(daemon))")
        Self.release(daemon, "nobody-1")
        for name in many { #expect(try daemon.waitForEnd(name).lifecycle.status == .completed) }
        #expect(Array(Self.started(daemon).dropFirst(3)) == Array(many.dropFirst()), "nobody's own jobs keep their order")
    }

    @Test("priority: an administrator's raised job goes first; a user may not raise one; max_queued_per_user refuses one more")
    func priorityAndLimits() throws {
        let daemon = try DaemonHarness(config: """
            max_concurrent = 16
            [queue]
            max_queued_per_user = 3
            [capacity]
            cpus = 2
            memory = "64GiB"
            """)
        try daemon.start()
        try daemon.submit(Self.job(daemon, "holder", held: true), as: "holder.json")
        try daemon.waitFor("the holder to start", timeout: 20) { Self.started(daemon) == ["holder"] }
        try daemon.submit(Self.job(daemon, "plain"), as: "plain.json")
        try Self.waitUntilAccepted(daemon, ["plain"])
        try daemon.submit(Self.job(daemon, "urgent", tags: [("trainingd:priority", "10")]), as: "urgent.json")
        try daemon.submit(Self.job(daemon, "background", tags: [("trainingd:priority", "-10")]), as: "background.json")
        try Self.waitUntilAccepted(daemon, ["urgent", "background"])
        // Root has 3 waiting: a fourth is one too many.
        try daemon.submit(Self.job(daemon, "fourth"), as: "fourth.json")
        try daemon.waitFor("the fourth to be refused", timeout: 10) { FileManager.default.fileExists(atPath: daemon.root + "/spool/rejected/fourth.json.error.json") }
        let limit = try String(contentsOfFile: daemon.root + "/spool/rejected/fourth.json.error.json", encoding: .utf8)
        #expect(limit.contains("ResourceLimitExceeded") && limit.contains("max_queued_per_user"), "\(limit)")
        // A user who is no administrator may lower a priority, not raise it.
        try daemon.submit(Self.job(daemon, "mine-first", tags: [("trainingd:priority", "1")]), as: "mine-first.json", owner: 65534)
        try daemon.waitFor("the raised job to be refused", timeout: 10) { FileManager.default.fileExists(atPath: daemon.root + "/spool/rejected/mine-first.json.error.json") }
        let denied = try String(contentsOfFile: daemon.root + "/spool/rejected/mine-first.json.error.json", encoding: .utf8)
        #expect(denied.contains("AccessDeniedException") && denied.contains("trainingd:priority"), "\(denied)")
        try daemon.submit(Self.job(daemon, "not-a-number", tags: [("trainingd:priority", "high")]), as: "not-a-number.json")
        try daemon.waitFor("the bad priority to be refused", timeout: 10) { FileManager.default.fileExists(atPath: daemon.root + "/spool/rejected/not-a-number.json.error.json") }

        Self.release(daemon, "holder")
        for name in ["urgent", "plain", "background"] { #expect(try daemon.waitForEnd(name).lifecycle.status == .completed) }
        #expect(Self.started(daemon) == ["holder", "urgent", "plain", "background"], "\(Self.trace(daemon))")
    }

    @Test("MaxPendingTimeInSeconds stops a job that waited that long for capacity")
    func maxPendingTime() throws {
        let daemon = try DaemonHarness(config: """
            max_concurrent = 16
            [capacity]
            cpus = 2
            memory = "64GiB"
            """)
        // 1800 s, the smallest limit, counts as 1.8 s here.
        try daemon.start(environment: ["TRAININGD_TEST_HOOKS": "pending-time-scale:0.001"])
        try daemon.submit(Self.job(daemon, "holder", held: true), as: "holder.json")
        try daemon.waitFor("the holder to start", timeout: 20) { Self.started(daemon) == ["holder"] }
        let waiting = try Self.job(daemon, "impatient").setting("StoppingCondition", ["MaxRuntimeInSeconds": 60, "MaxPendingTimeInSeconds": 1800])
        try daemon.submit(waiting, as: "impatient.json")
        let stopped = try daemon.waitForEnd("impatient", timeout: 20)
        #expect(stopped.lifecycle.status == .stopped)
        #expect(stopped.attemptHistory.isEmpty, "it never started")
        #expect(stopped.transitions.last?.statusMessage.contains("MaxPendingTimeInSeconds (1800 s) passed before capacity was free") == true,
                "\(stopped.transitions.map(\.statusMessage))")
        Self.release(daemon, "holder")
        #expect(try daemon.waitForEnd("holder").lifecycle.status == .completed)
    }

    @Test("a job that could never fit is refused at submission with ResourceLimitExceeded naming the resource")
    func neverFits() throws {
        let daemon = try DaemonHarness(config: """
            [capacity]
            cpus = 2
            memory = "12GiB"
            """)
        try daemon.start()
        let script = try daemon.script("true.sh", "true")
        let cases: [(String, JSONValue, String)] = [
            ("cpus", ["InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 1], "needs 4 CPUs"),
            ("memory", ["InstanceType": "ml.r5.large", "InstanceCount": 1, "VolumeSizeInGB": 1], "needs 16 GiB of memory"),
            ("hosts", ["InstanceType": "ml.m5.large", "InstanceCount": 2, "VolumeSizeInGB": 1], "The job's 2 instances need 4 CPUs"),
        ]
        for (name, resources, _) in cases {
            try daemon.submit(daemon.definition(name: name, image: script).setting("ResourceConfig", resources), as: name + ".json")
        }
        for (name, _, expected) in cases {
            let path = daemon.root + "/spool/rejected/\(name).json.error.json"
            try daemon.waitFor("\(name) to be refused", timeout: 10) { FileManager.default.fileExists(atPath: path) }
            let report = try String(contentsOfFile: path, encoding: .utf8)
            #expect(report.contains("ResourceLimitExceeded") && report.contains(expected) && report.contains("instance_scale"), "\(name): \(report)")
        }
        // What fits runs: one ml.m5.large is 2 CPUs and 8 GiB.
        try daemon.submit(daemon.definition(name: "fits", image: script), as: "fits.json")
        #expect(try daemon.waitForEnd("fits").lifecycle.status == .completed)
    }
}

import Foundation
import Testing
import TrainingCore
import TrainingStore

/// Interruptions (not the job's fault: it resumes, and uses no retry) and retries (a platform
/// fault: counted against RetryStrategy, with backoff), recorded per attempt.
@Suite("interruptions and retries")
struct InterruptionEndToEndTests {
    static let example = SpoolEndToEndTests.repository + "/examples/linear-regression"

    /// The example algorithm: checkpoints every epoch, saves on SIGTERM, resumes from its checkpoint.
    static func exampleDefinition(_ daemon: DaemonHarness, name: String, epochs: Int, epochSeconds: Double) -> JSONValue {
        daemon.definition(name: name, image: Self.example + "/train.py")
            .setting("HyperParameters", ["epochs": .string(String(epochs)), "learning_rate": "0.1", "epoch_seconds": .string(String(epochSeconds))])
            .setting("InputDataConfig", [["ChannelName": "train", "DataSource": ["S3DataSource": [
                "S3DataType": "S3Prefix", "S3Uri": .string("file://\(Self.example)/data/train/")]]]])
            .setting("CheckpointConfig.S3Uri", .string("file://\(daemon.root)/checkpoints/\(name)/"))
    }

    /// The epoch numbers the algorithm printed, in order, across all its runs.
    static func epochs(in log: String) -> [Int] {
        log.split(separator: "\n").compactMap { line in
            line.range(of: "epoch=").flatMap { Int(line[$0.upperBound...].prefix { $0.isNumber }) }
        }
    }

    @Test("jobctl interrupt: SIGTERM, checkpoints synced, Interrupted, then the job resumes from its last epoch")
    func interruptThenResume() throws {
        let daemon = try DaemonHarness(gracePeriod: 5)
        try daemon.start()
        try daemon.submit(Self.exampleDefinition(daemon, name: "spot", epochs: 8, epochSeconds: 0.2), as: "spot.json")
        try daemon.waitFor("epoch 3", timeout: 30) { Self.epochs(in: daemon.log("spot")).contains(3) }
        let interrupted = try daemon.jobctl(["interrupt", "spot"])
        #expect(interrupted.status == 0, "\(interrupted.stderr)")
        let job = try daemon.waitForEnd("spot", timeout: 60)
        #expect(job.lifecycle.status == .completed, "\(job.failureReason ?? "")")

        let log = daemon.log("spot")
        let saved = try #require(log.range(of: "SIGTERM: saving the model at epoch ").map { Int(log[$0.upperBound...].prefix { $0.isNumber }) } ?? nil, "\(log)")
        #expect(log.contains("resuming from epoch \(saved)"), "\(log)")
        // Every epoch ran exactly once: the second run picked up right after the last one saved.
        #expect(Self.epochs(in: log) == Array(1...8), "\(Self.epochs(in: log))")
        #expect(job.attemptHistory.map(\.outcome) == [.interrupted, .completed])
        #expect(job.retries == 0)
        let statuses = job.transitions.map(\.status)
        #expect(statuses.firstIndex(of: .interrupted).map { statuses[($0 + 1)...].first } == .starting, "\(statuses)")
        let described = try daemon.jobctl(["describe", "spot", "--json"])
        let answer = try StrictJSONParser.parse(Array(described.stdout.utf8))
        #expect(answer["TrainingdAttempts"]?.arrayValue?.compactMap { $0["Outcome"]?.stringValue } == ["Interrupted", "Completed"])
    }

    @Test("checkpoints are synced while the job runs; one truncated by a SIGKILL mid-write is not restored as complete")
    func truncatedCheckpointIsNotRestored() throws {
        let daemon = try DaemonHarness(gracePeriod: 1)
        try daemon.start()
        let remote = daemon.root + "/checkpoints/trunc"
        let image = try daemon.script("trunc.sh", """
            ck=/opt/ml/checkpoints/state.ckpt
            if [ -f $ck ]; then echo "restored: $(cat $ck)"; exit 0; fi
            echo "epoch 1 complete" > $ck
            while [ "$(cat \(remote)/state.ckpt 2>/dev/null)" != "epoch 1 complete" ]; do sleep 0.05; done
            echo "synced while running"
            trap '' TERM
            exec 3> $ck
            printf 'epoch 2 hal' >&3
            echo "writing epoch 2"
            while true; do sleep 0.1; done
            """)
        try daemon.submit(daemon.definition(name: "trunc", image: image).setting("CheckpointConfig.S3Uri", .string("file://\(remote)/")), as: "trunc.json")
        try daemon.waitFor("the second write", timeout: 20) { daemon.log("trunc").contains("writing epoch 2") }
        #expect(try daemon.jobctl(["interrupt", "trunc"]).status == 0)
        let job = try daemon.waitForEnd("trunc", timeout: 30)
        #expect(job.lifecycle.status == .completed)
        let log = daemon.log("trunc")
        #expect(log.contains("synced while running"))
        #expect(log.contains("restored: epoch 1 complete"), "\(log)")
        #expect(try String(contentsOfFile: remote + "/state.ckpt", encoding: .utf8) == "epoch 1 complete\n")
        #expect(job.attemptHistory.map(\.outcome) == [.interrupted, .completed])
    }

    @Test("a staging fault is retried with backoff and counts against MaximumRetryAttempts; too many fail the job")
    func retryAfterStagingFault() throws {
        let daemon = try DaemonHarness()
        try daemon.start(environment: ["TRAININGD_TEST_HOOKS": "stage-fault:flaky:1,stage-fault:broken:5"])
        let image = try daemon.script("ok.sh", "echo trained; exit 0")
        let data = daemon.root + "/data/"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try "1,2\n".write(toFile: data + "rows.csv", atomically: true, encoding: .utf8)
        func definition(_ name: String) -> JSONValue {
            daemon.definition(name: name, image: image)
                .setting("InputDataConfig", [["ChannelName": "train", "DataSource": ["S3DataSource": [
                    "S3DataType": "S3Prefix", "S3Uri": .string("file://\(data)")]]]])
                .setting("RetryStrategy.MaximumRetryAttempts", 2)
        }
        try daemon.submit(definition("flaky"), as: "flaky.json")
        try daemon.submit(definition("broken"), as: "broken.json")

        let flaky = try daemon.waitForEnd("flaky", timeout: 30)
        #expect(flaky.lifecycle.status == .completed, "\(flaky.failureReason ?? "")")
        #expect(flaky.attemptHistory.map(\.outcome) == [.retried, .completed])
        #expect(flaky.attemptHistory.first?.reason?.contains("injected staging fault") == true)
        #expect(flaky.transitions.map(\.status).contains(.restarting))
        // The backoff before the first retry is a second.
        #expect(flaky.attemptHistory[1].startedAt - (flaky.attemptHistory[0].endedAt ?? 0) >= 0.9)

        let broken = try daemon.waitForEnd("broken", timeout: 30)
        #expect(broken.lifecycle.status == .failed)
        #expect(broken.attemptHistory.map(\.outcome) == [.retried, .retried, .failed])
        #expect(broken.failureReason?.hasPrefix("InternalServerError: injected staging fault") == true, "\(broken.failureReason ?? "")")
    }

    @Test("a stop asked for while an interruption runs ends the job Stopped instead of restarting it")
    func stopDuringInterruption() throws {
        let daemon = try DaemonHarness(gracePeriod: 2)
        try daemon.start()
        let image = try daemon.script("stubborn.sh", "trap '' TERM\necho started\nwhile true; do sleep 0.05; done")
        try daemon.submit(daemon.definition(name: "both", image: image), as: "both.json")
        try daemon.waitFor("the algorithm to start", timeout: 20) { daemon.log("both").contains("started") }
        #expect(try daemon.jobctl(["interrupt", "both"]).status == 0)
        #expect(try daemon.jobctl(["stop", "both"]).status == 0)
        let job = try daemon.waitForEnd("both", timeout: 30)
        #expect(job.lifecycle.status == .stopped)
        #expect(job.attemptHistory.count == 1)
        #expect(daemon.log("both").components(separatedBy: "started").count == 2, "it never started again")
    }

    @Test("an AlgorithmError is never retried")
    func algorithmErrorIsNotRetried() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let image = try daemon.script("bad.sh", "exit 4")
        try daemon.submit(daemon.definition(name: "bad", image: image).setting("RetryStrategy.MaximumRetryAttempts", 3), as: "bad.json")
        let job = try daemon.waitForEnd("bad", timeout: 30)
        #expect(job.lifecycle.status == .failed)
        #expect(job.attemptHistory.map(\.outcome) == [.failed])
    }

    @Test("managed spot: a job interrupted past MaxWaitTimeInSeconds ends MaxWaitTimeExceeded; billable time is only time run")
    func maxWaitTimeExceeded() throws {
        let daemon = try DaemonHarness(gracePeriod: 1)
        try daemon.start()
        let image = try daemon.script("long.sh", "trap 'exit 0' TERM\necho training\nwhile true; do sleep 0.1; done")
        let definition = daemon.definition(name: "spotty", image: image, maxRuntime: 3)
            .setting("EnableManagedSpotTraining", true)
            .setting("StoppingCondition.MaxWaitTimeInSeconds", 4)
        try daemon.submit(definition, as: "spotty.json")
        try daemon.waitFor("training", timeout: 20) { daemon.log("spotty").contains("training") }
        Thread.sleep(forTimeInterval: 1)
        // The capacity comes back only after the wait has run out: the job never starts again.
        #expect(try daemon.jobctl(["interrupt", "spotty", "--capacity-returns-after", "60"]).status == 0)
        try daemon.waitFor("the interruption", timeout: 20) { try daemon.job("spotty")?.lifecycle.secondary == .interrupted }
        let job = try daemon.waitForEnd("spotty", timeout: 30)
        #expect(job.lifecycle.status == .stopped)
        #expect(job.lifecycle.secondary == .maxWaitTimeExceeded, "\(job.transitions.map(\.status))")
        #expect(job.attemptHistory.map(\.outcome) == [.interrupted])
        let wall = (job.transitions.last?.startTime ?? 0) - (job.firstStartedAt ?? 0)
        #expect(Double(job.billableSeconds ?? 0) < wall, "billable \(job.billableSeconds ?? -1) s of \(wall) s")
    }
}

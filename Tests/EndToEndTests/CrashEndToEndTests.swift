import Foundation
import Testing
import TrainingCore
import TrainingStore

/// The daemon killed (SIGKILL) at named points of jobs' lives, again and again, over 50 jobs:
/// after the last restart every job has the right outcome, no algorithm ran more often than
/// its recorded attempts, every artifact is whole, the database is sound, the spool exact.
@Suite("crash recovery")
struct CrashEndToEndTests {
    enum Kind: CaseIterable {
        case completes, fails, exceedsMaxRuntime

        var expected: (TrainingJobStatus, SecondaryStatus) {
            switch self {
            case .completes: return (.completed, .completed)
            case .fails: return (.failed, .failed)
            case .exceedsMaxRuntime: return (.stopped, .maxRuntimeExceeded)
            }
        }
    }

    static func kind(_ index: Int) -> Kind { index % 5 == 3 ? .fails : index % 5 == 4 ? .exceedsMaxRuntime : .completes }

    @Test("SIGKILL at staging, training, the grace window, packaging and publishing, over 50 jobs")
    func crashesAcrossJobLives() throws {
        let daemon = try DaemonHarness(config: "max_concurrent = 4", gracePeriod: 1, onDaemonStop: "keep_running")
        try FileManager.default.createDirectory(atPath: daemon.root + "/spool/incoming", withIntermediateDirectories: true)
        let data = daemon.root + "/data/"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try "1,2\n3,4\n".write(toFile: data + "rows.csv", atomically: true, encoding: .utf8)
        let images: [Kind: String] = [
            .completes: try daemon.script("completes.sh", "echo started\nsleep 0.3\necho weights > /opt/ml/model/w.txt\nexit 0"),
            .fails: try daemon.script("fails.sh", "echo started\nsleep 0.3\necho weights > /opt/ml/model/w.txt\necho bad input > /opt/ml/output/failure\nexit 3"),
            .exceedsMaxRuntime: try daemon.script("endless.sh", "trap '' TERM\necho started\necho weights > /opt/ml/model/w.txt\nwhile true; do sleep 0.1; done"),
        ]
        let names = (0..<50).map { String(format: "crash%02d", $0) }
        for (index, name) in names.enumerated() {
            let kind = Self.kind(index)
            let definition = daemon.definition(name: name, image: images[kind]!, maxRuntime: kind == .exceedsMaxRuntime ? 1 : 60)
                .setting("InputDataConfig", [["ChannelName": "train", "DataSource": ["S3DataSource": [
                    "S3DataType": "S3Prefix", "S3Uri": .string("file://\(data)")]]]])
            try daemon.submit(definition, as: name + ".json")
        }

        func allEnded() throws -> Bool {
            guard FileManager.default.fileExists(atPath: daemon.root + "/state/trainingd.db") else { return false }
            return try daemon.store().listJobs(JobListQuery(maxResults: 100)).summaries.count == 50
                && names.allSatisfy { (try? daemon.job($0))?.lifecycle.status.isTerminal == true }
        }
        let points = ["staging", "training", "grace", "packaging", "publishing"]
        var crashes: [String: Int] = [:]
        for round in 0..<40 where try !allEnded() {
            let point = points[round % points.count]
            try daemon.start(environment: ["TRAININGD_TEST_HOOKS": "crash-at:\(point)"], waitForListening: false)
            if daemon.waitForExit(timeout: 10) != nil, daemon.process?.terminationReason == .uncaughtSignal {
                crashes[point, default: 0] += 1
            }
        }
        print("crash test: daemon killed at \(crashes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)x" }.joined(separator: ", "))")
        try daemon.start()
        try daemon.waitFor("every job to end", timeout: 120) { try allEnded() }
        daemon.stop()
        for point in points {
            #expect(crashes[point, default: 0] >= 2, "crashes per point: \(crashes)")
        }

        let store = try daemon.store()
        #expect(try store.integrityCheck() == ["ok"])
        for (index, name) in names.enumerated() {
            let job = try #require(try daemon.job(name))
            let (status, secondary) = Self.kind(index).expected
            #expect(job.lifecycle.status == status && job.lifecycle.secondary == secondary, "\(name): \(job.lifecycle) \(job.failureReason ?? "")")
            #expect(job.attemptHistory.count == job.attempts, "\(name)")
            let starts = daemon.log(name).components(separatedBy: " out started").count - 1
            #expect(starts >= 1 && starts <= job.attempts, "\(name): the algorithm started \(starts) times in \(job.attempts) attempts")
            let listing = daemon.archiveListing(daemon.root + "/output/\(name)/output/model.tar.gz")
            #expect(listing.contains("./w.txt"), "\(name): model.tar.gz is missing or not whole: \(listing)")
        }
        let accepted = try FileManager.default.contentsOfDirectory(atPath: daemon.root + "/spool/accepted").filter { $0.hasSuffix(".json") }
        #expect(accepted.sorted() == names.map { $0 + ".json" })
    }

    @Test("SIGKILL right after a no-data job's start, before its record is synced, its spool file moved or its CreateTrainingJob answered: each job runs once, is adopted and completes; the spool file ends in accepted/")
    func crashOnTheStartPath() throws {
        let daemon = try DaemonHarness(gracePeriod: 1, onDaemonStop: "keep_running")
        try FileManager.default.createDirectory(atPath: daemon.root + "/spool/incoming", withIntermediateDirectories: true)
        let image = try daemon.script("quick.sh", "echo started\nsleep 1\necho weights > /opt/ml/model/w.txt")
        // From the spool: intake, record (not synced yet) and start happen in one turn, then the kill.
        try daemon.submit(daemon.definition(name: "spooled", image: image), as: "spooled.json")
        try daemon.start(environment: ["TRAININGD_TEST_HOOKS": "crash-at:training"], waitForListening: false)
        #expect(daemon.waitForExit(timeout: 20) != nil && daemon.process?.terminationReason == .uncaughtSignal, "killed at training: \(daemon.stderr)")
        #expect(FileManager.default.fileExists(atPath: daemon.root + "/spool/.claimed/spooled.json"), "the file waits in .claimed/ for the sync")
        // Through the socket: the answer would have come after the sync; the kill comes first.
        try daemon.start(environment: ["TRAININGD_TEST_HOOKS": "crash-at:training"])
        let answer = try daemon.jobctl(["submit", try daemon.definitionFile("asked", daemon.definition(name: "asked", image: image))])
        #expect(answer.status != 0, "no answer from a daemon killed before it: \(answer)")
        _ = daemon.waitForExit(timeout: 20)

        try daemon.start()
        for name in ["spooled", "asked"] {
            let job = try daemon.waitForEnd(name)
            #expect(job.lifecycle.status == .completed, "\(name): \(job.lifecycle) \(job.failureReason ?? "")")
            #expect(job.attempts == 1, "\(name) was adopted, not started again: \(job.attempts) attempts")
            #expect(daemon.log(name).components(separatedBy: " out started").count - 1 == 1, "\(name) ran once: \(daemon.log(name))")
        }
        try daemon.waitFor("the spool file to be accepted", timeout: 10) {
            FileManager.default.fileExists(atPath: daemon.root + "/spool/accepted/spooled.json")
        }
        #expect(!FileManager.default.fileExists(atPath: daemon.root + "/spool/.claimed/spooled.json"))
        daemon.stop()
        #expect(try daemon.store().integrityCheck() == ["ok"])
    }
}

import Foundation
import Testing
import TrainingCore
import TrainingRuntime
import TrainingStore

/// Jobs outlive the daemon: a restart, or a crash, leaves them to their keepers, and the next
/// start adopts them (same processes, same deadlines, real exit codes).
@Suite("adoption across daemon restarts")
struct AdoptionEndToEndTests {
    /// An algorithm that waits for `<root>/go`, then saves a model and exits with `code`.
    func waitingAlgorithm(_ daemon: DaemonHarness, exitCode code: Int) throws -> String {
        try daemon.script("waiting.sh", """
            echo started
            while [ ! -e \(daemon.root)/go ]; do sleep 0.05; done
            echo trained > /opt/ml/model/weights.txt
            echo finished
            exit \(code)
            """)
    }

    func keeperPID(of job: String) -> pid_t? {
        KeeperDiscovery.keepers(token: "trainingd:\(job):algorithm:algo-1:", exact: false).first
    }

    /// Submits a job, waits for its algorithm to print "started", and returns its keeper's pid.
    func startJob(_ daemon: DaemonHarness, _ name: String, image: String) throws -> pid_t {
        try daemon.submit(daemon.definition(name: name, image: image), as: name + ".json")
        try daemon.waitFor("the algorithm to start", timeout: 20) { daemon.log(name).contains("started") }
        return try #require(keeperPID(of: name))
    }

    /// Kills the daemon as a crash would.
    func crash(_ daemon: DaemonHarness) {
        kill(daemon.process!.processIdentifier, SIGKILL)
        _ = daemon.waitForExit(timeout: 5)
    }

    @Test("a daemon stopped and started while a job trains leaves it untouched; it finishes with its exit code and artifacts")
    func restartKeepsJobRunning() throws {
        let daemon = try DaemonHarness(onDaemonStop: "keep_running")
        try daemon.start()
        let keeperBefore = try startJob(daemon, "survivor", image: try waitingAlgorithm(daemon, exitCode: 0))
        let statusPath = daemon.root + "/jobs/survivor/.work/algorithm-algo-1.status"
        let algorithmBefore = try #require(AlgorithmStart.read(statusPath: statusPath)?.algorithmPID)

        daemon.process!.terminate()
        #expect(daemon.waitForExit(timeout: 10) == 0)
        #expect(kill(keeperBefore, 0) == 0 && kill(algorithmBefore, 0) == 0, "the job's processes outlive the daemon")
        try daemon.start()
        #expect(daemon.stderr.contains("job survivor: adopted, 1 host still running"), "\(daemon.stderr)")
        #expect(keeperPID(of: "survivor") == keeperBefore)
        #expect(try daemon.job("survivor")?.lifecycle.secondary == .training)

        FileManager.default.createFile(atPath: daemon.root + "/go", contents: nil)
        let job = try daemon.waitForEnd("survivor", timeout: 30)
        #expect(job.lifecycle.status == .completed)
        #expect(job.exitCode == 0)
        #expect(!job.transitions.contains { $0.status == .interrupted })
        #expect(daemon.log("survivor").components(separatedBy: "started").count == 2, "the algorithm started once")
        #expect(daemon.archiveListing(daemon.root + "/output/survivor/output/model.tar.gz").contains("./weights.txt"))
    }

    @Test("an adopted job keeps its MaxRuntimeInSeconds deadline, counted from its recorded start, not from the restart")
    func deadlineContinues() throws {
        let daemon = try DaemonHarness(gracePeriod: 1, onDaemonStop: "keep_running")
        try daemon.start()
        let image = try daemon.script("endless.sh", "trap '' TERM\necho started\nwhile true; do sleep 0.05; done")
        try daemon.submit(daemon.definition(name: "deadline", image: image, maxRuntime: 4), as: "deadline.json")
        try daemon.waitFor("the algorithm to start", timeout: 20) { daemon.log("deadline").contains("started") }
        Thread.sleep(forTimeInterval: 2)
        daemon.process!.terminate()
        #expect(daemon.waitForExit(timeout: 10) == 0)
        try daemon.start()
        let job = try daemon.waitForEnd("deadline", timeout: 30)
        #expect(job.lifecycle.secondary == .maxRuntimeExceeded)
        let started = try #require(job.trainingStartTime)
        let stopping = try #require(job.transitions.first { $0.status == .stopping }?.startTime)
        // From zero after the restart, the stop would come at least 6 s after the start.
        #expect(stopping - started < 5.5, "stopped \(stopping - started) s after the training start")
        #expect(job.attemptHistory.count == 1)
    }

    @Test("a job that ends while the daemon is down (after a crash) is reported with its real exit code")
    func endsWhileDaemonIsDown() throws {
        let daemon = try DaemonHarness(onDaemonStop: "keep_running")
        try daemon.start()
        let keeper = try startJob(daemon, "orphan", image: try waitingAlgorithm(daemon, exitCode: 3))
        crash(daemon)

        FileManager.default.createFile(atPath: daemon.root + "/go", contents: nil)
        try daemon.waitFor("the keeper to finish", timeout: 20) { kill(keeper, 0) != 0 }
        try daemon.start()
        let job = try daemon.waitForEnd("orphan", timeout: 30)
        #expect(job.lifecycle.status == .failed)
        #expect(job.exitCode == 3)
        #expect(job.failureReason?.contains("exit code: 3") == true, "\(job.failureReason ?? "")")
        #expect(daemon.archiveListing(daemon.root + "/output/orphan/output/model.tar.gz").contains("./weights.txt"))
    }

    @Test("a SIGTERM from outside (a system shutdown) while the daemon is down is an interruption, not the job's end")
    func externalTerminationIsAnInterruption() throws {
        let daemon = try DaemonHarness(onDaemonStop: "keep_running")
        try daemon.start()
        let image = try daemon.script("polite.sh", """
            if [ -e \(daemon.root)/terminated ]; then echo "second run"; exit 0; fi
            trap 'touch \(daemon.root)/terminated; echo "saving"; exit 0' TERM
            echo started
            while true; do sleep 0.05; done
            """)
        let keeper = try startJob(daemon, "shutdown", image: image)
        daemon.process!.terminate()
        #expect(daemon.waitForExit(timeout: 10) == 0)
        kill(keeper, SIGTERM)  // as systemd's final kill at shutdown would
        try daemon.waitFor("the keeper to finish", timeout: 20) { kill(keeper, 0) != 0 }
        try daemon.start()
        let job = try daemon.waitForEnd("shutdown", timeout: 30)
        #expect(job.lifecycle.status == .completed)
        #expect(job.attemptHistory.map(\.outcome) == [.interrupted, .completed])
        #expect(daemon.log("shutdown").contains("second run"))
    }

    @Test("a job whose processes are gone when the daemon starts is interrupted and runs again")
    func lostJobIsInterrupted() throws {
        let daemon = try DaemonHarness(onDaemonStop: "keep_running")
        try daemon.start()
        let keeper = try startJob(daemon, "lost", image: try waitingAlgorithm(daemon, exitCode: 0))
        crash(daemon)
        // As a reboot would: the keeper dies without a word (and its algorithm with it).
        kill(keeper, SIGKILL)
        try daemon.waitFor("the keeper to die", timeout: 10) { kill(keeper, 0) != 0 }
        FileManager.default.createFile(atPath: daemon.root + "/go", contents: nil)
        try daemon.start()
        let job = try daemon.waitForEnd("lost", timeout: 30)
        #expect(job.lifecycle.status == .completed)
        let statuses = job.transitions.map(\.status)
        #expect(statuses.contains(.interrupted), "\(statuses)")
        #expect(job.attempts == 2)
    }
}

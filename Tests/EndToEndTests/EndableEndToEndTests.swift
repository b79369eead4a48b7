import Foundation
import Testing
import TrainingCore
import TrainingStore

/// Every job can always be ended: stops work in every step, an end the store cannot write is
/// retried until it can, and a job that nothing moves any more (a bug) is found and ended.
@Suite("Every job can always be ended", .enabled(if: getuid() == 0, "needs root"))
struct EndableEndToEndTests {
    @Test("a stop while staging is blocked (a FIFO in a manifest) or busy (a large copy) kills the worker and ends the job Stopped",
          arguments: ["blocked", "busy"])
    func stopDuringStaging(kind: String) throws {
        let daemon = try DaemonHarness(gracePeriod: 1)
        try daemon.start()
        let data = daemon.root + "/data"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let source: JSONValue
        if kind == "blocked" {
            #expect(mkfifo(data + "/stuck", 0o644) == 0)
            try "[{\"prefix\": \"file://\(data)/\"}, \"stuck\"]".write(toFile: daemon.root + "/manifest.json", atomically: false, encoding: .utf8)
            source = ["S3DataType": "ManifestFile", "S3Uri": .string("file://\(daemon.root)/manifest.json")]
        } else {
            // 2 GiB without blocks: copying it writes 2 GiB, which takes a while on any disk.
            let fd = open(data + "/large.bin", O_WRONLY | O_CREAT, 0o644)
            #expect(ftruncate(fd, 2 << 30) == 0)
            close(fd)
            source = ["S3DataType": "S3Prefix", "S3Uri": .string("file://\(data)/")]
        }
        let image = try daemon.script("never.sh", "echo the algorithm should not run; exit 1")
        // A volume the 2 GiB fit in (the volume is a file system of VolumeSizeInGB).
        try daemon.submit(daemon.definition(name: kind, image: image)
            .setting("ResourceConfig", ["InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 4])
            .setting("InputDataConfig", [["ChannelName": "train", "DataSource": ["S3DataSource": source]]]), as: kind + ".json")
        try daemon.waitFor("Downloading", timeout: 20) { (try daemon.job(kind))?.secondaryStatus == .downloading }
        usleep(300_000)
        let worker = try #require(DaemonHarness.processes(containing: "trainingd:\(kind):stage:algo-1").first, "the staging worker's keeper")
        let stopped = try daemon.jobctl(["stop", kind])
        #expect(stopped.status == 0, "\(stopped.stderr)")
        let job = try daemon.waitForEnd(kind, timeout: 20)
        #expect(job.lifecycle.status == .stopped && job.secondaryStatus == .stopped, "\(job.lifecycle)")
        #expect(kill(worker, 0) != 0, "the staging worker's keeper is gone")
        #expect(!daemon.log(kind).contains("should not run"))
    }

    @Test("a job whose algorithm's exit was lost, or that the supervisor forgot, is found by the sweep and failed; stop works meanwhile",
          arguments: ["ignore-exit", "forget-run"])
    func sweepEndsStuckJobs(hook: String) throws {
        let daemon = try DaemonHarness(config: "stuck_job_sweep_seconds = 2")
        try daemon.start(environment: ["TRAININGD_TEST_HOOKS": "\(hook):lost,\(hook):lost-stopped"])
        let image = try daemon.script("quick.sh", "exit 0")
        try daemon.submit(daemon.definition(name: "lost", image: image), as: "lost.json")
        let job = try daemon.waitForEnd("lost", timeout: 20)
        #expect(job.lifecycle.status == .failed, "\(job.lifecycle)")
        #expect(job.failureReason?.hasPrefix("InternalServerError: trainingd lost track of the job") == true, "\(job.failureReason ?? "")")
        #expect(daemon.stderr.contains("bug: job lost"))
        // A stuck job can be stopped before the sweep gets to it, and ends Stopped.
        try daemon.submit(daemon.definition(name: "lost-stopped", image: image), as: "lost-stopped.json")
        try daemon.waitFor("training", timeout: 20) { (try daemon.job("lost-stopped"))?.secondaryStatus == .training }
        let stopped = try daemon.jobctl(["stop", "lost-stopped"])
        #expect(stopped.status == 0, "\(stopped.stderr)")
        #expect(try daemon.waitForEnd("lost-stopped", timeout: 20).lifecycle.status == .stopped)
    }

    @Test("a full disk while the outcome is recorded: the job waits, STATUS says degraded, and the end is recorded once space returns")
    func fullDiskWhileRecording() throws {
        let daemon = try DaemonHarness()
        let state = daemon.root + "/state"
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true)
        try #require(runCommand(["/bin/mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", state]).status == 0)
        defer { _ = try? runCommand(["/bin/umount", "-l", state]) }
        let notify = try NotifySocket(path: daemon.root + "/notify.sock")
        try daemon.start(environment: ["NOTIFY_SOCKET": notify.path])
        let image = try daemon.script("waits.sh", "while [ ! -e \(daemon.root)/go ]; do sleep 0.05; done; exit 0")
        try daemon.submit(daemon.definition(name: "full", image: image), as: "full.json")
        try daemon.waitFor("training", timeout: 20) { (try daemon.job("full"))?.secondaryStatus == .training }
        // Fill the state file system to the last byte, then let the algorithm end.
        let filler = state + "/filler"
        _ = try runCommand(["/bin/dd", "if=/dev/zero", "of=\(filler)", "bs=64k"])
        _ = FileManager.default.createFile(atPath: daemon.root + "/go", contents: nil)
        notify.collect(for: 20) { $0.contains("STATUS=") && $0.contains("degraded: cannot record the state of 1 job") }
        #expect(notify.messages.contains { $0.contains("degraded: cannot record the state of 1 job") }, "\(notify.messages)")
        #expect(try daemon.job("full")?.lifecycle.status == .inProgress, "not recorded while the disk is full")
        #expect(try daemon.jobctl(["describe", "full"]).status == 0, "the daemon still answers")
        unlink(filler)
        let job = try daemon.waitForEnd("full", timeout: 40)
        #expect(job.lifecycle.status == .completed, "\(job.lifecycle) \(job.failureReason ?? "")")
        notify.collect(for: 10) { $0.contains("STATUS=") && !$0.contains("degraded") }
        #expect(notify.messages.last { $0.contains("STATUS=") }.map { !$0.contains("degraded") } == true)
    }
}

extension DaemonHarness {
    /// Host pids of processes whose command line contains `text` (NULs read as spaces).
    static func processes(containing text: String) -> [pid_t] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry in
            guard let pid = pid_t(entry), let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
            return String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).contains(text) ? pid : nil
        }
    }
}

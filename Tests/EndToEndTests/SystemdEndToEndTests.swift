import Foundation
import Testing
import TrainingCore
import TrainingStore

/// The daemon as a systemd service, tested with the real protocols but without systemd as PID 1:
/// a notify socket the test owns, systemd-socket-activate, and (in JournalEndToEndTests) a journal
/// socket of the test's own.
@Suite("systemd integration", .serialized)
struct SystemdEndToEndTests {
    @Test("notify: READY after start, RELOADING then READY on SIGHUP, watchdog pings, STOPPING with EXTEND_TIMEOUT while a job has its grace window")
    func notifySequence() throws {
        let daemon = try DaemonHarness(gracePeriod: 3)
        let notify = try NotifySocket(path: daemon.root + "/notify.sock")
        try daemon.start(environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "1000000"])
        let ready = notify.collect(for: 10) { NotifySocket.kind($0) == "READY" }
        #expect(ready.last.map(NotifySocket.kind) == "READY")
        #expect(!ready.contains { NotifySocket.kind($0) == "WATCHDOG" }, "no watchdog ping before READY")
        // READY promises a live control socket.
        #expect(try daemon.jobctl(["list"]).status == 0)

        let marker = daemon.root + "/first-run-done"
        let image = try daemon.script("stubborn.sh", """
            if [ -e \(marker) ]; then echo resumed; exit 0; fi
            touch \(marker)
            trap 'echo got SIGTERM' TERM
            echo training
            while true; do sleep 0.1; done
            """)
        try daemon.submit(daemon.definition(name: "graceful", image: image), as: "graceful.json")
        try daemon.waitFor("the job to train", timeout: 20) { daemon.log("graceful").contains("training") }

        try #require(try String(contentsOfFile: daemon.configPath, encoding: .utf8).contains("stop_grace_period_seconds"))
        try (String(contentsOfFile: daemon.configPath, encoding: .utf8) + "\nmax_concurrent = 3\n").write(toFile: daemon.configPath, atomically: true, encoding: .utf8)
        let beforeReload = ServiceClock.monotonicMicroseconds()
        kill(daemon.process!.processIdentifier, SIGHUP)
        let reload = notify.collect(for: 10) { NotifySocket.kind($0) == "READY" }
        let reloading = try #require(reload.first { NotifySocket.kind($0) == "RELOADING" })
        let stamp = try #require(NotifySocket.value("MONOTONIC_USEC", in: reloading).flatMap(UInt64.init))
        #expect(stamp >= beforeReload && stamp <= ServiceClock.monotonicMicroseconds())
        let reloaded = try #require(reload.last)
        #expect(NotifySocket.value("STATUS", in: reloaded)?.contains("Configuration reloaded") == true, "\(reloaded)")
        #expect(reload.contains { NotifySocket.value("STATUS", in: $0)?.contains("(3 slots)") == true }, "max_concurrent applied: \(reload)")

        notify.collect(for: 1.2)
        daemon.process!.terminate()
        #expect(daemon.waitForExit(timeout: 20) == 0)
        // Datagrams wait in the socket's queue until read.
        notify.collect(for: 0.3)

        // The exact order of the lifecycle messages; WATCHDOG and STATUS-only messages interleave freely.
        let kinds = notify.messages.map(NotifySocket.kind)
        var lifecycle: [String] = []
        for kind in kinds where !["WATCHDOG", "STATUS"].contains(kind) && lifecycle.last != kind { lifecycle.append(kind) }
        #expect(lifecycle == ["READY", "RELOADING", "READY", "STOPPING", "EXTEND_TIMEOUT_USEC"], "\(notify.messages)")
        let firstReady = kinds.firstIndex(of: "READY")!, stopping = kinds.firstIndex(of: "STOPPING")!
        #expect(kinds[firstReady..<stopping].filter { $0 == "WATCHDOG" }.count >= 2, "\(kinds)")
        let extensions = notify.messages.filter { NotifySocket.kind($0) == "EXTEND_TIMEOUT_USEC" }
            .compactMap { NotifySocket.value("EXTEND_TIMEOUT_USEC", in: $0).flatMap(UInt64.init) }
        // The drain's window: the grace period (3 s) and as long again, at least 10 s, for the checkpoint sync; plus 15 s.
        #expect(extensions.count >= 2 && extensions.allSatisfy { $0 > 15_000_000 && $0 <= 28_000_000 }, "\(extensions)")

        // Drained: still InProgress, Interrupted, nothing published, and the job saw its SIGTERM.
        let drained = try #require(try daemon.job("graceful"))
        #expect(drained.lifecycle.status == .inProgress && drained.lifecycle.secondary == .interrupted)
        #expect(drained.modelArtifacts == nil)
        #expect(!FileManager.default.fileExists(atPath: daemon.root + "/output/graceful/output/model.tar.gz"))
        #expect(daemon.log("graceful").contains("got SIGTERM"))

        // The next start resumes it.
        try daemon.start()
        let finished = try daemon.waitForEnd("graceful", timeout: 30)
        #expect(finished.lifecycle.status == .completed)
        #expect(daemon.log("graceful").contains("resumed"))
        let statuses = finished.transitions.map(\.status)
        #expect(statuses.firstIndex(of: SecondaryStatus.interrupted).map { statuses[($0 + 1)...].first } == SecondaryStatus.starting, "\(statuses)")
    }

    @Test("a drain syncs the checkpoints of interrupted jobs; the next start restores them and the algorithm resumes")
    func drainSyncsCheckpoints() throws {
        let daemon = try DaemonHarness(gracePeriod: 5)
        try daemon.start()
        let image = try daemon.script("epochs.sh", """
            epoch=0
            if [ -f /opt/ml/checkpoints/epoch ]; then epoch=$(cat /opt/ml/checkpoints/epoch); echo "resuming after epoch $epoch"; fi
            trap 'echo "saving at epoch $epoch"; exit 0' TERM
            last=$((epoch + 3))
            while [ $epoch -lt $last ]; do
                sleep 0.2
                epoch=$((epoch + 1))
                echo $epoch > /opt/ml/checkpoints/epoch.tmp && mv /opt/ml/checkpoints/epoch.tmp /opt/ml/checkpoints/epoch
                echo "epoch $epoch"
                [ -f \(daemon.root)/first-run-done ] || [ $epoch -lt 2 ] || { touch \(daemon.root)/first-run-done; while true; do sleep 0.1; done; }
            done
            """)
        let definition = daemon.definition(name: "epochs", image: image)
            .setting("CheckpointConfig.S3Uri", .string("file://\(daemon.root)/checkpoints/epochs/"))
        try daemon.submit(definition, as: "epochs.json")
        try daemon.waitFor("epoch 2", timeout: 20) { FileManager.default.fileExists(atPath: daemon.root + "/first-run-done") }
        daemon.process!.terminate()
        #expect(daemon.waitForExit(timeout: 20) == 0)
        #expect(daemon.log("epochs").contains("saving at epoch 2"))
        #expect(try String(contentsOfFile: daemon.root + "/checkpoints/epochs/epoch", encoding: .utf8) == "2\n")
        #expect(try daemon.job("epochs")?.lifecycle.secondary == .interrupted)
        // The volume goes: what resumes must come from the synced checkpoint location.
        daemon.detachMounts(under: daemon.root + "/jobs/epochs")
        try FileManager.default.removeItem(atPath: daemon.root + "/jobs/epochs")
        try daemon.start()
        #expect(try daemon.waitForEnd("epochs", timeout: 30).lifecycle.status == .completed)
        #expect(daemon.log("epochs").contains("resuming after epoch 2"))
        #expect(daemon.log("epochs").contains("epoch 5"))
    }

    @Test("a wedged supervisor queue stops the watchdog pings")
    func wedgedSupervisorStopsWatchdog() throws {
        let daemon = try DaemonHarness()
        let notify = try NotifySocket(path: daemon.root + "/notify.sock")
        try daemon.start(environment: [
            "NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000", "TRAININGD_TEST_HOOKS": "wedge-on-sigusr2",
        ])
        let healthy = notify.collect(for: 2)
        #expect(healthy.filter { $0 == "WATCHDOG=1" }.count >= 4, "\(healthy)")
        kill(daemon.process!.processIdentifier, SIGUSR2)
        notify.collect(for: 0.5)
        let wedged = notify.collect(for: 1.5)
        #expect(!wedged.contains("WATCHDOG=1"), "\(wedged)")
        // A wedged daemon cannot drain; systemd would SIGABRT it at the watchdog timeout.
        kill(daemon.process!.processIdentifier, SIGKILL)
        _ = daemon.waitForExit(timeout: 5)
    }

    @Test("under systemd-socket-activate the daemon adopts the socket and jobctl drives it")
    func socketActivation() throws {
        let daemon = try DaemonHarness()
        // Detached (setsid --fork): Foundation's Process, as the activator's parent, blocks in waitpid
        // on it once it execs the daemon, and then reaps no other child of the test process.
        try daemon.start(
            prefix: ["/usr/bin/setsid", "--fork", "/usr/bin/systemd-socket-activate", "--listen", daemon.root + "/control.sock"],
            waitForListening: false)
        try daemon.waitFor("the activator to listen", timeout: 10) { FileManager.default.fileExists(atPath: daemon.socket) }
        // The first connection starts the daemon, which answers it on the socket it was handed.
        let first = try daemon.jobctl(["list"])
        #expect(first.status == 0, "\(first.stderr)\n\(daemon.stderr)")
        #expect(daemon.stderr.contains("passed by systemd socket activation"), "\(daemon.stderr)")
        let pid = try #require(daemon.lockHolder)
        defer { kill(pid, SIGKILL) }
        let image = try daemon.script("ok.sh", "echo hello; exit 0")
        let path = daemon.root + "/ok.json"
        try daemon.definition(name: "activated", image: image).serialized(.pretty).write(toFile: path, atomically: true, encoding: .utf8)
        let submitted = try daemon.jobctl(["submit", path, "--wait"])
        #expect(submitted.status == 0, "\(submitted.stderr)\n\(daemon.stderr)")
        #expect(try daemon.job("activated")?.lifecycle.status == .completed)
        let drained = try daemon.jobctl(["drain"])
        #expect(drained.status == 0, "\(drained.stderr)")
        #expect(drained.stdout.contains("trainingd has stopped"))
        try daemon.waitFor("the daemon to exit", timeout: 10) { kill(pid, 0) != 0 }
    }
}

/// CLOCK_MONOTONIC, as MONOTONIC_USEC carries it.
enum ServiceClock {
    static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
    }
}

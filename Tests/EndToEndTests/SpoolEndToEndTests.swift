import Foundation
import Testing
import TrainingCore
import TrainingStore

/// The real daemon, driven through its spool: the job lifecycle from a user's side.
@Suite("End to end through the spool", .serialized)
struct SpoolEndToEndTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    @Test("the example algorithm trains and delivers model.tar.gz")
    func success() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let example = Self.repository + "/examples/linear-regression"
        let definition = daemon.definition(name: "linreg", image: example + "/train.py")
            .setting("HyperParameters", ["epochs": "5", "learning_rate": "0.1"])
            .setting("AlgorithmSpecification.MetricDefinitions", [["Name": "train:loss", "Regex": "loss=([0-9.]+)"]])
            .setting("InputDataConfig", [["ChannelName": "train", "DataSource": ["S3DataSource": [
                "S3DataType": "S3Prefix", "S3Uri": .string("file://\(example)/data/train/")]]]])
        try daemon.submit(definition, as: "linreg.json")
        let job = try daemon.waitForEnd("linreg")
        #expect(job.lifecycle.status == .completed, "\(job.failureReason ?? "") \(daemon.stderr)")
        #expect(job.transitions.map(\.status) == [.pending, .starting, .downloading, .training, .uploading, .completed])
        let artifact = daemon.root + "/output/linreg/output/model.tar.gz"
        #expect(daemon.archiveListing(artifact).contains("./model.json"))
        #expect(job.modelArtifacts == "file://" + artifact)
        #expect(job.finalMetrics.map(\.metricName) == ["train:loss"])
        #expect(FileManager.default.fileExists(atPath: daemon.root + "/spool/accepted/linreg.json"))
    }
}

extension SpoolEndToEndTests {
    @Test("an algorithm error: FailureReason from output/failure with the exit code")
    func algorithmError() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let image = try daemon.script("fail.sh", "echo 'bad learning rate' > /opt/ml/output/failure; exit 3")
        try daemon.submit(daemon.definition(name: "fails", image: image), as: "fails.json")
        let job = try daemon.waitForEnd("fails")
        #expect(job.lifecycle.status == .failed)
        #expect(job.failureReason == "AlgorithmError: bad learning rate, exit code: 3")
        #expect(job.exitCode == 3)
    }

    @Test("MaxRuntimeExceeded: the algorithm saves during the grace window and the file is delivered")
    func maxRuntime() throws {
        let daemon = try DaemonHarness(gracePeriod: 10)
        try daemon.start()
        let image = try daemon.script("slow.sh", """
            trap 'echo saved > /opt/ml/model/final.txt; exit 0' TERM
            while true; do sleep 0.1; done
            """)
        try daemon.submit(daemon.definition(name: "slow", image: image, maxRuntime: 1), as: "slow.json")
        let job = try daemon.waitForEnd("slow")
        #expect(job.lifecycle.status == .stopped)
        #expect(job.lifecycle.secondary == .maxRuntimeExceeded)
        #expect(daemon.archiveListing(daemon.root + "/output/slow/output/model.tar.gz").contains("./final.txt"))
    }

    @Test("an algorithm that ignores SIGTERM is killed when the grace period ends")
    func ignoresSigterm() throws {
        let daemon = try DaemonHarness(gracePeriod: 1)
        try daemon.start()
        let image = try daemon.script("stubborn.sh", "trap '' TERM\nwhile true; do sleep 0.1; done")
        try daemon.submit(daemon.definition(name: "stubborn", image: image, maxRuntime: 1), as: "stubborn.json")
        let job = try daemon.waitForEnd("stubborn", timeout: 30)
        #expect(job.lifecycle.secondary == .maxRuntimeExceeded)
        // It outlived SIGTERM, so only the SIGKILL at the end of the grace period can have ended it.
        #expect(job.exitSignal == SIGKILL)
    }

    @Test("a setsid grandchild does not outlive its job")
    func grandchild() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        // Inside the job's PID namespace $$ is not the host's pid: find the grandchild by a unique argument.
        let marker = String(900_000 + Int.random(in: 0..<99_999))
        let image = try daemon.script("spawner.sh", "setsid sh -c 'exec sleep \(marker)' &\nsleep 0.5\nexit 0")
        try daemon.submit(daemon.definition(name: "spawner", image: image), as: "spawner.json")
        let job = try daemon.waitForEnd("spawner")
        #expect(job.status == .completed, "\(job.failureReason ?? "")")
        try daemon.waitFor("the grandchild to be gone", timeout: 5) { DaemonHarness.processes(withArguments: ["sleep", marker]).isEmpty }
    }

    @Test("the job sees its volume bound at /opt/ml; the host's /opt/ml stays empty")
    func mountNamespace() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let image = try daemon.script("mounts.sh", "grep ' /opt/ml ' /proc/self/mountinfo > /opt/ml/model/mountinfo; ls /opt/ml > /opt/ml/model/listing")
        try daemon.submit(daemon.definition(name: "mounts", image: image), as: "mounts.json")
        let job = try daemon.waitForEnd("mounts")
        #expect(job.lifecycle.status == .completed, "\(job.failureReason ?? "")")
        let model = daemon.root + "/jobs/mounts/algo-1/model"
        let mountinfo = (try? String(contentsOfFile: model + "/mountinfo", encoding: .utf8)) ?? ""
        #expect(mountinfo.contains(" /opt/ml "))
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: "/opt/ml")) ?? []).isEmpty)
    }

    @Test("config files, byte for byte")
    func configFiles() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let image = try daemon.script("copy.sh", "cp -r /opt/ml/input/config /opt/ml/model/")
        let definition = daemon.definition(name: "configs", image: image)
            .setting("HyperParameters", ["b": "2", "a": "x y"])
            .setting("CheckpointConfig", ["S3Uri": .string("file://\(daemon.root)/ckpt/")])
        try daemon.submit(definition, as: "configs.json")
        #expect(try daemon.waitForEnd("configs").lifecycle.status == .completed)
        let config = daemon.root + "/jobs/configs/algo-1/model/config/"
        func read(_ name: String) -> String? { try? String(contentsOfFile: config + name, encoding: .utf8) }
        #expect(read("hyperparameters.json") == #"{"a":"x y","b":"2"}"#)
        #expect(read("inputdataconfig.json") == "{}")
        #expect(read("resourceconfig.json") == #"{"current_host":"algo-1","hosts":["algo-1"],"current_instance_type":"ml.m5.large","current_group_name":"homogeneousCluster","instance_groups":[{"instance_group_name":"homogeneousCluster","instance_type":"ml.m5.large","hosts":["algo-1"]}],"network_interface_name":"lo"}"#)
        #expect(read("checkpointconfig.json") == #"{"LocalPath":"/opt/ml/checkpoints/","S3Uri":"file://\#(daemon.root)/ckpt/"}"#)
    }

    @Test("File mode copies; FastFile binds read-only")
    func inputModes() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        try FileManager.default.createDirectory(atPath: daemon.root + "/data/sub", withIntermediateDirectories: true)
        try "1,2\n".write(toFile: daemon.root + "/data/a.csv", atomically: true, encoding: .utf8)
        try "3,4\n".write(toFile: daemon.root + "/data/sub/b.csv", atomically: true, encoding: .utf8)
        let image = try daemon.script("modes.sh", """
            cat /opt/ml/input/data/copied/a.csv /opt/ml/input/data/copied/sub/b.csv > /opt/ml/model/copied
            cat /opt/ml/input/data/lazy/sub/b.csv > /opt/ml/model/lazy
            if touch /opt/ml/input/data/lazy/new 2>/dev/null; then echo writable; else echo read-only; fi > /opt/ml/model/lazy-mode
            """)
        let source: JSONValue = ["S3DataSource": ["S3DataType": "S3Prefix", "S3Uri": .string("file://\(daemon.root)/data/")]]
        let definition = daemon.definition(name: "modes", image: image).setting("InputDataConfig", [
            ["ChannelName": "copied", "DataSource": source],
            ["ChannelName": "lazy", "InputMode": "FastFile", "DataSource": source],
        ])
        try daemon.submit(definition, as: "modes.json")
        #expect(try daemon.waitForEnd("modes").lifecycle.status == .completed)
        let model = daemon.root + "/jobs/modes/algo-1/model/"
        #expect((try? String(contentsOfFile: model + "copied", encoding: .utf8)) == "1,2\n3,4\n")
        #expect((try? String(contentsOfFile: model + "lazy", encoding: .utf8)) == "3,4\n")
        #expect((try? String(contentsOfFile: model + "lazy-mode", encoding: .utf8)) == "read-only\n")
        #expect(!FileManager.default.fileExists(atPath: daemon.root + "/data/new"))
    }

    @Test("a rejected definition gets its .error.json; a duplicate name is ResourceInUse")
    func rejection() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        try daemon.submit(#"{"TrainingJobName": "bad_name"}"#, as: "bad.json")
        try daemon.waitFor("the rejection", timeout: 10) { FileManager.default.fileExists(atPath: daemon.root + "/spool/rejected/bad.json.error.json") }
        let report = try String(contentsOfFile: daemon.root + "/spool/rejected/bad.json.error.json", encoding: .utf8)
        #expect(report.contains("\"errorType\": \"ValidationException\""))
        #expect(report.contains("trainingJobName"))
        #expect(FileManager.default.fileExists(atPath: daemon.root + "/spool/rejected/bad.json"))

        let image = try daemon.script("ok.sh", "exit 0")
        try daemon.submit(daemon.definition(name: "twice", image: image), as: "first.json")
        try daemon.waitForEnd("twice")
        try daemon.submit(daemon.definition(name: "twice", image: image), as: "second.json")
        try daemon.waitFor("the duplicate's rejection", timeout: 10) { FileManager.default.fileExists(atPath: daemon.root + "/spool/rejected/second.json.error.json") }
        #expect(try String(contentsOfFile: daemon.root + "/spool/rejected/second.json.error.json", encoding: .utf8).contains("ResourceInUse"))
    }

    @Test("files dropped while the daemon was down are taken at start")
    func droppedWhileDown() throws {
        let daemon = try DaemonHarness()
        try FileManager.default.createDirectory(atPath: daemon.root + "/spool/incoming", withIntermediateDirectories: true)
        let image = try daemon.script("ok.sh", "exit 0")
        try daemon.submit(daemon.definition(name: "early", image: image), as: "early.json")
        try daemon.start()
        #expect(try daemon.waitForEnd("early").lifecycle.status == .completed)
    }

    @Test("exactly-once intake across a crash between claim and record")
    func crashAfterClaim() throws {
        let daemon = try DaemonHarness()
        try FileManager.default.createDirectory(atPath: daemon.root + "/spool/incoming", withIntermediateDirectories: true)
        let image = try daemon.script("ok.sh", "exit 0")
        try daemon.submit(daemon.definition(name: "crashy", image: image), as: "crashy.json")
        try daemon.start(environment: ["TRAININGD_TEST_CRASH_AFTER_CLAIM": "crashy.json"], waitForListening: false)
        _ = daemon.waitForExit(timeout: 20)
        #expect(daemon.process?.terminationReason == .uncaughtSignal)
        #expect(FileManager.default.fileExists(atPath: daemon.root + "/spool/.claimed/crashy.json"))
        try daemon.start()
        #expect(try daemon.waitForEnd("crashy").lifecycle.status == .completed)
        #expect(FileManager.default.fileExists(atPath: daemon.root + "/spool/accepted/crashy.json"))
        #expect(!FileManager.default.fileExists(atPath: daemon.root + "/spool/accepted/crashy.1.json"))
        #expect(try daemon.store().listJobs(JobListQuery()).summaries.map(\.name) == ["crashy"])
    }

    @Test("a file the daemon crashed on three times is quarantined")
    func quarantine() throws {
        let daemon = try DaemonHarness()
        try FileManager.default.createDirectory(atPath: daemon.root + "/spool/incoming", withIntermediateDirectories: true)
        try daemon.submit(daemon.definition(name: "poison", image: "/bin/true"), as: "poison.json")
        for _ in 0..<3 {
            try daemon.start(environment: ["TRAININGD_TEST_CRASH_AFTER_CLAIM": "poison.json"], waitForListening: false)
            _ = daemon.waitForExit(timeout: 20)
        }
        try daemon.start(environment: ["TRAININGD_TEST_CRASH_AFTER_CLAIM": "poison.json"])
        try daemon.waitFor("the quarantine", timeout: 10) { FileManager.default.fileExists(atPath: daemon.root + "/spool/rejected/poison.json.error.json") }
        #expect(try String(contentsOfFile: daemon.root + "/spool/rejected/poison.json.error.json", encoding: .utf8).contains("quarantined"))
    }

    @Test("a job writing ten times the log cap leaves at most the cap on disk")
    func logCap() throws {
        let daemon = try DaemonHarness(config: "log_cap = 65536")
        try daemon.start()
        let image = try daemon.script("chatty.sh", "i=0; while [ $i -lt 8000 ]; do echo \"line $i: 0123456789012345678901234567890123456789012345678901234567890123456789\"; i=$((i+1)); done")
        try daemon.submit(daemon.definition(name: "chatty", image: image), as: "chatty.json")
        #expect(try daemon.waitForEnd("chatty").lifecycle.status == .completed)
        let directory = daemon.root + "/logs/chatty/"
        let total = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).reduce(0) { sum, name in
            sum + ((try? FileManager.default.attributesOfItem(atPath: directory + name)[.size] as? Int) ?? 0)
        }
        #expect(total > 0 && total <= 65536)
        #expect(daemon.log("chatty").contains("line 7999"))
    }

    @Test("five jobs with a limit of two run two at a time, in order")
    func queueLimit() throws {
        let daemon = try DaemonHarness(config: "max_concurrent = 2")
        try daemon.start()
        let image = try daemon.script("short.sh", "sleep 0.5")
        for index in 1...5 {
            try daemon.submit(daemon.definition(name: "q\(index)", image: image), as: "q\(index).json")
            usleep(20_000)
        }
        var records: [JobRecord] = []
        for index in 1...5 { records.append(try daemon.waitForEnd("q\(index)")) }
        let intervals = records.map { ($0.trainingStartTime ?? 0, $0.trainingEndTime ?? 0) }
        for (index, interval) in intervals.enumerated() {
            // The jobs training when this one started (itself included): the most at any moment is
            // reached at some start. (One job may overlap two others that never ran together.)
            let running = intervals.filter { $0.0 <= interval.0 && interval.0 < $0.1 }.count
            #expect(running <= 2, "job q\(index + 1) started while \(running - 1) others trained")
        }
        #expect(intervals.map(\.0) == intervals.map(\.0).sorted(), "started in submission order")
    }
}

extension SpoolEndToEndTests {
    @Test("a flood of the spool is taken in batches: a CreateTrainingJob sent meanwhile is answered before the flood is in, and every file is accepted once")
    func floodInterleavesWithRequests() throws {
        let daemon = try DaemonHarness(config: "max_concurrent = 1")
        try daemon.start()
        let count = 1500
        let prepared = daemon.root + "/prepared"
        try FileManager.default.createDirectory(atPath: prepared, withIntermediateDirectories: true)
        let definition = daemon.definition(name: "flood", image: "/bin/true")
        for index in 0..<count {
            try definition.setting("TrainingJobName", .string("flood-\(index)")).serialized(.compact)
                .write(toFile: prepared + "/flood-\(index).json", atomically: false, encoding: .utf8)
        }
        // Held still while the files arrive, the daemon finds every one of them in one inotify wake-up.
        let pid = try #require(daemon.process?.processIdentifier)
        kill(pid, SIGSTOP)
        for index in 0..<count {
            rename(prepared + "/flood-\(index).json", daemon.root + "/spool/incoming/flood-\(index).json")
        }
        kill(pid, SIGCONT)
        let accepted = daemon.root + "/spool/accepted"
        func acceptedCount() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: accepted).count) ?? 0 }
        try daemon.waitFor("the flood's first files", timeout: 30) { acceptedCount() > 0 }
        let file = try daemon.definitionFile("api", daemon.definition(name: "api-job", image: "/bin/true"))
        let submitted = try daemon.jobctl(["submit", file])
        let acceptedWhenAnswered = acceptedCount()
        #expect(submitted.status == 0, "\(submitted.stderr)")
        #expect(acceptedWhenAnswered < count, "the request waited for the whole flood (\(acceptedWhenAnswered) of \(count) files were in)")
        try daemon.waitFor("the whole flood", timeout: 120) { acceptedCount() == count }
        let store = try daemon.store()
        #expect(try store.job(named: "api-job") != nil)
        #expect(try (0..<count).allSatisfy { try store.job(named: "flood-\($0)") != nil })
        #expect(try FileManager.default.contentsOfDirectory(atPath: daemon.root + "/spool/rejected").isEmpty)
    }

    @Test("a flood that arrives over many inotify wake-ups is one backlog: a CreateTrainingJob sent meanwhile waits for the batch under way, not one batch of every wake-up")
    func floodOverManyWakeUps() throws {
        let daemon = try DaemonHarness(config: "max_concurrent = 1")
        try daemon.start()
        let groups = 12, perGroup = 200
        let prepared = daemon.root + "/prepared"
        try FileManager.default.createDirectory(atPath: prepared, withIntermediateDirectories: true)
        let definition = daemon.definition(name: "wave", image: "/bin/true")
        for index in 0..<(groups * perGroup) {
            try definition.setting("TrainingJobName", .string("wave-\(index)")).serialized(.compact)
                .write(toFile: prepared + "/wave-\(index).json", atomically: false, encoding: .utf8)
        }
        // Each group arrives on its own, so that the daemon reads the spool's events once per group;
        // each of those reads used to start a chain of batches of its own.
        for group in 0..<groups {
            for index in (group * perGroup)..<((group + 1) * perGroup) {
                rename(prepared + "/wave-\(index).json", daemon.root + "/spool/incoming/wave-\(index).json")
            }
            usleep(40_000)
        }
        let accepted = daemon.root + "/spool/accepted"
        func acceptedCount() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: accepted).count) ?? 0 }
        // On a connection made beforehand, so that the count brackets the request alone.
        let connection = try RawConnection(path: daemon.socket)
        let request = RawConnection.request("SageMaker.CreateTrainingJob", daemon.definition(name: "api-job", image: "/bin/true").serialized())
        let before = acceptedCount()
        connection.send(request)
        let answer = connection.response(within: 60)
        let ahead = acceptedCount() - before
        #expect(answer?.status == 200, "\(answer?.body ?? "no answer")")
        // The batch under way, and a batch or two more between the answer and the count: at most
        // 3 batches (32-36 files here). A chain per wake-up put a batch of each live chain ahead of
        // the request (128-168 files here).
        #expect(ahead <= 3 * 32, "\(ahead) flood files were taken in while the request waited (\(before) were in when it was sent)")
        try daemon.waitFor("the whole flood", timeout: 180) { acceptedCount() == groups * perGroup }
        #expect(try daemon.store().job(named: "api-job") != nil)
    }
}

import Foundation
import Testing
import TrainingCore
import TrainingRuntime

/// A small image in root's containers-storage, built without a network: busybox-static's
/// applets in a root file system of a few files, committed by buildah with an image config.
struct TestImage {
    let reference: String

    static let available: Bool = getuid() == 0
        && ["/usr/bin/buildah", "/usr/bin/podman", "/bin/busybox"].allSatisfy { (path: String) in access(path, X_OK) == 0 }

    /// `config` are buildah config flags (`--entrypoint`, `--env`, `--workingdir`, `--user`).
    static func busybox(_ config: [String], files: [String: String] = [:]) throws -> TestImage {
        let reference = "localhost/trainingd-test-" + String(UUID().uuidString.prefix(8)).lowercased() + ":1"
        let container = try run(["/usr/bin/buildah", "from", "scratch"]).trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? run(["/usr/bin/buildah", "rm", container]) }
        let root = try run(["/usr/bin/buildah", "mount", container]).trimmingCharacters(in: .whitespacesAndNewlines)
        let manager = FileManager.default
        for directory in ["bin", "etc", "tmp", "root", "work", "home/trainer"] {
            try manager.createDirectory(atPath: root + "/" + directory, withIntermediateDirectories: true)
        }
        chmod(root + "/tmp", 0o1777)
        chown(root + "/home/trainer", 1234, 1234)
        try manager.copyItem(atPath: "/bin/busybox", toPath: root + "/bin/busybox")
        for applet in try run(["/bin/busybox", "--list"]).split(separator: "\n") where applet != "busybox" {
            try manager.createSymbolicLink(atPath: root + "/bin/" + applet, withDestinationPath: "busybox")
        }
        var everything = files
        everything["etc/passwd"] = "root:x:0:0:root:/root:/bin/sh\ntrainer:x:1234:1234:trainer:/home/trainer:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n"
        everything["etc/group"] = "root:x:0:\ntrainers:x:1234:\nnogroup:x:65534:\n"
        for (path, contents) in everything {
            try manager.createDirectory(atPath: root + "/" + (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try contents.write(toFile: root + "/" + path, atomically: false, encoding: .utf8)
            chmod(root + "/" + path, path.hasSuffix(".sh") ? 0o755 : 0o644)
        }
        _ = try run(["/usr/bin/buildah", "umount", container])
        _ = try run(["/usr/bin/buildah", "config"] + config + [container])
        _ = try run(["/usr/bin/buildah", "commit", "--quiet", container, reference])
        return TestImage(reference: reference)
    }

    func remove() { _ = try? Self.run(["/usr/bin/podman", "rmi", "--force", reference]) }

    static let toolkitVenv = SpoolEndToEndTests.repository + "/.build/test-tools/sagemaker-training"
    static let toolkitAvailable = available && access("/usr/bin/mmdebstrap", X_OK) == 0
        && FileManager.default.fileExists(atPath: toolkitVenv + "/lib/python3.11/site-packages/sagemaker_training")

    /// A framework image as SageMaker's are made: Debian's python3 (mmdebstrap from this machine's
    /// apt sources) with AWS's sagemaker-training toolkit (the test venv's packages, built for the
    /// same python) and its `train` entry point on PATH, no Entrypoint. Built once per machine.
    static func toolkit() throws -> TestImage {
        let reference = "localhost/trainingd-test-toolkit:5.1.4"
        if DaemonHarness.output(of: ["/usr/bin/podman", "image", "exists", reference]) != nil { return TestImage(reference: reference) }
        let suite = ((try? String(contentsOfFile: "/etc/os-release", encoding: .utf8)) ?? "").split(separator: "\n")
            .first { $0.hasPrefix("VERSION_CODENAME=") }.map { String($0.dropFirst("VERSION_CODENAME=".count)) } ?? "bookworm"
        let tarball = "/tmp/trainingd-test-toolkit-\(getpid()).tar"
        defer { unlink(tarball) }
        try run(["/usr/bin/mmdebstrap", "--quiet", "--variant=essential", "--include=python3", suite, tarball])
        let container = try run(["/usr/bin/buildah", "from", "scratch"]).trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? run(["/usr/bin/buildah", "rm", container]) }
        let root = try run(["/usr/bin/buildah", "mount", container]).trimmingCharacters(in: .whitespacesAndNewlines)
        try run(["/bin/tar", "-xf", tarball, "-C", root])
        try run(["/bin/cp", "-a", toolkitVenv + "/lib/python3.11/site-packages/.", root + "/usr/local/lib/python3.11/dist-packages/"])
        try """
            #!/usr/bin/python3
            import sys
            from sagemaker_training.cli.train import main
            sys.exit(main())
            """.write(toFile: root + "/usr/local/bin/train", atomically: false, encoding: .utf8)
        chmod(root + "/usr/local/bin/train", 0o755)
        _ = try run(["/usr/bin/buildah", "umount", container])
        _ = try run(["/usr/bin/buildah", "config", "--env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                     "--env", "PYTHONUNBUFFERED=1", container])
        _ = try run(["/usr/bin/buildah", "commit", "--quiet", container, reference])
        return TestImage(reference: reference)
    }

    /// An image with one more layer on this one: `files` written, `removed` deleted (a whiteout).
    func layered(_ files: [String: String], removing removed: [String]) throws -> TestImage {
        let reference = "localhost/trainingd-test-" + String(UUID().uuidString.prefix(8)).lowercased() + ":2"
        let container = try Self.run(["/usr/bin/buildah", "from", self.reference]).trimmingCharacters(in: .whitespacesAndNewlines)
        defer { _ = try? Self.run(["/usr/bin/buildah", "rm", container]) }
        let root = try Self.run(["/usr/bin/buildah", "mount", container]).trimmingCharacters(in: .whitespacesAndNewlines)
        for (path, contents) in files { try contents.write(toFile: root + "/" + path, atomically: false, encoding: .utf8) }
        for path in removed { try FileManager.default.removeItem(atPath: root + "/" + path) }
        _ = try Self.run(["/usr/bin/buildah", "umount", container])
        _ = try Self.run(["/usr/bin/buildah", "commit", "--quiet", container, reference])
        return TestImage(reference: reference)
    }

    /// The image's top layer directory (where a write that leaked into the image would land).
    func topLayer() throws -> String {
        try Self.run(["/usr/bin/podman", "image", "inspect", "--format", "{{.GraphDriver.Data.UpperDir}}", reference])
            .trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @discardableResult
    static func run(_ arguments: [String]) throws -> String {
        guard let output = DaemonHarness.output(of: arguments) else {
            Issue.record("failed: \(arguments.joined(separator: " "))")
            throw POSIXError(.EIO)
        }
        return output
    }
}

/// TrainingImage names a container image of the host's containers-storage: the job runs in a
/// container of its layers, as SageMaker runs it (docs/architecture.md, container images).
@Suite("container images", .enabled(if: TestImage.available, "needs root, podman, buildah and busybox-static"))
struct ContainerImageEndToEndTests {
    @Test("the image's Entrypoint (with train), Env under the job's Environment, WorkingDir and User are honoured; /dev, /proc, /sys and /etc are a container's")
    func imageConfigurationHonoured() throws {
        let image = try TestImage.busybox([
            "--entrypoint", #"["/bin/sh", "/opt/program/entry.sh"]"#, "--env", "GREETING=from-image", "--env", "KEPT=image",
            "--env", "PATH=/bin", "--workingdir", "/work", "--user", "trainer",
        ], files: ["opt/program/entry.sh": """
            echo "argv=$*"
            echo "id=$(id -u):$(id -g) home=$HOME pwd=$(pwd)"
            echo "greeting=$GREETING kept=$KEPT"
            echo "hostname=$(hostname) etc=$(cat /etc/hostname)"
            grep -q algo-1 /etc/hosts && echo "hosts ok"
            echo discarded > /dev/null && echo "null ok"
            [ "$(head -c 16 /dev/urandom | wc -c)" = 16 ] && echo "urandom ok"
            echo shared > /dev/shm/x && [ "$(cat /dev/shm/x)" = shared ] && echo "shm ok"
            [ -c /dev/zero ] && [ ! -e /dev/sda ] && [ ! -e /dev/kmsg ] && echo "devices ok"
            [ "$(cat /proc/1/comm)" = sh ] && echo "proc ok"
            touch /sys/x 2>/dev/null || echo "sys read-only"
            echo written > /tmp/scratch && echo "tmp ok"
            touch /home/trainer/.profile && echo "home ok"
            [ -d /opt/ml/input/config ] && echo model > /opt/ml/model/weights && echo "volume ok"
            """])
        defer { image.remove() }
        let daemon = try DaemonHarness()
        try daemon.start()
        let definition = daemon.definition(name: "configured", image: image.reference)
            .setting("Environment", ["GREETING": "from-job"])
        try daemon.submit(definition, as: "configured.json")
        let job = try daemon.waitForEnd("configured")
        let log = daemon.log("configured")
        #expect(job.lifecycle.status == .completed, "\(job.failureReason ?? "") \(log)")
        for line in ["argv=train", "id=1234:1234 home=/home/trainer pwd=/work", "greeting=from-job kept=image", "hostname=algo-1 etc=algo-1",
                     "hosts ok", "null ok", "urandom ok", "shm ok", "devices ok", "proc ok", "sys read-only", "tmp ok", "home ok", "volume ok"] {
            #expect(log.contains(line), "\(line) missing from: \(log)")
        }
        // The model reached the output; the writes stayed in the host's discarded writable layer.
        #expect(daemon.archiveFile(daemon.root + "/output/configured/output/model.tar.gz", "weights") == "model\n")
        #expect(!FileManager.default.fileExists(atPath: try image.topLayer() + "/tmp/scratch"), "a write reached the image's layer")
    }

    @Test("an image of several layers: every layer's files, the later layer's version wins, and a file it deleted is gone")
    func severalLayers() throws {
        let base = try TestImage.busybox(["--entrypoint", #"["/bin/sh", "/run.sh"]"#], files: [
            "run.sh": "cat /etc/base /etc/changed; [ -e /etc/deleted ] && echo deleted-still-there; echo done",
            "etc/base": "from the base\n", "etc/changed": "old\n", "etc/deleted": "x\n",
        ])
        defer { base.remove() }
        let image = try base.layered(["etc/changed": "new\n"], removing: ["etc/deleted"])
        defer { image.remove() }
        let layers = try TestImage.run(["/usr/bin/podman", "image", "inspect", "--format", "{{.RootFS.Layers}}", image.reference])
        #expect(layers.split(separator: " ").count == 2, "\(layers)")
        let daemon = try DaemonHarness()
        try daemon.start()
        try daemon.submit(daemon.definition(name: "layered", image: image.reference), as: "layered.json")
        let job = try daemon.waitForEnd("layered")
        let log = daemon.log("layered")
        #expect(job.lifecycle.status == .completed, "\(job.failureReason ?? "") \(log)")
        #expect(log.contains("out from the base") && log.contains("out new") && log.contains("out done"), "\(log)")
        #expect(!log.contains("out old") && !log.contains("deleted-still-there"), "\(log)")
    }

    @Test("two jobs of one image at the same time do not see each other's writes, and a later job sees neither")
    func concurrentJobsAreIsolated() throws {
        let image = try TestImage.busybox(["--entrypoint", #"["/bin/sh", "/run.sh"]"#], files: ["run.sh": """
            echo "$TRAINING_JOB_NAME" > /tmp/mine
            mkdir -p /var/shared && echo "$TRAINING_JOB_NAME" >> /var/shared/all
            while [ ! -e /opt/ml/input/go ]; do sleep 0.05; done
            echo "mine=$(cat /tmp/mine) all=$(cat /var/shared/all | tr '\\n' ,)"
            """])
        defer { image.remove() }
        let daemon = try DaemonHarness()
        try daemon.start()
        for name in ["first", "second"] {
            try daemon.submit(daemon.definition(name: name, image: image.reference), as: name + ".json")
        }
        for name in ["first", "second"] {
            try daemon.waitFor("\(name) to train", timeout: 20) { (try? daemon.job(name))?.lifecycle.secondary == .training }
        }
        for name in ["first", "second"] {
            #expect(FileManager.default.createFile(atPath: "\(daemon.root)/jobs/\(name)/algo-1/input/go", contents: nil))
        }
        for name in ["first", "second"] {
            let job = try daemon.waitForEnd(name)
            #expect(job.lifecycle.status == .completed, "\(job.failureReason ?? "")")
            #expect(daemon.log(name).contains("mine=\(name) all=\(name),"), "\(daemon.log(name))")
        }
        try daemon.submit(daemon.definition(name: "third", image: image.reference), as: "third.json")
        try daemon.waitFor("third to train", timeout: 20) { (try? daemon.job("third"))?.lifecycle.secondary == .training }
        #expect(FileManager.default.createFile(atPath: "\(daemon.root)/jobs/third/algo-1/input/go", contents: nil))
        try daemon.waitForEnd("third")
        #expect(daemon.log("third").contains("mine=third all=third,"), "\(daemon.log("third"))")
    }

    @Test("an image brought as users have them, a docker save archive, an OCI archive or an OCI layout directory, runs once `podman load` has put it in the storage", arguments: ["docker-archive", "oci-archive", "oci-dir"])
    func loadedArchive(format: String) throws {
        let built = try TestImage.busybox(["--entrypoint", #"["/bin/sh", "-c", "echo loaded from $0"]"#])
        let archive = "/tmp/trainingd-test-\(getpid())-\(format)"
        defer { try? FileManager.default.removeItem(atPath: archive) }
        try TestImage.run(["/usr/bin/podman", "save", "--quiet", "--format", format, "-o", archive, built.reference])
        built.remove()
        let name = "123456789012.dkr.ecr.us-east-1.amazonaws.com/loaded-\(format):1"
        let loaded = try TestImage.run(["/usr/bin/podman", "load", "--quiet", "-i", archive])
        let id = try #require(loaded.split(separator: " ").last.map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }, "\(loaded)")
        // podman names what it loaded (an OCI layout after its directory); the URI definitions use is a tag.
        try TestImage.run(["/usr/bin/podman", "tag", id.replacingOccurrences(of: "sha256:", with: ""), name])
        let image = TestImage(reference: name)
        // By its id: podman named it too (an OCI layout after its directory), and removing one name
        // of an image with two only untags it.
        defer { _ = try? TestImage.run(["/usr/bin/podman", "rmi", "--force", id.replacingOccurrences(of: "sha256:", with: "")]); image.remove() }
        let daemon = try DaemonHarness()
        try daemon.start()
        try daemon.submit(daemon.definition(name: "loaded", image: name), as: "loaded.json")
        let job = try daemon.waitForEnd("loaded")
        #expect(job.lifecycle.status == .completed, "\(job.failureReason ?? "")")
        #expect(daemon.log("loaded").contains("loaded from train"), "\(daemon.log("loaded"))")
    }

    @Test("an image that is not in the container storage is refused at submission, saying how to make it available")
    func missingImageRefused() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let uri = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
        try daemon.submit(daemon.definition(name: "absent", image: uri), as: "absent.json")
        let report = daemon.root + "/spool/rejected/absent.json.error.json"
        try daemon.waitFor("the refusal", timeout: 20) { FileManager.default.fileExists(atPath: report) }
        let error = try String(contentsOfFile: report, encoding: .utf8)
        #expect(error.contains("algorithmSpecification.trainingImage"), "\(error)")
        #expect(error.contains("is not an image of this host's container storage"), "\(error)")
        #expect(error.contains("podman load -i") && error.contains("skopeo copy"), "\(error)")
    }

    @Test("jobctl images lists the storage's images and the table's entries; jobctl validate --config checks a definition's image, as root and (through the daemon) as a user")
    func listAndValidate() throws {
        let image = try TestImage.busybox(["--entrypoint", #"["/bin/true"]"#, "--user", "trainer"])
        defer { image.remove() }
        let daemon = try DaemonHarness(config: """
            [control]
            socket_group = "nogroup"
            [images."123456789012.dkr.ecr.us-east-1.amazonaws.com/mapped:1"]
            image = "\(image.reference)"
            """)
        try daemon.start()
        let listing = try daemon.jobctl(["images"])
        #expect(listing.status == 0, "\(listing.stderr)")
        #expect(listing.stdout.contains(image.reference) && listing.stdout.contains("trainer"), "\(listing.stdout)")
        // Columns are as wide as the longest name in the storage, which other tests' images (loaded
        // meanwhile) may set: the row's fields, whatever the padding.
        let rows = listing.stdout.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
        #expect(rows.contains { $0.starts(with: ["123456789012.dkr.ecr.us-east-1.amazonaws.com/mapped:1", "image", image.reference]) }, "\(listing.stdout)")
        let nobody = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]  // nogroup may use the socket
        for (name, uri, valid) in [("local", image.reference, true), ("mapped", "123456789012.dkr.ecr.us-east-1.amazonaws.com/mapped:1", true),
                                   ("absent", "localhost/no-such-image:1", false)] {
            let file = try daemon.definitionFile(name, daemon.definition(name: name, image: uri))
            chmod(file, 0o644)
            for prefix in [[], nobody] {
                let result = try daemon.jobctl(["validate", "--config", daemon.configPath, file], prefix: prefix)
                #expect(result.status == (valid ? 0 : 1), "\(name) \(prefix): \(result.stdout) \(result.stderr)")
                if !valid { #expect(result.stdout.contains("podman load -i"), "\(result.stdout)") }
            }
        }
    }

    @Test("an image with python3 and the sagemaker-training toolkit runs an SDK-style script-mode job to Completed", .enabled(if: TestImage.toolkitAvailable, "needs mmdebstrap and the toolkit venv (scripts/test-tools.sh)"))
    func toolkitImage() throws {
        let image = try TestImage.toolkit()
        let daemon = try DaemonHarness()
        try daemon.start()
        let (source, data) = try ToolkitEndToEndTests.scriptModeInputs(in: daemon.root, script: """
            import argparse, json, os, socket
            parser = argparse.ArgumentParser()
            parser.add_argument("--max-depth", type=int, default=1)
            parser.add_argument("--model-dir", default=os.environ["SM_MODEL_DIR"])
            parser.add_argument("--train", default=os.environ["SM_CHANNEL_TRAIN"])
            args = parser.parse_args()
            rows = [line.strip().split(",") for line in open(os.path.join(args.train, "train.csv"))]
            mean = sum(float(row[1]) for row in rows) / len(rows)
            with open(os.path.join(args.model_dir, "model.json"), "w") as f:
                json.dump({"mean": mean, "host": socket.gethostname(), "uid": os.getuid()}, f)
            print("trained: max_depth", args.max_depth, "mean", mean, "as uid", os.getuid(), "on", socket.gethostname())
            """)
        // The SDK's script mode: the framework image's train entry point, the user's code in a
        // channel of its own (as the SDK's ModelTrainer sends it) named by sagemaker_submit_directory.
        let definition = daemon.definition(name: "toolkit-image", image: image.reference)
            .setting("HyperParameters", [
                "max-depth": "5", "sagemaker_program": "\"train.py\"", "sagemaker_submit_directory": "\"/opt/ml/input/data/code\"",
                "sagemaker_container_log_level": "20", "sagemaker_region": "\"us-east-1\"", "sagemaker_job_name": "\"toolkit-image\"",
            ])
            .setting("InputDataConfig", [
                ["ChannelName": "train", "ContentType": "text/csv", "DataSource": ["S3DataSource": [
                    "S3DataType": "S3Prefix", "S3Uri": .string("file://\(data)/"), "S3DataDistributionType": "FullyReplicated"]]],
                ["ChannelName": "code", "DataSource": ["S3DataSource": [
                    "S3DataType": "S3Prefix", "S3Uri": .string("file://\(source)/"), "S3DataDistributionType": "FullyReplicated"]]],
            ])
        try daemon.submit(definition, as: "toolkit-image.json")
        let job = try daemon.waitForEnd("toolkit-image", timeout: 120)
        let log = daemon.log("toolkit-image")
        #expect(job.lifecycle.status == .completed, "\(job.failureReason ?? "") \(log)")
        #expect(log.contains("trained: max_depth 5 mean 4.0 as uid 0 on algo-1"), "\(log)")
        #expect(log.contains("Reporting training SUCCESS"), "\(log)")
        let archive = daemon.root + "/output/toolkit-image/output/model.tar.gz"
        #expect(daemon.archiveFile(archive, "model.json")?.contains("\"mean\": 4.0") == true)
    }

    @Test("a stop during training: the container gets SIGTERM, and after the grace period everything it started is killed")
    func stopKillsTheContainer() throws {
        let image = try TestImage.busybox(["--entrypoint", #"["/bin/sh", "/run.sh"]"#], files: ["run.sh": """
            trap 'echo got TERM' TERM
            setsid sh -c 'trap "" TERM; sleep 1000' &
            echo started
            while true; do sleep 0.1; done
            """])
        defer { image.remove() }
        let daemon = try DaemonHarness(gracePeriod: 1)
        try daemon.start()
        try daemon.submit(daemon.definition(name: "stopped", image: image.reference), as: "stopped.json")
        try daemon.waitFor("the algorithm to start", timeout: 20) { daemon.log("stopped").contains("started") }
        let keeper = try #require(KeeperDiscovery.keepers(token: "trainingd:stopped:algorithm:algo-1:", exact: false).first)
        let children = DaemonHarness.output(of: ["/usr/bin/pgrep", "-P", String(keeper)]) ?? ""
        let algorithm = try #require(pid_t(children.split(separator: "\n").first ?? ""))
        #expect(try daemon.jobctl(["stop", "stopped"]).status == 0)
        let job = try daemon.waitForEnd("stopped", timeout: 30)
        #expect(job.lifecycle.status == .stopped, "\(job.failureReason ?? "")")
        #expect(daemon.log("stopped").contains("got TERM"), "\(daemon.log("stopped"))")
        #expect(kill(algorithm, 0) != 0 && kill(keeper, 0) != 0, "nothing of the container survives")
        #expect(DaemonHarness.processes(withArguments: ["sleep", "1000"]).isEmpty)
    }

    @Test("a job of an image outlives a daemon restart and is adopted, even when the storage cannot be listed then: same container, its exit code and model delivered")
    func adoptedAcrossRestart() throws {
        let image = try TestImage.busybox(["--entrypoint", #"["/bin/sh", "/run.sh"]"#], files: ["run.sh": """
            echo started > /tmp/state
            echo started
            while [ ! -e /opt/ml/input/go ]; do sleep 0.05; done
            cat /tmp/state > /opt/ml/model/state
            exit 0
            """])
        defer { image.remove() }
        let daemon = try DaemonHarness(onDaemonStop: "keep_running")
        try daemon.start()
        try daemon.submit(daemon.definition(name: "adopted", image: image.reference), as: "adopted.json")
        try daemon.waitFor("the algorithm to start", timeout: 20) { daemon.log("adopted").contains("started") }
        let keeper = try #require(KeeperDiscovery.keepers(token: "trainingd:adopted:algorithm:algo-1:", exact: false).first)
        daemon.process!.terminate()
        #expect(daemon.waitForExit(timeout: 10) == 0)
        // A running container needs nothing of the storage: adopted even when podman fails now
        // (as when another process removes an image between podman's listing and inspection).
        try (try String(contentsOfFile: daemon.configPath, encoding: .utf8) + "\n[containers]\npodman = \"/bin/false\"\n")
            .write(toFile: daemon.configPath, atomically: true, encoding: .utf8)
        try daemon.start()
        #expect(daemon.stderr.contains("job adopted: adopted, 1 host still running"), "\(daemon.stderr)")
        #expect(KeeperDiscovery.keepers(token: "trainingd:adopted:algorithm:algo-1:", exact: false).first == keeper)
        #expect(FileManager.default.createFile(atPath: "\(daemon.root)/jobs/adopted/algo-1/input/go", contents: nil))
        let job = try daemon.waitForEnd("adopted", timeout: 30)
        #expect(job.lifecycle.status == .completed, "\(job.failureReason ?? "")")
        #expect(daemon.archiveFile(daemon.root + "/output/adopted/output/model.tar.gz", "state") == "started\n")
    }
}

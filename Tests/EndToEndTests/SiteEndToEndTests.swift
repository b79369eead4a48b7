import Foundation
import Testing
import TrainingCore
import TrainingStore

/// Images, algorithms and users: what the daemon's configuration and the file's owner decide.
@Suite("End to end: images, algorithms, users", .serialized)
struct SiteEndToEndTests {
    /// A root filesystem with only dash and the C library: enough for a shell-script algorithm.
    static func makeRootFilesystem(at path: String) throws {
        for file in ["/bin/dash", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2"] {
            let target = path + file
            try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            // Copy what the (often symlinked) path resolves to: a link would point outside the image.
            try FileManager.default.copyItem(atPath: URL(fileURLWithPath: file).resolvingSymlinksInPath().path, toPath: target)
        }
        try FileManager.default.createSymbolicLink(atPath: path + "/bin/sh", withDestinationPath: "dash")
        for directory in ["/opt/ml", "/proc", "/tmp"] {
            try FileManager.default.createDirectory(atPath: path + directory, withIntermediateDirectories: true)
        }
        try "inside".write(toFile: path + "/only-in-image", atomically: true, encoding: .utf8)
    }

    /// A started daemon whose image table has `tiny:1`: a root filesystem whose `/train` is the
    /// shell script `train`.
    static func tinyImage(train: String) throws -> DaemonHarness {
        let daemon = try DaemonHarness(config: "")
        try makeRootFilesystem(at: daemon.root + "/image")
        try ("#!/bin/sh\n" + train + "\n").write(toFile: daemon.root + "/image/train", atomically: true, encoding: .utf8)
        chmod(daemon.root + "/image/train", 0o755)
        try (try String(contentsOfFile: daemon.configPath, encoding: .utf8) + """

            [images."tiny:1"]
            entrypoint = ["/train"]
            root_filesystem = "\(daemon.root)/image"
            """).write(toFile: daemon.configPath, atomically: true, encoding: .utf8)
        try daemon.start()
        return daemon
    }

    @Test("an image with a root filesystem: the job sees it as /, with /opt/ml inside")
    func rootFilesystem() throws {
        let daemon = try Self.tinyImage(train: """
            if [ -e /only-in-image ]; then echo image; else echo host; fi > /opt/ml/model/where
            echo "$1" > /opt/ml/model/argument
            """)
        try daemon.submit(daemon.definition(name: "imaged", image: "tiny:1"), as: "imaged.json")
        let job = try daemon.waitForEnd("imaged")
        #expect(job.status == .completed, "\(job.failureReason ?? "")")
        let model = daemon.root + "/jobs/imaged/algo-1/model/"
        #expect((try? String(contentsOfFile: model + "where", encoding: .utf8)) == "image\n")
        #expect((try? String(contentsOfFile: model + "argument", encoding: .utf8)) == "train\n")
    }

    @Test("a root filesystem is a container: a real /dev (a write to /dev/null reached the image directory), /dev/shm, the job's /etc/hosts, and writes stay in the host's own layer")
    func rootFilesystemIsAContainer() throws {
        let daemon = try Self.tinyImage(train: """
            echo discarded > /dev/null
            echo shared > /dev/shm/x && read -r shared < /dev/shm/x && echo "shm=$shared"
            while read -r line; do case "$line" in *algo-1*) echo "hosts has algo-1";; esac; done < /etc/hosts
            echo "$TRAINING_JOB_NAME" > /tmp/written
            read -r written < /tmp/written && echo "tmp=$written"
            """)
        for name in ["contained", "again"] {
            try daemon.submit(daemon.definition(name: name, image: "tiny:1"), as: name + ".json")
            let job = try daemon.waitForEnd(name)
            #expect(job.status == .completed, "\(job.failureReason ?? "") \(daemon.log(name))")
            let log = daemon.log(name)
            for line in ["shm=shared", "hosts has algo-1", "tmp=\(name)"] { #expect(log.contains(line), "\(line): \(log)") }
        }
        var info = stat()
        #expect(lstat(daemon.root + "/image/dev/null", &info) != 0, "a write to /dev/null created a file in the image directory")
        #expect(!FileManager.default.fileExists(atPath: daemon.root + "/image/tmp/written"), "a job's write reached the image directory")
    }

    @Test("an unknown image is refused at intake, with the site's words")
    func unknownImage() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        try daemon.submit(daemon.definition(name: "nope", image: "missing:latest"), as: "nope.json")
        let report = daemon.root + "/spool/rejected/nope.json.error.json"
        try daemon.waitFor("the rejection", timeout: 10) { FileManager.default.fileExists(atPath: report) }
        let text = try String(contentsOfFile: report, encoding: .utf8)
        #expect(text.contains("\"code\": \"site\""))
        // Not in the image table, and not in the local container storage (or no storage at all).
        #expect(text.contains("TrainingImage 'missing:latest' is not"), "\(text)")
        #expect(text.contains("[images.\\\"missing:latest\\\"]"), "\(text)")
    }

    @Test("a job naming an algorithm is checked against its TrainingSpecification and completed from it")
    func algorithm() throws {
        let daemon = try DaemonHarness()
        let image = try daemon.script("algo.sh", "cp /opt/ml/input/config/hyperparameters.json /opt/ml/model/")
        try FileManager.default.createDirectory(atPath: daemon.root + "/algorithms", withIntermediateDirectories: true)
        let algorithm: JSONValue = [
            "AlgorithmName": "scaler",
            "TrainingSpecification": [
                "TrainingImage": .string(image),
                "SupportedHyperParameters": [
                    ["Name": "epochs", "Type": "Integer", "Range": ["IntegerParameterRangeSpecification": ["MinValue": "1", "MaxValue": "10"]], "IsRequired": true],
                    ["Name": "rate", "Type": "Continuous", "DefaultValue": "0.5"],
                ],
                "SupportedTrainingInstanceTypes": ["ml.m5.large"],
                "TrainingChannels": [["Name": "train", "SupportedContentTypes": ["text/csv"], "SupportedInputModes": ["File"]]],
            ],
        ]
        try algorithm.serialized().write(toFile: daemon.root + "/algorithms/scaler.json", atomically: true, encoding: .utf8)
        try daemon.start()
        let base = daemon.definition(name: "scaled", image: "x")
            .setting("AlgorithmSpecification", ["AlgorithmName": "scaler", "TrainingInputMode": "File"])
        try daemon.submit(base.setting("TrainingJobName", "too-many").setting("HyperParameters", ["epochs": "11"]), as: "too-many.json")
        try daemon.submit(base.setting("HyperParameters", ["epochs": "3"]), as: "scaled.json")
        let job = try daemon.waitForEnd("scaled")
        #expect(job.status == .completed, "\(job.failureReason ?? "")")
        #expect((try? String(contentsOfFile: daemon.root + "/jobs/scaled/algo-1/model/hyperparameters.json", encoding: .utf8)) == #"{"epochs":"3","rate":"0.5"}"#)
        let report = daemon.root + "/spool/rejected/too-many.json.error.json"
        try daemon.waitFor("the rejection", timeout: 10) { FileManager.default.fileExists(atPath: report) }
        #expect(try String(contentsOfFile: report, encoding: .utf8).contains("Hyperparameter 'epochs' of algorithm 'scaler' must be between 1 and 10, not 11"))
    }

    @Test("a job runs as the owner of its spool file, and stages only what that user can read")
    func owner() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let image = try daemon.script("whoami.sh", "id -u > /opt/ml/model/uid; cat /opt/ml/input/data/train/a.csv > /opt/ml/model/data")
        for (directory, mode) in [("readable", 0o755), ("secret", 0o700)] {
            try FileManager.default.createDirectory(atPath: daemon.root + "/" + directory, withIntermediateDirectories: true)
            try "1,2\n".write(toFile: daemon.root + "/\(directory)/a.csv", atomically: true, encoding: .utf8)
            chmod(daemon.root + "/" + directory, mode_t(mode))
        }
        try FileManager.default.createDirectory(atPath: daemon.root + "/output", withIntermediateDirectories: true)
        chmod(daemon.root + "/output", 0o1777)
        for (name, directory) in [("mine", "readable"), ("theirs", "secret")] {
            let definition = daemon.definition(name: name, image: image).setting("InputDataConfig", [[
                "ChannelName": "train", "DataSource": ["S3DataSource": ["S3DataType": "S3Prefix", "S3Uri": .string("file://\(daemon.root)/\(directory)/")]],
            ]])
            try daemon.submit(definition, as: name + ".json", owner: 65534)
        }
        let mine = try daemon.waitForEnd("mine")
        #expect(mine.status == .completed, "\(mine.failureReason ?? "")")
        #expect((try? String(contentsOfFile: daemon.root + "/jobs/mine/algo-1/model/uid", encoding: .utf8)) == "65534\n")
        var info = stat()
        stat(daemon.root + "/output/mine/output/model.tar.gz", &info)
        #expect(info.st_uid == 65534, "artifacts are written with the owner's rights")
        let theirs = try daemon.waitForEnd("theirs")
        #expect(theirs.status == .failed)
        #expect(theirs.failureReason?.hasPrefix("ClientError: cannot read the data directory") == true || theirs.failureReason?.contains("Permission denied") == true,
                "\(theirs.failureReason ?? "")")
    }

    @Test("an unprivileged daemon runs jobs in a user namespace; a setsid grandchild does not outlive its job")
    func unprivilegedDaemon() throws {
        let daemon = try DaemonHarness()
        chown(daemon.root, 65534, 65534)
        chown(daemon.configPath, 65534, 65534)
        try daemon.start(prefix: ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"])
        let marker = String(800_000 + Int.random(in: 0..<99_999))
        let image = try daemon.script("spawner.sh", """
            grep -q ' /opt/ml ' /proc/self/mountinfo && echo bound > /opt/ml/model/mount
            setsid sh -c 'exec sleep \(marker)' &
            sleep 0.5
            """)
        chown(image, 65534, 65534)
        try daemon.submit(daemon.definition(name: "userns", image: image), as: "userns.json", owner: 65534)
        let job = try daemon.waitForEnd("userns")
        #expect(job.status == .completed, "\(job.failureReason ?? "") \(daemon.stderr)")
        #expect((try? String(contentsOfFile: daemon.root + "/jobs/userns/algo-1/model/mount", encoding: .utf8)) == "bound\n")
        try daemon.waitFor("the grandchild to be gone", timeout: 5) { DaemonHarness.processes(withArguments: ["sleep", marker]).isEmpty }
    }
}

@Suite("Daemon start-up")
struct StartupTests {
    static func run(_ arguments: [String]) throws -> CommandResult {
        try runCommand([DaemonHarness.products + "/trainingd"] + arguments)
    }

    @Test("a second daemon on the same root refuses to start and names the first")
    func secondDaemon() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let second = try Self.run(["--root", daemon.root])
        #expect(second.status != 0)
        #expect(second.stderr.contains("another trainingd (pid \(daemon.process?.processIdentifier ?? 0)) is running on this root"))
    }

    @Test("a socket path longer than the kernel allows is a clear error")
    func longSocketPath() throws {
        let root = "/tmp/" + String(repeating: "d", count: 100)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let result = try Self.run(["--root", root])
        #expect(result.status != 0)
        #expect(result.stderr.contains("Unix sockets allow at most 107"))
    }

    @Test("a bad configuration stops the daemon with the key's name and EX_CONFIG")
    func badConfiguration() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).conf").path
        try "[jobs]\nmax_concurent = 2\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { unlink(path) }
        let result = try Self.run(["--config", path, "--root", "/tmp/td-bad-\(getpid())"])
        try? FileManager.default.removeItem(atPath: "/tmp/td-bad-\(getpid())")
        #expect(result.status == 78)
        #expect(result.stderr.contains("jobs.max_concurent: unknown key; did you mean 'jobs.max_concurrent'?"))
    }
}

@Suite("Retention")
struct RetentionTests {
    @Test("an ended job's volume is removed after the retention; its artifacts stay")
    func retention() throws {
        let daemon = try DaemonHarness(config: "volume_retention_seconds = 0")
        try daemon.start()
        let image = try daemon.script("ok.sh", "echo m > /opt/ml/model/m")
        try daemon.submit(daemon.definition(name: "brief", image: image), as: "brief.json")
        #expect(try daemon.waitForEnd("brief").status == .completed)
        try daemon.waitFor("the volume to go", timeout: 5) { !FileManager.default.fileExists(atPath: daemon.root + "/jobs/brief") }
        #expect(FileManager.default.fileExists(atPath: daemon.root + "/output/brief/output/model.tar.gz"))
    }
}

extension SiteEndToEndTests {
    @Test("a definition with s3:// locations runs unchanged from local buckets: data, output, checkpoints; an unserved bucket is refused at submission")
    func localBuckets() throws {
        let daemon = try DaemonHarness(config: "[buckets.\"training-data\"]\npath = \"\(NSTemporaryDirectory())td-bucket-data-placeholder\"")
        // The data bucket is mapped by name (to a directory made below); the output bucket is found
        // under the root's buckets/ directory, the default.
        let dataBucket = NSTemporaryDirectory() + "td-bucket-data-placeholder"
        try? FileManager.default.removeItem(atPath: dataBucket)
        try FileManager.default.createDirectory(atPath: dataBucket + "/train", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dataBucket) }
        try "1,2\n3,4\n".write(toFile: dataBucket + "/train/part-0.csv", atomically: false, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: daemon.root + "/buckets/sagemaker-us-east-1-000000000000", withIntermediateDirectories: true)
        try daemon.start()
        let image = try daemon.script("bucket-job.sh", """
            cat /opt/ml/input/data/train/part-0.csv > /opt/ml/model/seen.csv
            echo step > /opt/ml/checkpoints/step-1
            """)
        let definition = daemon.definition(name: "from-buckets", image: image)
            .setting("InputDataConfig", [["ChannelName": "train", "DataSource": ["S3DataSource": [
                "S3DataType": "S3Prefix", "S3Uri": "s3://training-data/train/"]]]])
            .setting("OutputDataConfig.S3OutputPath", "s3://sagemaker-us-east-1-000000000000/models/")
            .setting("CheckpointConfig", ["S3Uri": "s3://sagemaker-us-east-1-000000000000/checkpoints/from-buckets/"])
        try daemon.submit(definition, as: "from-buckets.json")
        let job = try daemon.waitForEnd("from-buckets")
        #expect(job.lifecycle.status == .completed, "\(job.failureReason ?? "") \(daemon.log("from-buckets"))")
        let output = daemon.root + "/buckets/sagemaker-us-east-1-000000000000"
        #expect(daemon.archiveListing(output + "/models/from-buckets/output/model.tar.gz").contains("./seen.csv"))
        #expect(job.modelArtifacts == "s3://sagemaker-us-east-1-000000000000/models/from-buckets/output/model.tar.gz")
        #expect(FileManager.default.fileExists(atPath: output + "/checkpoints/from-buckets/step-1"))

        // A bucket nobody mapped: refused at once, with the way to serve it.
        let file = try daemon.definitionFile("elsewhere", daemon.definition(name: "elsewhere", image: image)
            .setting("OutputDataConfig.S3OutputPath", "s3://Not..valid/out/"))
        let refused = try daemon.jobctl(["submit", file])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("ValidationException"), "\(refused.stderr)")
        let traversal = try daemon.definitionFile("traversal", daemon.definition(name: "traversal", image: image)
            .setting("OutputDataConfig.S3OutputPath", "s3://sagemaker-us-east-1-000000000000/../../etc/"))
        let escaped = try daemon.jobctl(["submit", traversal])
        #expect(escaped.status == 1)
        #expect(escaped.stderr.contains("'..' path segment"), "\(escaped.stderr)")
    }
}

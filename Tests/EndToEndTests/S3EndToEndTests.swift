import Foundation
import Testing
import TrainingCore
import TrainingFiles
import TrainingObjectStore
import TrainingS3
import TrainingTestSupport

/// One definition with s3:// locations everywhere, run against an S3 server (moto, signatures
/// checked) and against local buckets: the same objects are read, the same artifacts,
/// checkpoints and intermediate output are written, and the algorithm sees the same /opt/ml.
@Suite("s3:// locations on an S3 server and in local buckets", .serialized,
       .enabled(if: FileManager.default.isExecutableFile(atPath: MotoServer.tools + "/moto_server"), "run scripts/test-tools.sh (make test does)"))
struct S3EndToEndTests {
    /// 20 MiB of data: downloaded in ranged parts, and a model archive uploaded as a multipart upload.
    static let largeSize = 20 << 20

    /// Reads every channel file, records what was restored, writes a model (large enough to be
    /// uploaded in parts), a checkpoint and intermediate output.
    static let algorithm = """
        set -e
        cat /opt/ml/input/data/train/part-1.csv /opt/ml/input/data/train/sub/part-2.csv > /opt/ml/model/seen.txt
        md5sum < /opt/ml/input/data/train/large.bin | cut -d' ' -f1 > /opt/ml/model/large.md5
        ls /opt/ml/checkpoints > /opt/ml/model/restored.txt
        head -c 20000000 /opt/ml/input/data/train/large.bin > /opt/ml/model/weights.bin
        echo step-2 > /opt/ml/checkpoints/.tmp && mv /opt/ml/checkpoints/.tmp /opt/ml/checkpoints/step-2.ckpt
        echo halfway > /opt/ml/output/intermediate/progress.txt
        sleep 1
        """

    func definition(_ daemon: DaemonHarness, bucket: String, image: String) -> JSONValue {
        daemon.definition(name: "s3job", image: image)
            .setting("OutputDataConfig.S3OutputPath", .string("s3://\(bucket)/out/"))
            .setting("CheckpointConfig", ["S3Uri": .string("s3://\(bucket)/ckpt/")])
            .setting("InputDataConfig", [["ChannelName": "train", "DataSource": ["S3DataSource": [
                "S3DataType": "S3Prefix", "S3Uri": .string("s3://\(bucket)/data/train/"), "S3DataDistributionType": "FullyReplicated",
            ]]]])
    }

    /// The data set, as files under `directory` by key.
    static func writeData(into directory: String, large: Data) throws {
        for (key, contents) in [("data/train/part-1.csv", Data("a,1\n".utf8)), ("data/train/sub/part-2.csv", Data("b,2\n".utf8)),
                                ("data/train/large.bin", large), ("data/training-elsewhere.csv", Data("not mine\n".utf8)),
                                ("ckpt/step-1.ckpt", Data("step-1\n".utf8))] {
            let path = directory + "/" + key
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try contents.write(to: URL(fileURLWithPath: path))
        }
    }

    static func largeData() -> Data {
        var bytes = [UInt8](repeating: 0, count: largeSize)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for index in bytes.indices {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            bytes[index] = UInt8(truncatingIfNeeded: state >> 33)
        }
        return Data(bytes)
    }

    static func md5(_ path: String) -> String {
        DaemonHarness.output(of: ["/usr/bin/md5sum", path])?.split(separator: " ").first.map(String.init) ?? ""
    }

    /// What the job left, read back from wherever its locations are: the model archive's files,
    /// the checkpoint keys, the intermediate output.
    struct Outcome: Equatable {
        var seen: String
        var largeDigest: String
        var restored: String
        var weightsDigest: String
        var checkpoints: [String]
        var intermediate: String
    }

    static func outcome(modelArchive: String, checkpoints: [String], intermediate: String, scratch: String, daemon: DaemonHarness) -> Outcome {
        Outcome(seen: daemon.archiveFile(modelArchive, "seen.txt") ?? "", largeDigest: daemon.archiveFile(modelArchive, "large.md5") ?? "",
                restored: daemon.archiveFile(modelArchive, "restored.txt") ?? "",
                weightsDigest: {
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: "/bin/sh")
                    process.arguments = ["-c", "tar -xzOf \"$0\" ./weights.bin | md5sum | cut -d' ' -f1", modelArchive]
                    let pipe = Pipe()
                    process.standardOutput = pipe
                    try? process.run()
                    let data = pipe.fileHandleForReading.readDataToEndOfFile()
                    process.waitUntilExit()
                    return String(decoding: data, as: UTF8.self)
                }(),
                checkpoints: checkpoints.sorted(), intermediate: intermediate)
    }

    @Test("on an S3 server: channels downloaded (a large object in ranged parts), checkpoints restored and synced, intermediate output synced, the model uploaded in parts; in local buckets: the same")
    func sameDefinitionBothWays() throws {
        let moto = try #require(MotoServer.shared, "moto's server did not start")
        let bucket = try moto.makeBucket()
        let large = Self.largeData()
        let scratch = NSTemporaryDirectory() + "trainingd-s3e2e-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try Self.writeData(into: scratch + "/source", large: large)
        let client = moto.client()
        for key in ["data/train/part-1.csv", "data/train/sub/part-2.csv", "data/train/large.bin", "data/training-elsewhere.csv", "ckpt/step-1.ckpt"] {
            try client.putObject(bucket: bucket, key: key, from: scratch + "/source/" + key)
        }
        let largeDigest = Self.md5(scratch + "/source/data/train/large.bin")

        // On the S3 server.
        let remote = try DaemonHarness(config: """

            [s3]
            endpoint = "\(moto.endpoint)"
            region = "us-east-1"
            access_key_id = "\(moto.credentials.accessKeyID)"
            secret_access_key = "\(moto.credentials.secretAccessKey)"
            """)
        try remote.start()
        let image = try remote.script("train.sh", Self.algorithm)
        try remote.submit(definition(remote, bucket: bucket, image: image), as: "s3job.json")
        let remoteJob = try remote.waitForEnd("s3job", timeout: 120)
        #expect(remoteJob.lifecycle.status == .completed, "\(remoteJob.failureReason ?? "")")
        #expect(remoteJob.modelArtifacts == "s3://\(bucket)/out/s3job/output/model.tar.gz")
        try client.getObject(bucket: bucket, key: "out/s3job/output/model.tar.gz", to: scratch + "/remote-model.tar.gz")
        try client.getObject(bucket: bucket, key: "out/s3job/output/intermediate/progress.txt", to: scratch + "/remote-progress.txt")
        let remoteOutcome = Self.outcome(
            modelArchive: scratch + "/remote-model.tar.gz",
            checkpoints: try client.listObjects(bucket: bucket, prefix: "ckpt/").map(\.key),
            intermediate: (try? String(contentsOfFile: scratch + "/remote-progress.txt", encoding: .utf8)) ?? "", scratch: scratch, daemon: remote)
        #expect(remoteOutcome.seen == "a,1\nb,2\n")
        #expect(remoteOutcome.largeDigest == largeDigest + "\n")
        #expect(remoteOutcome.restored == "step-1.ckpt\n")
        #expect(remoteOutcome.checkpoints == ["ckpt/step-1.ckpt", "ckpt/step-2.ckpt"])
        #expect(remoteOutcome.intermediate == "halfway\n")
        #expect(try client.headObject(bucket: bucket, key: "out/s3job/output/output.tar.gz") != nil)
        remote.stop()

        // The same definition with the bucket served from a local directory, and no S3 at all.
        let local = try DaemonHarness()
        try Self.writeData(into: local.root + "/buckets/" + bucket, large: large)
        try local.start()
        let localImage = try local.script("train.sh", Self.algorithm)
        try local.submit(definition(local, bucket: bucket, image: localImage), as: "s3job.json")
        let localJob = try local.waitForEnd("s3job", timeout: 120)
        #expect(localJob.lifecycle.status == .completed, "\(localJob.failureReason ?? "")")
        let localBucket = local.root + "/buckets/" + bucket
        let localOutcome = Self.outcome(
            modelArchive: localBucket + "/out/s3job/output/model.tar.gz",
            checkpoints: ((try? FileManager.default.contentsOfDirectory(atPath: localBucket + "/ckpt")) ?? []).map { "ckpt/" + $0 },
            intermediate: (try? String(contentsOfFile: localBucket + "/out/s3job/output/intermediate/progress.txt", encoding: .utf8)) ?? "",
            scratch: scratch, daemon: local)
        #expect(localOutcome == remoteOutcome)
    }

    @Test("Pipe mode from the S3 server: a plain channel streams from ranged GETs (a 20 MiB object in parts), a Gzip one is inflated; an AugmentedManifestFile there streams the objects its lines name")
    func pipeFromS3() throws {
        let moto = try #require(MotoServer.shared, "moto's server did not start")
        let bucket = try moto.makeBucket()
        let client = moto.client()
        let scratch = NSTemporaryDirectory() + "trainingd-s3pipe-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        try Self.largeData().write(to: URL(fileURLWithPath: scratch + "/a.bin"))
        try "the end\n".write(toFile: scratch + "/b.txt", atomically: false, encoding: .utf8)
        try "hello zipped\n".write(toFile: scratch + "/x", atomically: false, encoding: .utf8)
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gzip.arguments = ["-k", scratch + "/x"]
        try gzip.run()
        gzip.waitUntilExit()
        try client.putObject(bucket: bucket, key: "pipe/train/a.bin", from: scratch + "/a.bin")
        try client.putObject(bucket: bucket, key: "pipe/train/b.txt", from: scratch + "/b.txt")
        try client.putObject(bucket: bucket, key: "pipe/zipped/x.gz", from: scratch + "/x.gz")
        let both = FileHandle(forWritingAtPath: scratch + "/a.bin")!
        both.seekToEndOfFile()
        both.write(Data("the end\n".utf8))
        try both.close()
        let expected = Self.md5(scratch + "/a.bin")

        let daemon = try DaemonHarness(config: """

            [s3]
            endpoint = "\(moto.endpoint)"
            access_key_id = "\(moto.credentials.accessKeyID)"
            secret_access_key = "\(moto.credentials.secretAccessKey)"
            """)
        try FileManager.default.createDirectory(atPath: daemon.root + "/output", withIntermediateDirectories: true)
        try daemon.start()
        let image = try daemon.script("pipe.sh", """
            set -e
            md5sum < /opt/ml/input/data/train_0 | cut -d' ' -f1 > /opt/ml/model/train.md5
            cat /opt/ml/input/data/zipped_0 > /opt/ml/model/zipped.txt
            """)
        try daemon.submit(daemon.definition(name: "piped", image: image)
            .setting("AlgorithmSpecification.TrainingInputMode", "Pipe")
            .setting("InputDataConfig", [
                ["ChannelName": "train", "DataSource": ["S3DataSource": ["S3DataType": "S3Prefix", "S3Uri": .string("s3://\(bucket)/pipe/train/")]]],
                ["ChannelName": "zipped", "CompressionType": "Gzip",
                 "DataSource": ["S3DataSource": ["S3DataType": "S3Prefix", "S3Uri": .string("s3://\(bucket)/pipe/zipped/")]]],
            ]), as: "piped.json")
        let job = try daemon.waitForEnd("piped", timeout: 120)
        #expect(job.lifecycle.status == .completed, "\(job.failureReason ?? "")")
        let archive = daemon.root + "/output/piped/output/model.tar.gz"
        #expect(daemon.archiveFile(archive, "train.md5") == expected + "\n")
        #expect(daemon.archiveFile(archive, "zipped.txt") == "hello zipped\n")

        // An AugmentedManifestFile on the server, its -ref objects there too.
        try #"{"source-ref": "s3://\#(bucket)/pipe/train/b.txt", "label": 7}"#.write(toFile: scratch + "/manifest.jsonl", atomically: false, encoding: .utf8)
        try client.putObject(bucket: bucket, key: "pipe/manifest.jsonl", from: scratch + "/manifest.jsonl")
        let augmentedImage = try daemon.script("augmented.sh", "cat /opt/ml/input/data/train_0 > /opt/ml/model/stream.txt")
        try daemon.submit(daemon.definition(name: "augmented", image: augmentedImage)
            .setting("AlgorithmSpecification.TrainingInputMode", "Pipe")
            .setting("InputDataConfig", [["ChannelName": "train", "DataSource": ["S3DataSource": [
                "S3DataType": "AugmentedManifestFile", "S3Uri": .string("s3://\(bucket)/pipe/manifest.jsonl"), "AttributeNames": ["source-ref", "label"],
            ]]]]), as: "augmented.json")
        let augmented = try daemon.waitForEnd("augmented", timeout: 60)
        #expect(augmented.lifecycle.status == .completed, "\(augmented.failureReason ?? "")")
        #expect(daemon.archiveFile(daemon.root + "/output/augmented/output/model.tar.gz", "stream.txt") == "the end\n7")
    }

    @Test("FastFile from the S3 server: a prefix ending in '/' is a read-only FUSE mount (rclone) that only the owner can read, bound at the channel and gone with the job; other prefixes are downloaded, an empty one is a ClientError",
          .enabled(if: RcloneMount.isAvailable(executable: "/usr/bin/rclone") && getuid() == 0, "needs root, /dev/fuse and rclone (scripts/install-deps.sh)"))
    func fastFileFromS3() throws {
        let moto = try #require(MotoServer.shared, "moto's server did not start")
        let bucket = try moto.makeBucket()
        let client = moto.client()
        let scratch = NSTemporaryDirectory() + "trainingd-s3ff-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try Self.writeData(into: scratch, large: Self.largeData())
        for key in ["data/train/part-1.csv", "data/train/sub/part-2.csv", "data/train/large.bin", "data/training-elsewhere.csv"] {
            try client.putObject(bucket: bucket, key: key, from: scratch + "/" + key)
        }
        let largeDigest = Self.md5(scratch + "/data/train/large.bin")
        let daemon = try daemonOnMoto(moto)
        let owner: uid_t = 65534
        let image = try daemon.script("fastfile.sh", """
            set -e
            grep -c ' /opt/ml/input/data/train .* fuse.rclone ' /proc/self/mountinfo > /opt/ml/model/fuse.txt
            cat /opt/ml/input/data/train/part-1.csv /opt/ml/input/data/train/sub/part-2.csv > /opt/ml/model/seen.txt
            md5sum < /opt/ml/input/data/train/large.bin | cut -d' ' -f1 > /opt/ml/model/large.md5
            ls /opt/ml/input/data/copied > /opt/ml/model/copied.txt
            if touch /opt/ml/input/data/train/new 2>/dev/null; then echo writable; else echo read-only; fi > /opt/ml/model/mode.txt
            touch /opt/ml/model/ready
            sleep 4
            """)
        func channel(_ name: String, _ uri: String) -> JSONValue {
            ["ChannelName": .string(name), "InputMode": "FastFile",
             "DataSource": ["S3DataSource": ["S3DataType": "S3Prefix", "S3Uri": .string(uri)]]]
        }
        try daemon.submit(daemon.definition(name: "fastfile", image: image)
            .setting("OutputDataConfig.S3OutputPath", .string("s3://\(bucket)/out/"))
            .setting("InputDataConfig", [channel("train", "s3://\(bucket)/data/train/"), channel("copied", "s3://\(bucket)/data/train")]),
            as: "fastfile.json", owner: owner)
        // While it trains: the mount is the owner's to read, and nobody else's.
        let mountPoint = daemon.root + "/jobs/fastfile/.work/fastfile-algo-1-train"
        try daemon.waitFor("the algorithm to read its channels", timeout: 60) {
            FileManager.default.fileExists(atPath: daemon.root + "/jobs/fastfile/algo-1/model/ready")
                || (try? daemon.job("fastfile"))?.lifecycle.status.isTerminal == true
        }
        #expect(DaemonHarness.output(of: ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/bin/cat", mountPoint + "/part-1.csv"]) == "a,1\n")
        #expect(DaemonHarness.output(of: ["/usr/bin/setpriv", "--reuid=65533", "--regid=65533", "--clear-groups", "/bin/cat", mountPoint + "/part-1.csv"]) == nil)
        let job = try daemon.waitForEnd("fastfile", timeout: 120)
        #expect(job.lifecycle.status == .completed, "\(job.failureReason ?? "")")
        try client.getObject(bucket: bucket, key: "out/fastfile/output/model.tar.gz", to: scratch + "/model.tar.gz")
        let model = scratch + "/model.tar.gz"
        #expect(daemon.archiveFile(model, "fuse.txt") == "1\n")
        #expect(daemon.archiveFile(model, "seen.txt") == "a,1\nb,2\n")
        #expect(daemon.archiveFile(model, "large.md5") == largeDigest + "\n")
        #expect(daemon.archiveFile(model, "mode.txt") == "read-only\n")
        // "data/train" is not a whole directory: downloaded (keys relative to its last '/'), and said so.
        #expect(daemon.archiveFile(model, "copied.txt") == "train\ntraining-elsewhere.csv\n")
        let messages = job.transitions.map(\.statusMessage).joined(separator: "\n")
        #expect(messages.contains("FastFile channel copied was downloaded in full"))
        #expect(!messages.contains("FastFile channel train"))
        // Nothing of the mount is left: not the mount, not its rclone.
        #expect(Mounts.mountPoints(in: daemon.root + "/jobs/fastfile/.work").isEmpty)
        try daemon.waitFor("rclone to exit", timeout: 10) {
            !((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).contains { entry in
                guard Int32(entry) != nil, let line = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return false }
                return String(decoding: line, as: UTF8.self).contains(mountPoint)
            }
        }

        // An empty prefix fails as SageMaker's FastFile does, before the algorithm starts.
        try daemon.submit(daemon.definition(name: "fastfile-empty", image: image)
            .setting("OutputDataConfig.S3OutputPath", .string("s3://\(bucket)/out/"))
            .setting("InputDataConfig", [channel("train", "s3://\(bucket)/nothing-here/")]), as: "empty.json", owner: owner)
        let empty = try daemon.waitForEnd("fastfile-empty", timeout: 60)
        #expect(empty.lifecycle.status == .failed)
        #expect(empty.failureReason?.hasPrefix("ClientError: No S3 objects found under S3 URL \"s3://\(bucket)/nothing-here/\"") == true, "\(empty.failureReason ?? "")")
        #expect(Mounts.mountPoints(in: daemon.root + "/jobs/fastfile-empty/.work").isEmpty)
    }

    @Test("a ManifestFile on the S3 server: the objects it names (keys with spaces and unicode among them) are downloaded under their keys relative to its prefix, and only those")
    func manifestFromS3() throws {
        let moto = try #require(MotoServer.shared, "moto's server did not start")
        let bucket = try moto.makeBucket()
        let client = moto.client()
        for (key, body) in [("data/train/part-1.csv", "a,1\n"), ("data/train/my file ü.csv", "c,3\n"), ("data/train/left-out.csv", "no\n")] {
            try client.putObject(bucket: bucket, key: key, data: Data(body.utf8))
        }
        let manifest = #"[{"prefix": "s3://\#(bucket)/data/"}, "train/part-1.csv", "train/my file ü.csv"]"#
        try client.putObject(bucket: bucket, key: "manifests/train.manifest", data: Data(manifest.utf8))
        let daemon = try daemonOnMoto(moto)
        let image = try daemon.script("manifest.sh", """
            set -e
            cd /opt/ml/input/data/train && find . -type f | sort > /opt/ml/model/files.txt
            cat "/opt/ml/input/data/train/train/my file ü.csv" > /opt/ml/model/unicode.txt
            """)
        try daemon.submit(daemon.definition(name: "manifest", image: image)
            .setting("OutputDataConfig.S3OutputPath", .string("s3://\(bucket)/out/"))
            .setting("InputDataConfig", [["ChannelName": "train", "DataSource": ["S3DataSource": [
                "S3DataType": "ManifestFile", "S3Uri": .string("s3://\(bucket)/manifests/train.manifest"),
            ]]]]), as: "manifest.json")
        let job = try daemon.waitForEnd("manifest", timeout: 60)
        #expect(job.lifecycle.status == .completed, "\(job.failureReason ?? "")")
        let scratch = NSTemporaryDirectory() + "trainingd-s3manifest-" + UUID().uuidString + ".tar.gz"
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try client.getObject(bucket: bucket, key: "out/manifest/output/model.tar.gz", to: scratch)
        #expect(daemon.archiveFile(scratch, "files.txt") == "./train/my file ü.csv\n./train/part-1.csv\n")
        #expect(daemon.archiveFile(scratch, "unicode.txt") == "c,3\n")
    }

    /// A daemon whose [s3] points at moto, with `secret` instead of the real secret when given.
    func daemonOnMoto(_ moto: MotoServer, secret: String? = nil, gracePeriod: Int = 2) throws -> DaemonHarness {
        let daemon = try DaemonHarness(config: """

            [s3]
            endpoint = "\(moto.endpoint)"
            access_key_id = "\(moto.credentials.accessKeyID)"
            secret_access_key = "\(secret ?? moto.credentials.secretAccessKey)"
            """, gracePeriod: gracePeriod)
        try daemon.start()
        return daemon
    }

    @Test("a wrong secret, a missing bucket and a prefix with no objects fail the job with a ClientError that names the bucket and the server's answer")
    func clientErrors() throws {
        let moto = try #require(MotoServer.shared, "moto's server did not start")
        let bucket = try moto.makeBucket()
        let client = moto.client()
        let scratch = NSTemporaryDirectory() + "trainingd-s3err-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        try "x".write(toFile: scratch + "/x", atomically: false, encoding: .utf8)
        try client.putObject(bucket: bucket, key: "data/x.csv", from: scratch + "/x")

        func channel(_ uri: String) -> JSONValue {
            [["ChannelName": "train", "DataSource": ["S3DataSource": ["S3DataType": "S3Prefix", "S3Uri": .string(uri)]]]]
        }
        let wrong = try daemonOnMoto(moto, secret: "not-the-secret")
        let image = try wrong.script("true.sh", "true")
        try FileManager.default.createDirectory(atPath: wrong.root + "/output", withIntermediateDirectories: true)
        try wrong.submit(wrong.definition(name: "wrongsecret", image: image).setting("InputDataConfig", channel("s3://\(bucket)/data/")),
                         as: "wrongsecret.json")
        let refused = try wrong.waitForEnd("wrongsecret", timeout: 60)
        #expect(refused.lifecycle.status == .failed)
        #expect(refused.failureReason?.hasPrefix("ClientError: ") == true, "\(refused.failureReason ?? "")")
        #expect(refused.failureReason?.contains("SignatureDoesNotMatch") == true, "\(refused.failureReason ?? "")")
        #expect(refused.failureReason?.contains("s3://\(bucket)") == true, "\(refused.failureReason ?? "")")
        wrong.stop()

        let daemon = try daemonOnMoto(moto)
        let trueImage = try daemon.script("true.sh", "true")
        try FileManager.default.createDirectory(atPath: daemon.root + "/output", withIntermediateDirectories: true)
        try daemon.submit(daemon.definition(name: "nobucket", image: trueImage).setting("InputDataConfig", channel("s3://no-such-bucket-\(bucket)/data/")),
                          as: "nobucket.json")
        try daemon.submit(daemon.definition(name: "noobjects", image: trueImage).setting("InputDataConfig", channel("s3://\(bucket)/nothing/here/")),
                          as: "noobjects.json")
        let missing = try daemon.waitForEnd("nobucket", timeout: 60)
        #expect(missing.failureReason?.hasPrefix("ClientError: ") == true && missing.failureReason?.contains("NoSuchBucket") == true,
                "\(missing.failureReason ?? "")")
        let empty = try daemon.waitForEnd("noobjects", timeout: 60)
        #expect(empty.failureReason?.hasPrefix("ClientError: No S3 objects found under S3 URL \"s3://\(bucket)/nothing/here/\"") == true,
                "\(empty.failureReason ?? "")")
    }

    @Test("an interrupted job resumes from the checkpoints it synced to the S3 server")
    func checkpointRestoreAfterInterruption() throws {
        let moto = try #require(MotoServer.shared, "moto's server did not start")
        let bucket = try moto.makeBucket()
        let daemon = try daemonOnMoto(moto, gracePeriod: 5)
        try FileManager.default.createDirectory(atPath: daemon.root + "/output", withIntermediateDirectories: true)
        try daemon.submit(InterruptionEndToEndTests.exampleDefinition(daemon, name: "spot", epochs: 8, epochSeconds: 0.2)
            .setting("CheckpointConfig.S3Uri", .string("s3://\(bucket)/checkpoints/spot/")), as: "spot.json")
        let epochs = { InterruptionEndToEndTests.epochs(in: daemon.log("spot")) }
        try daemon.waitFor("epoch 3", timeout: 30) { epochs().contains(3) }
        let interrupted = try daemon.jobctl(["interrupt", "spot"])
        #expect(interrupted.status == 0, "\(interrupted.stderr)")
        let job = try daemon.waitForEnd("spot", timeout: 60)
        #expect(job.lifecycle.status == .completed, "\(job.failureReason ?? "")")
        let log = daemon.log("spot")
        let saved = try #require(log.range(of: "SIGTERM: saving the model at epoch ").map { Int(log[$0.upperBound...].prefix { $0.isNumber }) } ?? nil, "\(log)")
        #expect(log.contains("resuming from epoch \(saved)"), "\(log)")
        #expect(epochs() == Array(1...8), "\(epochs())")
        #expect(job.attemptHistory.map(\.outcome) == [.interrupted, .completed])
        #expect(try !moto.client().listObjects(bucket: bucket, prefix: "checkpoints/spot/").isEmpty)
    }

    @Test("a 200 MiB model goes up as a multipart upload and comes back byte for byte")
    func largeArtifact() throws {
        let moto = try #require(MotoServer.shared, "moto's server did not start")
        let bucket = try moto.makeBucket()
        let daemon = try daemonOnMoto(moto)
        let image = try daemon.script("large.sh", """
            set -e
            head -c 209715200 /dev/urandom > /opt/ml/model/weights.bin
            md5sum < /opt/ml/model/weights.bin | cut -d' ' -f1 > /opt/ml/model/weights.md5
            """)
        try daemon.submit(daemon.definition(name: "large", image: image, maxRuntime: 300)
            .setting("OutputDataConfig.S3OutputPath", .string("s3://\(bucket)/out/")), as: "large.json")
        let job = try daemon.waitForEnd("large", timeout: 240)
        #expect(job.lifecycle.status == .completed, "\(job.failureReason ?? "")")
        let scratch = NSTemporaryDirectory() + "trainingd-s3large-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        let size = try #require(try moto.client().headObject(bucket: bucket, key: "out/large/output/model.tar.gz"))
        #expect(size > 200 << 20)
        try S3ObjectStore(client: moto.client(), bucket: bucket).download("out/large/output/model.tar.gz", to: scratch + "/model.tar.gz")
        let extract = Process()
        extract.executableURL = URL(fileURLWithPath: "/bin/tar")
        extract.arguments = ["-xzf", scratch + "/model.tar.gz", "-C", scratch]
        try extract.run()
        extract.waitUntilExit()
        #expect(extract.terminationStatus == 0)
        let recorded = (try? String(contentsOfFile: scratch + "/weights.md5", encoding: .utf8)) ?? "?"
        #expect(Self.md5(scratch + "/weights.bin") + "\n" == recorded)
    }

    @Test("CompressionType NONE on the S3 server: each file of model/ and output/data/ becomes its own object")
    func uncompressedArtifacts() throws {
        let moto = try #require(MotoServer.shared, "moto's server did not start")
        let bucket = try moto.makeBucket()
        let daemon = try daemonOnMoto(moto)
        let image = try daemon.script("files.sh", """
            set -e
            mkdir -p /opt/ml/model/sub
            echo w > /opt/ml/model/weights.txt
            echo s > "/opt/ml/model/sub/with space.txt"
            echo d > /opt/ml/output/data/metrics.json
            """)
        try daemon.submit(daemon.definition(name: "plain", image: image)
            .setting("OutputDataConfig", ["S3OutputPath": .string("s3://\(bucket)/out/"), "CompressionType": "NONE"]), as: "plain.json")
        let job = try daemon.waitForEnd("plain", timeout: 60)
        #expect(job.lifecycle.status == .completed, "\(job.failureReason ?? "")")
        #expect(job.modelArtifacts == "s3://\(bucket)/out/plain/output/model/")
        #expect(try moto.client().listObjects(bucket: bucket, prefix: "out/plain/output/").map(\.key)
            == ["out/plain/output/data/metrics.json", "out/plain/output/model/sub/with space.txt", "out/plain/output/model/weights.txt"])
    }

    @Test("a bucket with an S3 endpoint of its own ([buckets.\"NAME\"] endpoint and keys, no [s3]) is read and written there; other buckets stay local-only")
    func perBucketEndpoint() throws {
        let moto = try #require(MotoServer.shared, "moto's server did not start")
        let bucket = try moto.makeBucket()
        let scratch = NSTemporaryDirectory() + "trainingd-s3bucket-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        try "a,1\n".write(toFile: scratch + "/part.csv", atomically: false, encoding: .utf8)
        try moto.client().putObject(bucket: bucket, key: "data/part.csv", from: scratch + "/part.csv")
        let daemon = try DaemonHarness(config: """

            [buckets."\(bucket)"]
            endpoint = "\(moto.endpoint)"
            access_key_id = "\(moto.credentials.accessKeyID)"
            secret_access_key = "\(moto.credentials.secretAccessKey)"
            """)
        try daemon.start()
        let image = try daemon.script("copy.sh", "cp /opt/ml/input/data/train/part.csv /opt/ml/model/")
        try daemon.submit(daemon.definition(name: "ownendpoint", image: image)
            .setting("OutputDataConfig.S3OutputPath", .string("s3://\(bucket)/out/"))
            .setting("InputDataConfig", [["ChannelName": "train", "DataSource": ["S3DataSource": [
                "S3DataType": "S3Prefix", "S3Uri": .string("s3://\(bucket)/data/")]]]]), as: "ownendpoint.json")
        let job = try daemon.waitForEnd("ownendpoint", timeout: 60)
        #expect(job.lifecycle.status == .completed, "\(job.failureReason ?? "")")
        #expect(try moto.client().headObject(bucket: bucket, key: "out/ownendpoint/output/model.tar.gz") != nil)
        try daemon.submit(daemon.definition(name: "elsewhere", image: image).setting("OutputDataConfig.S3OutputPath", "s3://another-bucket-x/out/"),
                          as: "elsewhere.json")
        let report = daemon.root + "/spool/rejected/elsewhere.json.error.json"
        try daemon.waitFor("the rejection", timeout: 20) { FileManager.default.fileExists(atPath: report) }
    }

    @Test("a bucket neither local nor reachable is refused at submission, naming [s3]")
    func refusedAtSubmission() throws {
        let noS3 = try DaemonHarness()
        try noS3.start()
        let image = try noS3.script("true.sh", "true")
        try noS3.submit(noS3.definition(name: "nowhere", image: image).setting("OutputDataConfig.S3OutputPath", "s3://no-such-bucket-here/out/"),
                        as: "nowhere.json")
        let report = noS3.root + "/spool/rejected/nowhere.json.error.json"
        try noS3.waitFor("the rejection", timeout: 20) { FileManager.default.fileExists(atPath: report) }
        #expect(try String(contentsOfFile: report, encoding: .utf8).contains("[s3]"))
    }
}

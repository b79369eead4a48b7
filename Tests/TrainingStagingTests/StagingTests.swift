import Foundation
import Testing
@testable import TrainingCore
@testable import TrainingStaging

/// A temporary directory removed at the end of a test.
final class TemporaryDirectory {
    let path: String
    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("trainingd-\(UUID().uuidString)").path
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ relative: String, _ text: String) {
        let full = path + "/" + relative
        try! FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try! text.write(toFile: full, atomically: false, encoding: .utf8)
    }

    func read(_ relative: String) -> String? { try? String(contentsOfFile: path + "/" + relative, encoding: .utf8) }
}

@Suite("Local objects with S3 semantics")
struct LocalObjectsTests {
    @Test("a prefix is a string: keys are relative to its last '/'")
    func prefixSemantics() throws {
        let root = TemporaryDirectory()
        root.write("data/train.csv", "a")
        root.write("data/train/part-1", "bb")
        root.write("data/train/sub/part-0", "c")
        root.write("data/test.csv", "d")
        let all = try LocalObjects.list(prefix: root.path + "/data/train")
        #expect(all.map(\.key) == ["train.csv", "train/part-1", "train/sub/part-0"])
        let directory = try LocalObjects.list(prefix: root.path + "/data/train/")
        #expect(directory.map(\.key) == ["part-1", "sub/part-0"])
        #expect(directory.map(\.size) == [2, 1])
    }

    @Test("a missing location is a client error that names it")
    func missing() {
        #expect(throws: StagingError.self) { try LocalObjects.list(prefix: "/nonexistent/data/") }
    }

    @Test("ShardedByS3Key gives host i the objects at positions i, i+n, ...")
    func sharding() {
        let objects = (0..<5).map { LocalObject(path: "/p\($0)", key: "k\($0)", size: 1) }
        #expect(LocalObjects.shard(objects, .shardedByS3Key, rank: 1, hostCount: 2).map(\.key) == ["k1", "k3"])
        #expect(LocalObjects.shard(objects, .fullyReplicated, rank: 1, hostCount: 2).count == 5)
    }

    @Test("a manifest lists keys under its prefix")
    func manifest() throws {
        let root = TemporaryDirectory()
        root.write("d/a.csv", "1")
        root.write("d/b/c.csv", "2")
        root.write("m.json", #"[{"prefix": "file://\#(root.path)/d/"}, "a.csv", "b/c.csv"]"#)
        #expect(try LocalObjects.fromManifest(at: root.path + "/m.json").map(\.key) == ["a.csv", "b/c.csv"])
    }
}

@Suite("What the algorithm sees")
struct AlgorithmConfigurationTests {
    static func configuration(_ mutate: (inout CreateTrainingJobRequest) -> Void = { _ in }) throws -> AlgorithmConfiguration {
        let text = #"""
            {"TrainingJobName": "j", "AlgorithmSpecification": {"TrainingImage": "/bin/true", "TrainingInputMode": "File"},
             "HyperParameters": {"lr": "0.1", "epochs": "3"},
             "InputDataConfig": [{"ChannelName": "train", "ContentType": "text/csv", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "file:///d/"}}},
                                 {"ChannelName": "eval", "InputMode": "FastFile", "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "file:///e/"}}}],
             "CheckpointConfig": {"S3Uri": "file:///c/"},
             "OutputDataConfig": {"S3OutputPath": "file:///o/"}, "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 2},
             "StoppingCondition": {}}
            """#
        var request = try DefinitionValidator().validate(Array(text.utf8)).get().request
        mutate(&request)
        let cluster = ClusterLayout(resources: request.resourceConfig)
        return AlgorithmConfiguration(request: request, cluster: cluster, host: cluster.hosts[1])
    }

    @Test("the config files, byte for byte")
    func configFiles() throws {
        let files = Dictionary(uniqueKeysWithValues: try Self.configuration().configFiles(jobArn: "arn:j").map { ($0.name, String(decoding: $0.contents, as: UTF8.self)) })
        #expect(files["hyperparameters.json"] == #"{"epochs":"3","lr":"0.1"}"#)
        #expect(files["inputdataconfig.json"] == #"{"train":{"TrainingInputMode":"File","S3DistributionType":"FullyReplicated","RecordWrapperType":"None","ContentType":"text/csv"},"eval":{"TrainingInputMode":"FastFile","S3DistributionType":"FullyReplicated","RecordWrapperType":"None"}}"#)
        #expect(files["resourceconfig.json"] == #"{"current_host":"algo-2","hosts":["algo-1","algo-2"],"current_instance_type":"ml.m5.large","current_group_name":"homogeneousCluster","instance_groups":[{"instance_group_name":"homogeneousCluster","instance_type":"ml.m5.large","hosts":["algo-1","algo-2"]}],"network_interface_name":"lo"}"#)
        #expect(files["checkpointconfig.json"] == #"{"LocalPath":"/opt/ml/checkpoints/","S3Uri":"file:///c/"}"#)
    }

    @Test("no hyperparameters is {}; hosts sort as strings")
    func emptyAndSorted() throws {
        let configuration = try Self.configuration { $0.hyperParameters = nil; $0.resourceConfig.instanceCount = 10 }
        #expect(configuration.hyperParameters.serialized() == "{}")
        #expect(configuration.cluster.sortedHostNames.prefix(3) == ["algo-1", "algo-10", "algo-2"])
    }

    @Test("the SM_ variables of the training toolkit")
    func environment() throws {
        let environment = try Self.configuration().environment(jobArn: "arn:j", cpuCount: 2, gpuCount: 0, imageEnvironment: ["A": "image", "B": "image"])
        #expect(environment["TRAINING_JOB_NAME"] == "j")
        #expect(environment["TRAINING_JOB_ARN"] == "arn:j")
        #expect(environment["SM_CHANNELS"] == #"["eval","train"]"#)
        #expect(environment["SM_CHANNEL_TRAIN"] == "/opt/ml/input/data/train")
        // Decoded as the toolkit decodes them: "3" is the number 3.
        #expect(environment["SM_HPS"] == #"{"epochs":3,"lr":0.1}"#)
        #expect(environment["SM_HP_LR"] == "0.1")
        #expect(environment["SM_CURRENT_HOST"] == "algo-2")
        #expect(environment["SM_CURRENT_HOST_RANK"] == "1")
        #expect(environment["SM_HOST_COUNT"] == "2")
        #expect(environment["SM_NUM_CPUS"] == "2")
        #expect(environment["SM_MODEL_DIR"] == "/opt/ml/model")
        #expect(environment["SM_RESOURCE_CONFIG"]?.hasPrefix(#"{"current_group_name":"homogeneousCluster","current_host":"algo-2""#) == true)
        #expect(environment["A"] == "image")
    }

    @Test("the command rules of section 3")
    func command() {
        let image = ["/img/entry", "--flag"]
        func spec(_ entrypoint: [String]?, _ arguments: [String]?) -> AlgorithmSpecification {
            AlgorithmSpecification(trainingImage: "/img/entry", containerEntrypoint: entrypoint, containerArguments: arguments)
        }
        #expect(AlgorithmConfiguration.command(imageEntrypoint: image, specification: spec(nil, nil)) == ["/img/entry", "--flag", "train"])
        #expect(AlgorithmConfiguration.command(imageEntrypoint: image, specification: spec(["python3"], nil)) == ["python3"])
        #expect(AlgorithmConfiguration.command(imageEntrypoint: image, specification: spec(nil, ["a"])) == ["/img/entry", "--flag", "a"])
        #expect(AlgorithmConfiguration.command(imageEntrypoint: image, specification: spec(["python3"], ["a"])) == ["python3", "a"])
    }
}

@Suite("Staging and packaging")
struct StagerTests {
    @Test("File mode copies the objects; config files and directories are in place")
    func fileMode() throws {
        let root = TemporaryDirectory()
        root.write("data/a.csv", "1,2\n")
        root.write("data/sub/b.csv", "3,4\n")
        root.write("ckpt/step-1", "state")
        let volume = HostVolume(root: root.path + "/volume")
        let copied = try Stager.run(StagingRequest(
            volume: volume, configFiles: ["hyperparameters.json": Array("{}".utf8)],
            copiedChannels: [ChannelPlan(name: "train", source: .prefix(root.path + "/data/"))], mountPoints: ["lazy"],
            checkpointSource: root.path + "/ckpt", checkpointDirectory: volume.checkpointsDirectory))
        #expect(copied == 8)
        #expect(root.read("volume/input/data/train/a.csv") == "1,2\n")
        #expect(root.read("volume/input/data/train/sub/b.csv") == "3,4\n")
        #expect(root.read("volume/input/config/hyperparameters.json") == "{}")
        #expect(root.read("volume/checkpoints/step-1") == "state")
        for directory in ["model", "output/data", "output/intermediate", "input/data/lazy"] {
            #expect(FileManager.default.fileExists(atPath: volume.root + "/" + directory))
        }
    }

    @Test("GZIP output: model.tar.gz keeps symlinks as symlinks")
    func packaging() throws {
        let root = TemporaryDirectory()
        let volume = HostVolume(root: root.path + "/volume")
        try volume.create(channels: [])
        root.write("volume/model/weights.bin", "w")
        try FileManager.default.createSymbolicLink(atPath: volume.modelDirectory + "/link", withDestinationPath: "/etc/passwd")
        root.write("volume/output/data/report.txt", "r")
        try Packager.run(PackagingRequest(volume: volume, outputDirectory: root.path + "/out/j/output", compress: true))
        let listing = try Tool.capture(["tar", "-tvzf", root.path + "/out/j/output/model.tar.gz"])
        #expect(listing.contains("./weights.bin"))
        #expect(listing.contains("./link -> /etc/passwd"))
        #expect(FileManager.default.fileExists(atPath: root.path + "/out/j/output/output.tar.gz"))
    }

    @Test("NONE output of several hosts: a file where an earlier host has a directory (or the reverse) is a clash, not a failure")
    func uncompressedMergeClashes() throws {
        let root = TemporaryDirectory()
        let first = HostVolume(root: root.path + "/algo-1")
        let second = HostVolume(root: root.path + "/algo-2")
        try first.create(channels: [])
        try second.create(channels: [])
        root.write("algo-1/model/a", "file on algo-1")
        root.write("algo-2/model/a/b", "inside a directory on algo-2")
        root.write("algo-2/model/c", "only on algo-2")
        var request = PackagingRequest(volume: first, outputDirectory: root.path + "/out", compress: false)
        request.otherVolumes = [second]
        let notes = try Packager.run(request)
        #expect(root.read("out/model/a") == "file on algo-1")
        #expect(root.read("out/model/c") == "only on algo-2")
        #expect(notes.count == 1 && notes[0].contains("a/b"), "\(notes)")
    }

    @Test("bounded packaging leaves a model beyond its limits to the worker and delivers nothing")
    func boundedPackaging() throws {
        let root = TemporaryDirectory()
        let volume = HostVolume(root: root.path + "/volume")
        try volume.create(channels: [])
        root.write("volume/model/weights", String(repeating: "w", count: 5000))
        let request = PackagingRequest(volume: volume, outputDirectory: root.path + "/out", compress: true)
        #expect(try Packager.runBounded(request, Packager.Limits(entries: 64, bytes: 1000)) == nil)
        #expect(!FileManager.default.fileExists(atPath: root.path + "/out/model.tar.gz"))
        #expect(try Packager.runBounded(request, .inProcess) == [])
        #expect(FileManager.default.fileExists(atPath: root.path + "/out/model.tar.gz"))
    }

    @Test("NONE output: the files themselves")
    func uncompressed() throws {
        let root = TemporaryDirectory()
        let volume = HostVolume(root: root.path + "/volume")
        try volume.create(channels: [])
        root.write("volume/model/m/weights.bin", "w")
        try Packager.run(PackagingRequest(volume: volume, outputDirectory: root.path + "/out", compress: false))
        #expect(root.read("out/model/m/weights.bin") == "w")
    }
}

/// Runs a command through the shell and returns its standard output.
enum Tool {
    static func capture(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}

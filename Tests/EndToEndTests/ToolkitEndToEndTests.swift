import Foundation
import Testing
import TrainingCore

/// SageMaker's own training toolkit (sagemaker-training from PyPI, installed by
/// `scripts/test-tools.sh`), run as a framework container runs it: the `train` entry point,
/// with the request the SageMaker Python SDK's SKLearn estimator sends.
@Suite("The sagemaker-training toolkit, unchanged", .enabled(if: getuid() == 0, "needs root (namespaces)"))
struct ToolkitEndToEndTests {
    static let toolkit = SpoolEndToEndTests.repository + "/.build/test-tools/sagemaker-training"

    /// `<root>/data/train/train.csv` (three rows) and `<root>/source/train.py` (`script`).
    static func scriptModeInputs(in root: String, script: String) throws -> (source: String, data: String) {
        let source = root + "/source"
        let data = root + "/data/train"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        try "1,2\n3,4\n5,6\n".write(toFile: data + "/train.csv", atomically: false, encoding: .utf8)
        try script.write(toFile: source + "/train.py", atomically: false, encoding: .utf8)
        return (source, data)
    }

    @Test("an SDK-style SKLearn job runs through the toolkit's train entry point at once, with no workaround variable")
    func sklearnThroughTheToolkit() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.toolkit + "/bin/train"),
                     "the toolkit is missing: run scripts/test-tools.sh (make test does)")
        let daemon = try DaemonHarness()
        try daemon.start()
        // A user script as the SDK's examples write them: arguments from hyperparameters, paths from SM_*.
        let (source, data) = try Self.scriptModeInputs(in: daemon.root, script: """
            import argparse, json, os, socket
            parser = argparse.ArgumentParser()
            parser.add_argument("--max-depth", type=int, default=1)
            parser.add_argument("--criterion", default="gini")
            parser.add_argument("--model-dir", default=os.environ["SM_MODEL_DIR"])
            parser.add_argument("--train", default=os.environ["SM_CHANNEL_TRAIN"])
            args = parser.parse_args()
            rows = [line.strip().split(",") for line in open(os.path.join(args.train, "train.csv"))]
            mean = sum(float(row[1]) for row in rows) / len(rows)
            with open(os.path.join(args.model_dir, "model.json"), "w") as f:
                json.dump({"mean": mean, "max_depth": args.max_depth, "criterion": args.criterion, "host": socket.gethostname()}, f)
            print("trained: max_depth", args.max_depth, "criterion", args.criterion, "mean", mean)
            """)
        // What SKLearn(entry_point="train.py", source_dir=..., hyperparameters={...}).fit(...) sends:
        // every value JSON-encoded, the framework's own keys prefixed sagemaker_.
        let definition = daemon.definition(name: "sklearn-sdk", image: Self.toolkit + "/bin/train")
            .setting("HyperParameters", [
                "max-depth": "5", "criterion": "\"entropy\"",
                "sagemaker_program": "\"train.py\"", "sagemaker_submit_directory": .string("\"\(source)\""),
                "sagemaker_container_log_level": "20", "sagemaker_region": "\"us-east-1\"", "sagemaker_job_name": "\"sklearn-sdk\"",
            ])
            .setting("InputDataConfig", [["ChannelName": "train", "ContentType": "text/csv", "DataSource": ["S3DataSource": [
                "S3DataType": "S3Prefix", "S3Uri": .string("file://\(data)/"), "S3DataDistributionType": "FullyReplicated"]]]])
            .setting("RoleArn", "arn:aws:iam::000000000000:role/SageMakerRole")
        let started = Date()
        try daemon.submit(definition, as: "sklearn-sdk.json")
        let job = try daemon.waitForEnd("sklearn-sdk", timeout: 120)
        let log = daemon.log("sklearn-sdk")
        #expect(job.lifecycle.status == .completed, "\(job.failureReason ?? "") \(log)")
        #expect(!log.contains("SM_STUDIO_LOCAL_MODE"))
        #expect(log.contains("trained: max_depth 5 criterion entropy mean 4.0"), "\(log)")
        #expect(log.contains("Reporting training SUCCESS"))
        // The toolkit waits up to 15 minutes for algo-1 to resolve; here it never has to.
        #expect(Date().timeIntervalSince(started) < 60)
        let archive = daemon.root + "/output/sklearn-sdk/output/model.tar.gz"
        #expect(daemon.archiveListing(archive).contains("./model.json"))
    }
}

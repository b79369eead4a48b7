import Foundation
import Testing
import TrainingCore

/// What used to fail only at run time (or ran wrongly) is refused at submission, in the same
/// words, through the socket, the spool and `jobctl validate --config`.
@Suite("Submission checks through the socket, the spool and jobctl validate --config")
struct SubmissionChecksEndToEndTests {
    static let hundredLargeHyperparameters: JSONValue = .object((1...100).map {
        JSONValue.Member("hp\($0)", .string(String(repeating: "x", count: 2500)))
    })

    /// Each case: a change to a valid definition, and the field the refusal must name.
    static let cases: [(name: String, change: @Sendable (JSONValue) -> JSONValue, field: String)] = [
        ("s3-output", { $0.setting("OutputDataConfig.S3OutputPath", "s3://my-bucket/out/") }, "outputDataConfig.s3OutputPath"),
        ("equals-key", { $0.setting("HyperParameters", ["a=b": "1"]) }, "hyperParameters.a=b"),
        ("nul-value", { $0.setting("Environment", ["TOKEN": "a\u{0}b"]) }, "environment.TOKEN"),
        ("e2big", { $0.setting("HyperParameters", hundredLargeHyperparameters) }, "hyperParameters"),
        ("dot-dot", { $0.setting("InputDataConfig", [["ChannelName": "..", "DataSource": ["S3DataSource": [
            "S3DataType": "S3Prefix", "S3Uri": "file:///tmp/"]]]]) }, "inputDataConfig.1.member.channelName"),
        // 100 x 96 vCPUs: more than the test machine's 4096 CPUs.
        ("p5e", { $0.setting("ResourceConfig.InstanceType", "ml.m5.24xlarge").setting("ResourceConfig.InstanceCount", 100) },
         "resourceConfig.instanceCount"),
        ("augmented-in-file-mode", { $0.setting("InputDataConfig", [["ChannelName": "train", "DataSource": ["S3DataSource": [
            "S3DataType": "AugmentedManifestFile", "S3Uri": "file:///tmp/manifest.jsonl", "AttributeNames": ["source-ref"]]]]]) },
         "inputDataConfig.1.member.dataSource.s3DataSource.s3DataType"),
    ]

    @Test("every check refuses at submission, naming the field, whichever way the definition arrives")
    func everyWay() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let image = try daemon.script("ok.sh", "exit 0")
        for (name, change, field) in Self.cases {
            let definition = change(daemon.definition(name: name, image: image))
            let file = daemon.root + "/\(name).json"
            try definition.serialized(.pretty).write(toFile: file, atomically: true, encoding: .utf8)

            let validated = try daemon.jobctl(["validate", "--config", daemon.configPath, "--json", file])
            #expect(validated.status == 1, "\(name): validate \(validated.stdout) \(validated.stderr)")
            #expect(validated.stdout.contains("\"\(field)\""), "\(name): \(validated.stdout)")

            let submitted = try daemon.jobctl(["submit", file])
            #expect(submitted.status == 1, "\(name): submit \(submitted.stdout) \(submitted.stderr)")
            #expect(submitted.stderr.contains(name == "p5e" ? "ResourceLimitExceeded" : "ValidationException"), "\(name): \(submitted.stderr)")

            try daemon.submit(definition, as: "spool-\(name).json")
        }
        for (name, _, field) in Self.cases {
            let report = daemon.root + "/spool/rejected/spool-\(name).json.error.json"
            try daemon.waitFor("the rejection of \(name)", timeout: 20) { FileManager.default.fileExists(atPath: report) }
            #expect(try String(contentsOfFile: report, encoding: .utf8).contains("\"\(field)\""), "\(name)")
            #expect(try daemon.job(name) == nil, "\(name) was not accepted")
        }
    }
}

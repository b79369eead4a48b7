import Testing
import TrainingCore

/// What would fail at run time is refused at submission, naming the field.
@Suite("Submission checks of what this daemon can run")
struct RuntimeCheckTests {
    static let site: SiteCatalog = {
        var site = SiteCatalog(isExecutable: { $0 == "/usr/bin/python3" })
        site.machine = MachineCapacity(cpus: 2, gpuDevices: [])
        // A daemon that does not stream Pipe mode (this one does now): the check stays for such builds.
        site.servesPipeMode = false
        return site
    }()

    static let hundredLargeHyperparameters: JSONValue = .object((1...100).map {
        JSONValue.Member("hp\($0)", .string(String(repeating: "x", count: 2500)))
    })

    @Test("each check refuses its case with the field", arguments: [
        ("s3 output", DefinitionBuilder().with("OutputDataConfig.S3OutputPath", "s3://my-bucket/out/"), "outputDataConfig.s3OutputPath site"),
        ("s3 channel", DefinitionBuilder().with("InputDataConfig.0.DataSource.S3DataSource.S3Uri", "s3://my-bucket/train/"),
         "inputDataConfig.1.member.dataSource.s3DataSource.s3Uri site"),
        ("s3 checkpoints", DefinitionBuilder().with("CheckpointConfig", ["S3Uri": "s3://my-bucket/ckpt/"]), "checkpointConfig.s3Uri site"),
        ("pipe mode", DefinitionBuilder().with("AlgorithmSpecification.TrainingInputMode", "Pipe"), "algorithmSpecification.trainingInputMode site"),
        ("pipe channel", DefinitionBuilder().with("InputDataConfig.0.InputMode", "Pipe"), "inputDataConfig.1.member.inputMode site"),
        ("= in a hyperparameter name", DefinitionBuilder().with("HyperParameters", ["a=b": "1"]), "hyperParameters.a=b site"),
        ("NUL in an environment value", DefinitionBuilder().with("Environment", ["TOKEN": "a\u{0}b"]), "environment.TOKEN site"),
        // Also not an executable file, which the image check says too.
        ("NUL in the image", DefinitionBuilder().with("AlgorithmSpecification.TrainingImage", "/usr/bin/python3\u{0}x"),
         "algorithmSpecification.trainingImage site|algorithmSpecification.trainingImage site"),
        ("100 x 2,500 characters of hyperparameters", DefinitionBuilder().with("HyperParameters", hundredLargeHyperparameters), "hyperParameters site"),
        ("channel .", DefinitionBuilder().with("InputDataConfig.0.ChannelName", "."), "inputDataConfig.1.member.channelName site"),
        ("channel ..", DefinitionBuilder().with("InputDataConfig.0.ChannelName", ".."), "inputDataConfig.1.member.channelName site"),
        ("8 x ml.p5e.48xlarge on 2 CPUs", DefinitionBuilder().with("ResourceConfig.InstanceType", "ml.p5e.48xlarge").with("ResourceConfig.InstanceCount", 8),
         "resourceConfig.instanceCount resourceLimitExceeded|resourceConfig.instanceType resourceLimitExceeded"),
    ] as [(String, DefinitionBuilder, String)])
    func refused(_ name: String, _ builder: DefinitionBuilder, _ expected: String) {
        let issues = builder.issues(site: Self.site)
        #expect(issues.joined(separator: "|") == expected, "\(name): \(issues)")
    }

    @Test("the same definitions pass where the daemon serves them, and with oversubscription allowed")
    func allowed() {
        var site = Self.site
        site.servesPipeMode = true
        site.servedSchemes = ["file", "s3"]
        site.machine?.allowsOversubscription = true
        for builder in [DefinitionBuilder().with("OutputDataConfig.S3OutputPath", "s3://my-bucket/out/"),
                        DefinitionBuilder().with("InputDataConfig.0.InputMode", "Pipe"),
                        DefinitionBuilder().with("ResourceConfig.InstanceType", "ml.p5e.48xlarge").with("ResourceConfig.InstanceCount", 8)] {
            #expect(builder.issues(site: site).isEmpty, "\(builder.issues(site: site))")
        }
        #expect(DefinitionBuilder().issues(site: Self.site).isEmpty)
    }

    @Test("ResourceLimitExceeded is the report's error type when capacity is the reason")
    func errorType() {
        guard case .failure(let rejection) = DefinitionBuilder().with("ResourceConfig.InstanceCount", 3).validate(site: Self.site) else {
            Issue.record("3 instances on 2 CPUs were accepted")
            return
        }
        #expect(ValidationReport(file: nil, issues: rejection.issues).errorType == "ResourceLimitExceeded")
    }
}

import Testing
@testable import TrainingCore

/// The checks `jobctl validate --config` and the daemon add: image table, algorithms, file systems.
@Suite("Site checks")
struct SiteCatalogTests {
    static let algorithm = AlgorithmDefinition(
        algorithmName: "linear-learner",
        trainingSpecification: TrainingSpecification(
            trainingImage: "linear:latest",
            supportedHyperParameters: [
                HyperParameterSpecification(name: "epochs", type: .integer, range: ParameterRange(
                    integerParameterRangeSpecification: .init(minValue: "1", maxValue: "100")), isRequired: true),
                HyperParameterSpecification(name: "learning_rate", type: .continuous, range: ParameterRange(
                    continuousParameterRangeSpecification: .init(minValue: "0", maxValue: "1")), defaultValue: "0.1"),
                HyperParameterSpecification(name: "loss", type: .categorical, range: ParameterRange(
                    categoricalParameterRangeSpecification: .init(values: ["squared", "absolute"]))),
                HyperParameterSpecification(name: "note", type: .freeText),
            ],
            supportedTrainingInstanceTypes: ["ml.m5.large"],
            supportsDistributedTraining: false,
            metricDefinitions: [MetricDefinition(name: "train:loss", regex: "loss=([0-9.]+)")],
            trainingChannels: [
                ChannelSpecification(name: "train", isRequired: true, supportedContentTypes: ["text/csv"],
                                     supportedCompressionTypes: [.none], supportedInputModes: [.file, .fastFile]),
                ChannelSpecification(name: "validation", supportedContentTypes: ["text/csv"], supportedInputModes: [.file]),
            ]))

    // Serves Pipe mode, so that the algorithm's own input-mode check is what these cases see.
    static let site: SiteCatalog = {
        var site = SiteCatalog(
            images: ["linear:latest": ImageEntry(entrypoint: ["/usr/bin/python3", "/opt/program/train.py"])],
            algorithms: ["linear-learner": algorithm],
            fileSystems: ["fs-0123456789abcdef0": FileSystemMount(path: "/srv/shared", readOnly: true)],
            configurationPath: "/etc/trainingd/trainingd.conf",
            isExecutable: { $0 == "/usr/bin/python3" })
        site.servesPipeMode = true
        return site
    }()

    static let usingAlgorithm = DefinitionBuilder()
        .with("AlgorithmSpecification", ["AlgorithmName": "linear-learner", "TrainingInputMode": "File"])
        .with("HyperParameters", ["epochs": "10"])

    @Test("an absolute image must be an executable; a name must be in the image table")
    func images() {
        #expect(DefinitionBuilder().issues(site: Self.site) == [])
        #expect(DefinitionBuilder().with("AlgorithmSpecification.TrainingImage", "linear:latest").issues(site: Self.site) == [])
        #expect(DefinitionBuilder().with("AlgorithmSpecification.TrainingImage", "/nope").issues(site: Self.site)
            == ["algorithmSpecification.trainingImage site"])
        #expect(DefinitionBuilder().with("AlgorithmSpecification.TrainingImage", "unknown:1").messages(site: Self.site) == [
            "TrainingImage 'unknown:1' is not in the image table and no local image store is configured; add an [images.\"unknown:1\"] entry to /etc/trainingd/trainingd.conf, set [containers] podman, or give the absolute path of an executable (known: linear:latest)"
        ])
    }

    @Test("without a site, only the definition itself is checked")
    func noSite() {
        #expect(DefinitionBuilder().with("AlgorithmSpecification.TrainingImage", "unknown:1").issues() == [])
    }

    @Test("a job naming an algorithm is completed from its TrainingSpecification")
    func completion() throws {
        let request = try Self.usingAlgorithm.validate(site: Self.site).get().request
        #expect(request.hyperParameters == ["epochs": "10", "learning_rate": "0.1"])
        #expect(request.algorithmSpecification.metricDefinitions == Self.algorithm.trainingSpecification.metricDefinitions)
        let byArn = Self.usingAlgorithm.with("AlgorithmSpecification.AlgorithmName", "arn:aws:sagemaker:us-east-1:123456789012:algorithm/linear-learner")
        #expect(byArn.issues(site: Self.site) == [])
    }

    @Test("each TrainingSpecification check", arguments: [
        ("unknown algorithm", usingAlgorithm.with("AlgorithmSpecification.AlgorithmName", "other"), "algorithmSpecification.algorithmName site"),
        ("unsupported instance type", usingAlgorithm.with("ResourceConfig.InstanceType", "ml.c5.xlarge"), "resourceConfig.instanceType site"),
        ("not distributed", usingAlgorithm.with("ResourceConfig.InstanceCount", 2), "resourceConfig.instanceCount site"),
        ("unknown channel", usingAlgorithm.with("InputDataConfig", [
            ["ChannelName": "train", "DataSource": ["S3DataSource": ["S3DataType": "S3Prefix", "S3Uri": "file:///d/train/"]]],
            ["ChannelName": "test", "DataSource": ["S3DataSource": ["S3DataType": "S3Prefix", "S3Uri": "file:///d/test/"]]],
        ]), "inputDataConfig.2.member.channelName site"),
        ("unsupported input mode", usingAlgorithm.with("InputDataConfig.0.InputMode", "Pipe"), "inputDataConfig.1.member.inputMode site"),
        ("unsupported content type", usingAlgorithm.with("InputDataConfig.0.ContentType", "image/png"), "inputDataConfig.1.member.contentType site"),
        ("required channel missing", usingAlgorithm.with("InputDataConfig.0.ChannelName", "validation"), "inputDataConfig site"),
        ("unknown hyperparameter", usingAlgorithm.with("HyperParameters.depth", "3"), "hyperParameters.depth site"),
        ("integer out of range", usingAlgorithm.with("HyperParameters.epochs", "101"), "hyperParameters.epochs site"),
        ("not an integer", usingAlgorithm.with("HyperParameters.epochs", "ten"), "hyperParameters.epochs site"),
        ("continuous out of range", usingAlgorithm.with("HyperParameters.learning_rate", "1.5"), "hyperParameters.learning_rate site"),
        ("categorical not listed", usingAlgorithm.with("HyperParameters.loss", "huber"), "hyperParameters.loss site"),
        ("required hyperparameter missing", usingAlgorithm.with("HyperParameters", .object([])), "hyperParameters site"),
        ("metric definitions given", usingAlgorithm.with("AlgorithmSpecification.MetricDefinitions", [["Name": "m", "Regex": "m=(.*)"]]), "algorithmSpecification.metricDefinitions site"),
    ] as [(String, DefinitionBuilder, String)])
    func specificationChecks(_ name: String, _ builder: DefinitionBuilder, _ expected: String) {
        #expect(builder.issues(site: Self.site) == [expected], "\(name)")
    }

    @Test("file systems must be mapped; a read-only mapping refuses rw")
    func fileSystems() {
        let shared = DefinitionBuilder().with("InputDataConfig.0.DataSource", ["FileSystemDataSource": [
            "FileSystemId": "fs-0123456789abcdef0", "FileSystemAccessMode": "ro", "FileSystemType": "EFS", "DirectoryPath": "/datasets",
        ]])
        #expect(shared.issues(site: Self.site) == [])
        #expect(shared.with("InputDataConfig.0.DataSource.FileSystemDataSource.FileSystemAccessMode", "rw").issues(site: Self.site)
            == ["inputDataConfig.1.member.dataSource.fileSystemDataSource.fileSystemAccessMode site"])
        #expect(shared.with("InputDataConfig.0.DataSource.FileSystemDataSource.FileSystemId", "fs-00000000").issues(site: Self.site)
            == ["inputDataConfig.1.member.dataSource.fileSystemDataSource.fileSystemId site"])
    }

    @Test("algorithm files are validated with the strict parser and schema")
    func algorithmFiles() {
        let good = #"{"AlgorithmName":"a","TrainingSpecification":{"TrainingImage":"/bin/true","SupportedTrainingInstanceTypes":["ml.m5.large"],"TrainingChannels":[{"Name":"train","SupportedContentTypes":[],"SupportedInputModes":["File"]}]}}"#
        #expect((try? AlgorithmDefinition.validate(Array(good.utf8)).get())?.algorithmName == "a")
        let bad = good.replacingOccurrences(of: "\"SupportedInputModes\":[\"File\"]", with: "\"SupportedInputModes\":[]")
        guard case .failure(let rejection) = AlgorithmDefinition.validate(Array(bad.utf8)) else {
            Issue.record("accepted")
            return
        }
        #expect(rejection.issues.map(\.path) == ["trainingSpecification.trainingChannels.1.member.supportedInputModes"])
    }
}

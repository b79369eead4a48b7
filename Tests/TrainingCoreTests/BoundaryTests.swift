import Testing
import TrainingCore

/// Every constraint of the contract, tried just inside and just outside its bound.
@Suite("Constraint boundaries")
struct BoundaryTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let path: String
        let valid: JSONValue
        let invalid: JSONValue
        let issue: String
        var prepare: @Sendable (DefinitionBuilder) -> DefinitionBuilder = { $0 }
        var testDescription: String { name }
    }

    static let spot: @Sendable (DefinitionBuilder) -> DefinitionBuilder = {
        $0.with("EnableManagedSpotTraining", true).with("StoppingCondition.MaxRuntimeInSeconds", 1)
    }
    static let groups: @Sendable (DefinitionBuilder) -> DefinitionBuilder = {
        $0.with("ResourceConfig", ["InstanceGroups": [["InstanceType": "ml.m5.large", "InstanceCount": 1, "InstanceGroupName": "g"]]])
    }
    static let pipe: @Sendable (DefinitionBuilder) -> DefinitionBuilder = { $0.with("AlgorithmSpecification.TrainingInputMode", "Pipe") }
    static let metric: @Sendable (String, String) -> JSONValue = { [["Name": .string($0), "Regex": .string($1)]] }

    static let cases: [Case] = [
        Case(name: "job name 63/64", path: "TrainingJobName", valid: .string(repeated("a", 63)), invalid: .string(repeated("a", 64)), issue: "trainingJobName length"),
        Case(name: "channels 20/21", path: "InputDataConfig", valid: channels(20), invalid: channels(21), issue: "inputDataConfig length"),
        Case(name: "channels 1/0", path: "InputDataConfig", valid: channels(1), invalid: channels(0), issue: "inputDataConfig length"),
        Case(name: "hyperparameters 100/101", path: "HyperParameters", valid: stringMap(100), invalid: stringMap(101), issue: "hyperParameters length"),
        Case(name: "hyperparameter value 2500/2501", path: "HyperParameters", valid: ["lr": .string(repeated("1", 2500))], invalid: ["lr": .string(repeated("1", 2501))], issue: "hyperParameters.lr length"),
        Case(name: "hyperparameter key 256/257", path: "HyperParameters", valid: .object([.init(repeated("k", 256), "1")]), invalid: .object([.init(repeated("k", 257), "1")]), issue: "hyperParameters length"),
        Case(name: "environment 100/101", path: "Environment", valid: stringMap(100), invalid: stringMap(101), issue: "environment length"),
        Case(name: "environment key 512/513", path: "Environment", valid: .object([.init(repeated("K", 512), "1")]), invalid: .object([.init(repeated("K", 513), "1")]), issue: "environment length"),
        Case(name: "environment value 512/513", path: "Environment", valid: ["K": .string(repeated("v", 512))], invalid: ["K": .string(repeated("v", 513))], issue: "environment.K length"),
        Case(name: "environment key pattern", path: "Environment", valid: ["_K9": "1"], invalid: ["9K": "1"], issue: "environment pattern"),
        Case(name: "channel name 64/65", path: "InputDataConfig.0.ChannelName", valid: .string(repeated("c", 64)), invalid: .string(repeated("c", 65)), issue: "inputDataConfig.1.member.channelName length"),
        Case(name: "channel name pattern", path: "InputDataConfig.0.ChannelName", valid: "a.b-c_d", invalid: "a b", issue: "inputDataConfig.1.member.channelName pattern"),
        Case(name: "content type 256/257", path: "InputDataConfig.0.ContentType", valid: .string(repeated("t", 256)), invalid: .string(repeated("t", 257)), issue: "inputDataConfig.1.member.contentType length"),
        Case(name: "S3Uri 1024/1025", path: "InputDataConfig.0.DataSource.S3DataSource.S3Uri", valid: .string("s3://b/" + repeated("k", 1017)), invalid: .string("s3://b/" + repeated("k", 1018)), issue: "inputDataConfig.1.member.dataSource.s3DataSource.s3Uri length"),
        Case(name: "S3Uri scheme", path: "OutputDataConfig.S3OutputPath", valid: "https://host/p", invalid: "http://host/p", issue: "outputDataConfig.s3OutputPath pattern"),
        Case(name: "file URI must be absolute", path: "OutputDataConfig.S3OutputPath", valid: "file:///out%20dir/", invalid: "file://out", issue: "outputDataConfig.s3OutputPath pattern"),
        Case(name: "KmsKeyId 2048/2049", path: "OutputDataConfig.KmsKeyId", valid: .string(repeated("k", 2048)), invalid: .string(repeated("k", 2049)), issue: "outputDataConfig.kmsKeyId length"),
        Case(name: "instance count 1/0", path: "ResourceConfig.InstanceCount", valid: 1, invalid: 0, issue: "resourceConfig.instanceCount range"),
        Case(name: "volume size 1/0", path: "ResourceConfig.VolumeSizeInGB", valid: 1, invalid: 0, issue: "resourceConfig.volumeSizeInGB range"),
        Case(name: "keep-alive 21600/21601", path: "ResourceConfig.KeepAlivePeriodInSeconds", valid: 21600, invalid: 21601, issue: "resourceConfig.keepAlivePeriodInSeconds range"),
        Case(name: "keep-alive 0/-1", path: "ResourceConfig.KeepAlivePeriodInSeconds", valid: 0, invalid: -1, issue: "resourceConfig.keepAlivePeriodInSeconds range"),
        Case(name: "instance type enum", path: "ResourceConfig.InstanceType", valid: "ml.p4d.24xlarge", invalid: "ml.m5.huge", issue: "resourceConfig.instanceType enumValue"),
        Case(name: "instance groups 5/6", path: "ResourceConfig.InstanceGroups",
             valid: list(5) { ["InstanceType": "ml.m5.large", "InstanceCount": 1, "InstanceGroupName": .string("g\($0)")] },
             invalid: list(6) { ["InstanceType": "ml.m5.large", "InstanceCount": 1, "InstanceGroupName": .string("g\($0)")] },
             issue: "resourceConfig.instanceGroups length", prepare: { $0.with("ResourceConfig", .object([])) }),
        Case(name: "instance group name 64/65", path: "ResourceConfig.InstanceGroups.0.InstanceGroupName", valid: .string(repeated("g", 64)), invalid: .string(repeated("g", 65)),
             issue: "resourceConfig.instanceGroups.1.member.instanceGroupName length", prepare: groups),
        Case(name: "max runtime 2419200/2419201", path: "StoppingCondition.MaxRuntimeInSeconds", valid: 2_419_200, invalid: 2_419_201, issue: "stoppingCondition.maxRuntimeInSeconds range"),
        Case(name: "max runtime 1/0", path: "StoppingCondition.MaxRuntimeInSeconds", valid: 1, invalid: 0, issue: "stoppingCondition.maxRuntimeInSeconds range"),
        Case(name: "max wait 1/0", path: "StoppingCondition.MaxWaitTimeInSeconds", valid: 1, invalid: 0, issue: "stoppingCondition.maxWaitTimeInSeconds range", prepare: spot),
        Case(name: "max pending 1800/1799", path: "StoppingCondition.MaxPendingTimeInSeconds", valid: 1800, invalid: 1799, issue: "stoppingCondition.maxPendingTimeInSeconds range"),
        Case(name: "max pending 2419200/2419201", path: "StoppingCondition.MaxPendingTimeInSeconds", valid: 2_419_200, invalid: 2_419_201, issue: "stoppingCondition.maxPendingTimeInSeconds range"),
        Case(name: "retry attempts 1/0", path: "RetryStrategy.MaximumRetryAttempts", valid: 1, invalid: 0, issue: "retryStrategy.maximumRetryAttempts range"),
        Case(name: "retry attempts 30/31", path: "RetryStrategy.MaximumRetryAttempts", valid: 30, invalid: 31, issue: "retryStrategy.maximumRetryAttempts range"),
        Case(name: "tags 50/51", path: "Tags", valid: list(50) { ["Key": .string("k\($0)"), "Value": "v"] }, invalid: list(51) { ["Key": .string("k\($0)"), "Value": "v"] }, issue: "tags length"),
        Case(name: "tag key 128/129", path: "Tags", valid: [["Key": .string(repeated("k", 128)), "Value": ""]], invalid: [["Key": .string(repeated("k", 129)), "Value": ""]], issue: "tags.1.member.key length"),
        Case(name: "tag value 256/257", path: "Tags", valid: [["Key": "k", "Value": .string(repeated("v", 256))]], invalid: [["Key": "k", "Value": .string(repeated("v", 257))]], issue: "tags.1.member.value length"),
        Case(name: "metric definitions 40/41", path: "AlgorithmSpecification.MetricDefinitions",
             valid: list(40) { ["Name": .string("m\($0)"), "Regex": "m=(.*)"] }, invalid: list(41) { ["Name": .string("m\($0)"), "Regex": "m=(.*)"] },
             issue: "algorithmSpecification.metricDefinitions length"),
        Case(name: "metric name 255/256", path: "AlgorithmSpecification.MetricDefinitions", valid: metric(repeated("m", 255), "(.*)"), invalid: metric(repeated("m", 256), "(.*)"),
             issue: "algorithmSpecification.metricDefinitions.1.member.name length"),
        Case(name: "metric regex 500/501", path: "AlgorithmSpecification.MetricDefinitions", valid: metric("m", "(.*)" + repeated("a", 496)), invalid: metric("m", "(.*)" + repeated("a", 497)),
             issue: "algorithmSpecification.metricDefinitions.1.member.regex length"),
        Case(name: "entrypoint 100/101", path: "AlgorithmSpecification.ContainerEntrypoint", valid: list(100) { _ in "x" }, invalid: list(101) { _ in "x" },
             issue: "algorithmSpecification.containerEntrypoint length"),
        Case(name: "entrypoint string 256/257", path: "AlgorithmSpecification.ContainerEntrypoint", valid: [.string(repeated("x", 256))], invalid: [.string(repeated("x", 257))],
             issue: "algorithmSpecification.containerEntrypoint.1.member length"),
        Case(name: "arguments 100/101", path: "AlgorithmSpecification.ContainerArguments", valid: list(100) { _ in "x" }, invalid: list(101) { _ in "x" },
             issue: "algorithmSpecification.containerArguments length"),
        Case(name: "training image 255/256", path: "AlgorithmSpecification.TrainingImage", valid: .string("/" + repeated("i", 254)), invalid: .string("/" + repeated("i", 255)),
             issue: "algorithmSpecification.trainingImage length"),
        Case(name: "role ARN 20 chars and pattern", path: "RoleArn", valid: "arn:aws:iam::123456789012:role/r", invalid: "arn:aws:iam::12345678901:role/r", issue: "roleArn pattern"),
        Case(name: "attribute names 16/17", path: "InputDataConfig.0.DataSource.S3DataSource", valid: ["S3DataType": "AugmentedManifestFile", "S3Uri": "file:///m", "AttributeNames": list(16) { .string("a\($0)") }],
             invalid: ["S3DataType": "AugmentedManifestFile", "S3Uri": "file:///m", "AttributeNames": list(17) { .string("a\($0)") }],
             issue: "inputDataConfig.1.member.dataSource.s3DataSource.attributeNames length", prepare: pipe),
        Case(name: "FileSystemId length 21/22", path: "InputDataConfig.0.DataSource",
             valid: ["FileSystemDataSource": ["FileSystemId": .string("fs-" + repeated("a", 18)), "FileSystemAccessMode": "ro", "FileSystemType": "EFS", "DirectoryPath": "/d"]],
             invalid: ["FileSystemDataSource": ["FileSystemId": .string("fs-" + repeated("a", 19)), "FileSystemAccessMode": "ro", "FileSystemType": "EFS", "DirectoryPath": "/d"]],
             issue: "inputDataConfig.1.member.dataSource.fileSystemDataSource.fileSystemId length"),
        Case(name: "directory path 4096/4097", path: "CheckpointConfig", valid: ["S3Uri": "file:///c/", "LocalPath": .string("/" + repeated("p", 4095))],
             invalid: ["S3Uri": "file:///c/", "LocalPath": .string("/" + repeated("p", 4096))], issue: "checkpointConfig.localPath length"),
        Case(name: "shuffle seed is a 64-bit integer", path: "InputDataConfig.0.ShuffleConfig", valid: ["Seed": .integer(Int64.max)], invalid: ["Seed": .double(1.5)],
             issue: "inputDataConfig.1.member.shuffleConfig.seed wrongType"),
    ]

    @Test("valid at the bound, invalid past it", arguments: cases)
    func boundary(_ testCase: Case) {
        let base = testCase.prepare(DefinitionBuilder())
        #expect(base.with(testCase.path, testCase.valid).issues() == [], "\(testCase.name): the value at the bound is accepted")
        #expect(base.with(testCase.path, testCase.invalid).issues() == [testCase.issue], "\(testCase.name): the value past the bound is refused")
    }
}

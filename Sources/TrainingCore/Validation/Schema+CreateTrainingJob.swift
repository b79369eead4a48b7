/// The CreateTrainingJob request as trainingd accepts it: SageMaker's API model
/// with the local departures of docs/definitions.md (RoleArn optional,
/// TrainingJobName optional in spool files, TrainingInputMode also at the top
/// level, `file://` wherever an S3 URI goes).
public enum Schema {
    static let storageURI = StringRule(max: 1024, pattern: Patterns.storageURI)
    static let directoryPath = Shape.string(max: 4096)
    static let kmsKeyId = Shape.string(max: 2048, pattern: Patterns.kmsKeyId)
    static let instanceType = Shape.string(StringRule(oneOf: TrainingInstanceTypes.all.sorted()))
    /// A job's instance types are checked against the site's catalog (built-in types and the
    /// configuration's own) by ``DefinitionValidator/instanceTypeIssues(_:)``, not by the schema.
    static let jobInstanceType = Shape.string(min: 1, max: 64)
    static let configMap = Shape.map(key: StringRule(min: 1, max: 256), value: .string(max: 256), max: 20)

    public static let createTrainingJobRequest = Shape.Structure("CreateTrainingJobRequest", [
        .optional("TrainingJobName", .string(min: 1, max: 63, pattern: Patterns.jobName)),
        .optional("TrainingInputMode", .oneOf(TrainingInputMode.self)),
        .required("AlgorithmSpecification", .structure(algorithmSpecification)),
        .optional("RoleArn", .string(min: 20, max: 2048, pattern: Patterns.roleArn)),
        .optional("InputDataConfig", .list(of: .structure(channel), min: 1, max: 20)),
        .required("OutputDataConfig", .structure(outputDataConfig)),
        .required("ResourceConfig", .structure(resourceConfig)),
        .required("StoppingCondition", .structure(stoppingCondition)),
        .optional("HyperParameters", .map(key: StringRule(max: 256), value: .string(max: 2500), max: 100)),
        .optional("Environment", .map(
            key: StringRule(max: 512, pattern: Patterns.environmentKey), value: .string(max: 512), max: 100)),
        .optional("CheckpointConfig", .structure(checkpointConfig)),
        .optional("RetryStrategy", .structure(Shape.Structure("RetryStrategy", [
            .required("MaximumRetryAttempts", .integer(min: 1, max: 30)),
        ]))),
        .optional("EnableManagedSpotTraining", .boolean),
        .optional("Tags", .list(of: .structure(tag), max: 50)),
        .optional("VpcConfig", .structure(vpcConfig)),
        .optional("EnableNetworkIsolation", .boolean),
        .optional("EnableInterContainerTrafficEncryption", .boolean),
        .optional("DebugHookConfig", .structure(debugHookConfig)),
        .optional("DebugRuleConfigurations", .list(of: .structure(ruleConfiguration("DebugRuleConfiguration")), max: 20)),
        .optional("TensorBoardOutputConfig", .structure(Shape.Structure("TensorBoardOutputConfig", [
            .optional("LocalPath", directoryPath),
            .required("S3OutputPath", .string(storageURI)),
        ]))),
        .optional("ExperimentConfig", .structure(experimentConfig)),
        .optional("ProfilerConfig", .structure(profilerConfig)),
        .optional("ProfilerRuleConfigurations", .list(
            of: .structure(ruleConfiguration("ProfilerRuleConfiguration")), max: 20)),
        .optional("RemoteDebugConfig", .structure(Shape.Structure("RemoteDebugConfig", [
            .optional("EnableRemoteDebug", .boolean),
        ]))),
        .optional("InfraCheckConfig", .structure(Shape.Structure("InfraCheckConfig", [
            .optional("EnableInfraCheck", .boolean),
        ]))),
        .optional("SessionChainingConfig", .structure(Shape.Structure("SessionChainingConfig", [
            .optional("EnableSessionTagChaining", .boolean),
        ]))),
        .optional("ServerlessJobConfig", .opaque),
        .optional("MlflowConfig", .opaque),
        .optional("ModelPackageConfig", .opaque),
    ])

    static let algorithmSpecification = Shape.Structure("AlgorithmSpecification", [
        .optional("TrainingImage", .string(max: 255)),
        .optional("AlgorithmName", .string(min: 1, max: 170, pattern: Patterns.algorithmName)),
        .optional("TrainingInputMode", .oneOf(TrainingInputMode.self)),
        .optional("MetricDefinitions", .list(of: .structure(metricDefinition), max: 40)),
        .optional("EnableSageMakerMetricsTimeSeries", .boolean),
        .optional("ContainerEntrypoint", .list(of: .string(max: 256), min: 1, max: 100)),
        .optional("ContainerArguments", .list(of: .string(max: 256), min: 1, max: 100)),
        .optional("TrainingImageConfig", .opaque),
    ])

    public static let metricDefinition = Shape.Structure("MetricDefinition", [
        .required("Name", .string(min: 1, max: 255)),
        .required("Regex", .string(min: 1, max: 500)),
    ])

    static let channel = Shape.Structure("Channel", [
        .required("ChannelName", .string(min: 1, max: 64, pattern: Patterns.channelName)),
        .required("DataSource", .structure(Shape.Structure("DataSource", [
            .optional("S3DataSource", .structure(s3DataSource)),
            .optional("FileSystemDataSource", .structure(fileSystemDataSource)),
            .optional("DatasetSource", .opaque),
        ]))),
        .optional("ContentType", .string(max: 256)),
        .optional("CompressionType", .oneOf(ChannelCompressionType.self)),
        .optional("RecordWrapperType", .oneOf(RecordWrapperType.self)),
        .optional("InputMode", .oneOf(TrainingInputMode.self)),
        .optional("ShuffleConfig", .structure(Shape.Structure("ShuffleConfig", [
            .required("Seed", .integer()),
        ]))),
    ])

    static let s3DataSource = Shape.Structure("S3DataSource", [
        .required("S3DataType", .oneOf(S3DataType.self)),
        .required("S3Uri", .string(storageURI)),
        .optional("S3DataDistributionType", .oneOf(S3DataDistributionType.self)),
        .optional("AttributeNames", .list(of: .string(min: 1, max: 256), max: 16)),
        .optional("InstanceGroupNames", .list(of: .string(min: 1, max: 64), max: 5)),
        .optional("ModelAccessConfig", .opaque),
        .optional("HubAccessConfig", .opaque),
    ])

    static let fileSystemDataSource = Shape.Structure("FileSystemDataSource", [
        .required("FileSystemId", .string(min: 11, max: 21, pattern: Patterns.fileSystemId)),
        .required("FileSystemAccessMode", .oneOf(FileSystemAccessMode.self)),
        .required("FileSystemType", .oneOf(FileSystemType.self)),
        .required("DirectoryPath", directoryPath),
    ])

    static let outputDataConfig = Shape.Structure("OutputDataConfig", [
        .required("S3OutputPath", .string(storageURI)),
        .optional("KmsKeyId", kmsKeyId),
        .optional("CompressionType", .oneOf(OutputCompressionType.self)),
    ])

    static let resourceConfig = Shape.Structure("ResourceConfig", [
        .optional("InstanceType", jobInstanceType),
        .optional("InstanceCount", .integer(min: 1)),
        .optional("VolumeSizeInGB", .integer(min: 1)),
        .optional("VolumeKmsKeyId", kmsKeyId),
        .optional("KeepAlivePeriodInSeconds", .integer(min: 0, max: 21600)),
        .optional("InstanceGroups", .list(of: .structure(Shape.Structure("InstanceGroup", [
            .required("InstanceType", jobInstanceType),
            .required("InstanceCount", .integer(min: 1)),
            .required("InstanceGroupName", .string(min: 1, max: 64)),
        ])), max: 5)),
        .optional("TrainingPlanArn", .string(min: 50, max: 2048, pattern: Patterns.trainingPlanArn)),
        .optional("InstancePlacementConfig", .opaque),
    ])

    static let stoppingCondition = Shape.Structure("StoppingCondition", [
        .optional("MaxRuntimeInSeconds", .integer(min: 1, max: 2_419_200)),
        .optional("MaxWaitTimeInSeconds", .integer(min: 1)),
        .optional("MaxPendingTimeInSeconds", .integer(min: 1800, max: 2_419_200)),
    ])

    static let checkpointConfig = Shape.Structure("CheckpointConfig", [
        .required("S3Uri", .string(storageURI)),
        .optional("LocalPath", directoryPath),
    ])

    static let tag = Shape.Structure("Tag", [
        .required("Key", .string(min: 1, max: 128, pattern: Patterns.tag)),
        .required("Value", .string(max: 256, pattern: Patterns.tag)),
    ])

    static let vpcConfig = Shape.Structure("VpcConfig", [
        .required("SecurityGroupIds", .list(of: .string(max: 32, pattern: Patterns.vpcIdentifier), min: 1, max: 5)),
        .required("Subnets", .list(of: .string(max: 32, pattern: Patterns.vpcIdentifier), min: 1, max: 16)),
    ])

    static let debugHookConfig = Shape.Structure("DebugHookConfig", [
        .optional("LocalPath", directoryPath),
        .required("S3OutputPath", .string(storageURI)),
        .optional("HookParameters", configMap),
        .optional("CollectionConfigurations", .list(of: .structure(Shape.Structure("CollectionConfiguration", [
            .optional("CollectionName", .string(min: 1, max: 256)),
            .optional("CollectionParameters", configMap),
        ])), max: 20)),
    ])

    static func ruleConfiguration(_ name: String) -> Shape.Structure {
        Shape.Structure(name, [
            .required("RuleConfigurationName", .string(min: 1, max: 256)),
            .optional("LocalPath", directoryPath),
            .optional("S3OutputPath", .string(storageURI)),
            .required("RuleEvaluatorImage", .string(max: 255)),
            .optional("InstanceType", .string(min: 1, max: 64)),
            .optional("VolumeSizeInGB", .integer(min: 0)),
            .optional("RuleParameters", .map(key: StringRule(min: 1, max: 256), value: .string(max: 256), max: 100)),
        ])
    }

    static let experimentConfig = Shape.Structure("ExperimentConfig", [
        .optional("ExperimentName", .string(min: 1, max: 120, pattern: Patterns.experimentEntityName)),
        .optional("TrialName", .string(min: 1, max: 120, pattern: Patterns.experimentEntityName)),
        .optional("TrialComponentDisplayName", .string(min: 1, max: 120, pattern: Patterns.experimentEntityName)),
        .optional("RunName", .string(min: 1, max: 120, pattern: Patterns.experimentEntityName)),
    ])

    static let profilerConfig = Shape.Structure("ProfilerConfig", [
        .optional("S3OutputPath", .string(storageURI)),
        .optional("ProfilingIntervalInMilliseconds", .integer()),
        .optional("ProfilingParameters", configMap),
        .optional("DisableProfiler", .boolean),
    ])
}

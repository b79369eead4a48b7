/// A `CreateTrainingJob` request: what a spool file holds and what the control
/// API's CreateTrainingJob takes. Member names are SageMaker's.
///
/// Build one with ``DefinitionValidator``, which checks every constraint before
/// decoding; decoding a request directly skips those checks.
public struct CreateTrainingJobRequest: Codable, Sendable, Equatable {
    public var trainingJobName: String?
    /// Accepted at the top level too (the TrainingJobDefinition form); see ``effectiveInputMode``.
    public var trainingInputMode: TrainingInputMode?
    public var algorithmSpecification: AlgorithmSpecification
    public var roleArn: String?
    public var inputDataConfig: [Channel]?
    public var outputDataConfig: OutputDataConfig
    public var resourceConfig: ResourceConfig
    public var stoppingCondition: StoppingCondition
    public var hyperParameters: [String: String]?
    public var environment: [String: String]?
    public var checkpointConfig: CheckpointConfig?
    public var retryStrategy: RetryStrategy?
    public var enableManagedSpotTraining: Bool?
    public var tags: [Tag]?
    public var vpcConfig: JSONValue?
    public var enableNetworkIsolation: Bool?
    public var enableInterContainerTrafficEncryption: Bool?
    public var debugHookConfig: JSONValue?
    public var debugRuleConfigurations: JSONValue?
    public var tensorBoardOutputConfig: JSONValue?
    public var experimentConfig: JSONValue?
    public var profilerConfig: JSONValue?
    public var profilerRuleConfigurations: JSONValue?
    public var remoteDebugConfig: JSONValue?
    public var infraCheckConfig: JSONValue?
    public var sessionChainingConfig: JSONValue?
    public var serverlessJobConfig: JSONValue?
    public var mlflowConfig: JSONValue?
    public var modelPackageConfig: JSONValue?

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case trainingJobName = "TrainingJobName"
        case trainingInputMode = "TrainingInputMode"
        case algorithmSpecification = "AlgorithmSpecification"
        case roleArn = "RoleArn"
        case inputDataConfig = "InputDataConfig"
        case outputDataConfig = "OutputDataConfig"
        case resourceConfig = "ResourceConfig"
        case stoppingCondition = "StoppingCondition"
        case hyperParameters = "HyperParameters"
        case environment = "Environment"
        case checkpointConfig = "CheckpointConfig"
        case retryStrategy = "RetryStrategy"
        case enableManagedSpotTraining = "EnableManagedSpotTraining"
        case tags = "Tags"
        case vpcConfig = "VpcConfig"
        case enableNetworkIsolation = "EnableNetworkIsolation"
        case enableInterContainerTrafficEncryption = "EnableInterContainerTrafficEncryption"
        case debugHookConfig = "DebugHookConfig"
        case debugRuleConfigurations = "DebugRuleConfigurations"
        case tensorBoardOutputConfig = "TensorBoardOutputConfig"
        case experimentConfig = "ExperimentConfig"
        case profilerConfig = "ProfilerConfig"
        case profilerRuleConfigurations = "ProfilerRuleConfigurations"
        case remoteDebugConfig = "RemoteDebugConfig"
        case infraCheckConfig = "InfraCheckConfig"
        case sessionChainingConfig = "SessionChainingConfig"
        case serverlessJobConfig = "ServerlessJobConfig"
        case mlflowConfig = "MlflowConfig"
        case modelPackageConfig = "ModelPackageConfig"
    }

    /// The job's input mode, wherever the request gave it.
    public var effectiveInputMode: TrainingInputMode {
        algorithmSpecification.trainingInputMode ?? trainingInputMode ?? .file
    }

    /// The mode a channel's data is delivered in: its own InputMode, else the job's.
    public func inputMode(of channel: Channel) -> TrainingInputMode {
        channel.inputMode ?? effectiveInputMode
    }
}

public struct AlgorithmSpecification: Codable, Sendable, Equatable {
    public var trainingImage: String?
    public var algorithmName: String?
    public var trainingInputMode: TrainingInputMode?
    public var metricDefinitions: [MetricDefinition]?
    public var enableSageMakerMetricsTimeSeries: Bool?
    public var containerEntrypoint: [String]?
    public var containerArguments: [String]?
    public var trainingImageConfig: JSONValue?

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case trainingImage = "TrainingImage"
        case algorithmName = "AlgorithmName"
        case trainingInputMode = "TrainingInputMode"
        case metricDefinitions = "MetricDefinitions"
        case enableSageMakerMetricsTimeSeries = "EnableSageMakerMetricsTimeSeries"
        case containerEntrypoint = "ContainerEntrypoint"
        case containerArguments = "ContainerArguments"
        case trainingImageConfig = "TrainingImageConfig"
    }
}

/// A metric scraped from the algorithm's log lines: the first capture group of `Regex` is the value.
public struct MetricDefinition: Codable, Sendable, Equatable {
    public var name: String
    public var regex: String

    public init(name: String, regex: String) {
        self.name = name
        self.regex = regex
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case name = "Name"
        case regex = "Regex"
    }
}

public struct Tag: Codable, Sendable, Equatable {
    public var key: String
    public var value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case key = "Key"
        case value = "Value"
    }
}

public import TrainingCore
import Foundation

/// What the supervisor writes into a host's /opt/ml/input/config and the
/// environment it gives the algorithm: sections 2 and 3 of the SageMaker contract.
public struct AlgorithmConfiguration: Sendable {
    public let request: CreateTrainingJobRequest
    public let cluster: ClusterLayout
    public let host: ClusterLayout.Host

    public init(request: CreateTrainingJobRequest, cluster: ClusterLayout, host: ClusterLayout.Host) {
        self.request = request
        self.cluster = cluster
        self.host = host
    }

    /// `hyperparameters.json`: the map verbatim, every value a string; `{}` when none.
    public var hyperParameters: JSONValue {
        .object((request.hyperParameters ?? [:]).sorted { $0.key < $1.key }.map { JSONValue.Member($0.key, .string($0.value)) })
    }

    /// `inputdataconfig.json`: per channel its effective mode, distribution and record wrapping
    /// (always present: real algorithms crash without them) and its content type when set.
    public var inputDataConfig: JSONValue {
        .object((request.inputDataConfig ?? []).map { channel in
            var members: [JSONValue.Member] = [
                .init("TrainingInputMode", .string(request.inputMode(of: channel).rawValue)),
                .init("S3DistributionType", .string((channel.dataSource.s3DataSource?.s3DataDistributionType ?? .fullyReplicated).rawValue)),
                .init("RecordWrapperType", .string((channel.recordWrapperType ?? .none).rawValue)),
            ]
            if let contentType = channel.contentType { members.append(.init("ContentType", .string(contentType))) }
            return JSONValue.Member(channel.channelName, .object(members))
        })
    }

    /// `resourceconfig.json`.
    public var resourceConfig: JSONValue {
        let groups: [JSONValue] = cluster.groups.map { group in
            [
                "instance_group_name": .string(group.instanceGroupName),
                "instance_type": .string(group.instanceType),
                "hosts": .array(cluster.hosts.filter { $0.groupName == group.instanceGroupName }.map(\.name).sorted().map(JSONValue.string)),
            ]
        }
        return [
            "current_host": .string(host.name),
            "hosts": .array(cluster.sortedHostNames.map(JSONValue.string)),
            "current_instance_type": .string(host.instanceType),
            "current_group_name": .string(host.groupName),
            "instance_groups": .array(groups),
            "network_interface_name": .string(HostNetwork.interfaceName),
        ]
    }

    /// `checkpointconfig.json`, when the job has a CheckpointConfig.
    public var checkpointConfig: JSONValue? {
        guard let checkpoint = request.checkpointConfig else { return nil }
        return [
            "LocalPath": .string(checkpoint.localPath ?? TrainingDefaults.checkpointLocalPath),
            "S3Uri": .string(checkpoint.s3Uri),
        ]
    }

    /// Where SageMaker Debugger writes tensors when DebugHookConfig names no LocalPath.
    public static let debugHookLocalPath = "/opt/ml/output/tensors"
    /// Where TensorBoard output is taken from when TensorBoardOutputConfig names no LocalPath.
    public static let tensorBoardLocalPath = "/opt/ml/output/tensorboard"

    /// `debughookconfig.json`, when the job has a DebugHookConfig: the config as given, with the
    /// default LocalPath filled in (smdebug reads LocalPath, HookParameters and CollectionConfigurations).
    public var debugHookConfig: JSONValue? {
        request.debugHookConfig.map { Self.withDefault($0, "LocalPath", .string(Self.debugHookLocalPath)) }
    }

    /// `profilerconfig.json`, when the job has a ProfilerConfig: the config as given.
    public var profilerConfig: JSONValue? { request.profilerConfig }

    /// `tensorboardoutputconfig.json`, when the job has a TensorBoardOutputConfig: LocalPath
    /// (defaulted) and S3OutputPath.
    public var tensorBoardOutputConfig: JSONValue? {
        request.tensorBoardOutputConfig.map { Self.withDefault($0, "LocalPath", .string(Self.tensorBoardLocalPath)) }
    }

    /// `trainingjobconfig.json`, always: the job's CreateTrainingJob request (SageMaker's member
    /// names, defaults applied) with its TrainingJobArn, as SageMaker gives it to every training job.
    public func trainingJobConfig(jobArn: String) -> JSONValue {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var members = (try? encoder.encode(request)).flatMap { try? StrictJSONParser.parse(Array($0)) }?.objectMembers ?? []
        members.removeAll { $0.key == "TrainingJobArn" }
        let position = (members.firstIndex { $0.key == "TrainingJobName" }).map { $0 + 1 } ?? members.endIndex
        members.insert(.init("TrainingJobArn", .string(jobArn)), at: position)
        return .object(members)
    }

    /// The config files by name, as their bytes.
    public func configFiles(jobArn: String) -> [(name: String, contents: [UInt8])] {
        var files = [
            ("hyperparameters.json", hyperParameters), ("inputdataconfig.json", inputDataConfig),
            ("resourceconfig.json", resourceConfig), ("trainingjobconfig.json", trainingJobConfig(jobArn: jobArn)),
        ]
        let optional: [(String, JSONValue?)] = [
            ("checkpointconfig.json", checkpointConfig), ("debughookconfig.json", debugHookConfig),
            ("profilerconfig.json", profilerConfig), ("tensorboardoutputconfig.json", tensorBoardOutputConfig),
        ]
        for (name, contents) in optional { if let contents { files.append((name, contents)) } }
        return files.map { ($0.0, Array($0.1.serialized().utf8)) }
    }

    /// `config` with `key` set to `value` unless it has one.
    static func withDefault(_ config: JSONValue, _ key: String, _ value: JSONValue) -> JSONValue {
        guard var members = config.objectMembers else { return config }
        if !members.contains(where: { $0.key == key }) { members.insert(.init(key, value), at: 0) }
        return .object(members)
    }
}

extension AlgorithmConfiguration {
    /// The algorithm's argv by SageMaker's rules: the image's entrypoint with `train`, or
    /// ContainerEntrypoint and/or ContainerArguments in its place.
    public static func command(imageEntrypoint: [String], specification: AlgorithmSpecification) -> [String] {
        switch (specification.containerEntrypoint, specification.containerArguments) {
        case (nil, nil): return imageEntrypoint + ["train"]
        case (let entrypoint?, nil): return entrypoint
        case (nil, let arguments?): return imageEntrypoint + arguments
        case (let entrypoint?, let arguments?): return entrypoint + arguments
        }
    }
}

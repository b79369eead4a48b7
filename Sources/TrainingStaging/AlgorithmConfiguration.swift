public import TrainingCore

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
            "network_interface_name": "eth0",
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

    /// The config files by name, as their bytes.
    public var configFiles: [(name: String, contents: [UInt8])] {
        var files = [
            ("hyperparameters.json", hyperParameters), ("inputdataconfig.json", inputDataConfig),
            ("resourceconfig.json", resourceConfig),
        ]
        if let checkpointConfig { files.append(("checkpointconfig.json", checkpointConfig)) }
        return files.map { ($0.0, Array($0.1.serialized().utf8)) }
    }

    /// The algorithm's environment, before the daemon adds PATH, HOME and LANG: the image's
    /// variables, the job's Environment, the job's name and ARN, and the `SM_*` variables of
    /// the training toolkit.
    public func environment(jobArn: String, cpuCount: Int, gpuCount: Int, imageEnvironment: [String: String] = [:]) -> [String: String] {
        var environment = imageEnvironment
        for (key, value) in request.environment ?? [:] { environment[key] = value }
        environment["TRAINING_JOB_NAME"] = request.trainingJobName
        environment["TRAINING_JOB_ARN"] = jobArn
        let channels = (request.inputDataConfig ?? []).map(\.channelName).sorted()
        let hyper = request.hyperParameters ?? [:]
        var sm: [String: JSONValue] = [
            "MODEL_DIR": "/opt/ml/model",
            "CHANNELS": .array(channels.map(JSONValue.string)),
            "HPS": hyperParameters,
            "HOSTS": .array(cluster.sortedHostNames.map(JSONValue.string)),
            "CURRENT_HOST": .string(host.name),
            "CURRENT_INSTANCE_TYPE": .string(host.instanceType),
            "NUM_CPUS": .integer(Int64(cpuCount)),
            "NUM_GPUS": .integer(Int64(gpuCount)),
            "INPUT_DIR": "/opt/ml/input",
            "INPUT_CONFIG_DIR": "/opt/ml/input/config",
            "OUTPUT_DIR": "/opt/ml/output",
            "OUTPUT_DATA_DIR": "/opt/ml/output/data",
            "OUTPUT_INTERMEDIATE_DIR": "/opt/ml/output/intermediate",
            "RESOURCE_CONFIG": resourceConfig,
            "INPUT_DATA_CONFIG": inputDataConfig,
            "NETWORK_INTERFACE_NAME": "eth0",
            "MASTER_ADDR": .string(cluster.sortedHostNames.first ?? host.name),
            "HOST_COUNT": .integer(Int64(cluster.hosts.count)),
            "CURRENT_HOST_RANK": .integer(Int64(host.rank)),
        ]
        for channel in channels { sm["CHANNEL_" + channel.uppercased()] = .string("/opt/ml/input/data/" + channel) }
        for (key, value) in hyper { sm["HP_" + key.uppercased()] = .string(value) }
        for (key, value) in sm {
            // Strings as they are; everything else as compact JSON with sorted keys, as the toolkit writes them.
            environment["SM_" + key] = value.stringValue ?? value.serialized(.compactSorted)
        }
        return environment
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

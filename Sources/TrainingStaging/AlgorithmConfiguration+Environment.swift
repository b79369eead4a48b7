public import TrainingCore

/// The `SM_*` variables, as AWS's training toolkit derives them from the config files: a script run
/// without the toolkit finds the same values, and one run by the toolkit is given the same again.
extension AlgorithmConfiguration {
    /// The algorithm's environment, before the daemon adds PATH, HOME and LANG: the image's
    /// variables, the job's Environment, the job's name and ARN, and the `SM_*` variables of
    /// the training toolkit.
    public func environment(jobArn: String, cpuCount: Int, gpuCount: Int, imageEnvironment: [String: String] = [:]) -> [String: String] {
        var environment = imageEnvironment
        for (key, value) in request.environment ?? [:] { environment[key] = value }
        environment["TRAINING_JOB_NAME"] = request.trainingJobName
        environment["TRAINING_JOB_ARN"] = jobArn
        let training = trainingEnvironment(cpuCount: cpuCount, gpuCount: gpuCount, frameworkModule: environment["SAGEMAKER_TRAINING_MODULE"])
        let hyper = ToolkitHyperparameters(request.hyperParameters ?? [:])
        var sm: [String: JSONValue] = [:]
        // The toolkit's own variables are its training environment's members under other names.
        let renamed = [
            "hosts": "HOSTS", "network_interface_name": "NETWORK_INTERFACE_NAME", "hyperparameters": "HPS",
            "user_entry_point": "USER_ENTRY_POINT", "additional_framework_parameters": "FRAMEWORK_PARAMS",
            "resource_config": "RESOURCE_CONFIG", "input_data_config": "INPUT_DATA_CONFIG", "output_data_dir": "OUTPUT_DATA_DIR",
            "current_host": "CURRENT_HOST", "current_instance_type": "CURRENT_INSTANCE_TYPE",
            "current_instance_group": "CURRENT_INSTANCE_GROUP", "current_instance_group_hosts": "CURRENT_INSTANCE_GROUP_HOSTS",
            "instance_groups": "INSTANCE_GROUPS", "instance_groups_dict": "INSTANCE_GROUPS_DICT",
            "distribution_instance_groups": "DISTRIBUTION_INSTANCE_GROUPS", "is_hetero": "IS_HETERO", "module_name": "MODULE_NAME",
            "log_level": "LOG_LEVEL", "framework_module": "FRAMEWORK_MODULE", "input_dir": "INPUT_DIR",
            "input_config_dir": "INPUT_CONFIG_DIR", "output_dir": "OUTPUT_DIR", "num_cpus": "NUM_CPUS", "num_gpus": "NUM_GPUS",
            "model_dir": "MODEL_DIR", "module_dir": "MODULE_DIR", "output_intermediate_dir": "OUTPUT_INTERMEDIATE_DIR",
        ]
        for member in training.objectMembers ?? [] {
            if let name = renamed[member.key] { sm[name] = member.value }
        }
        sm["CHANNELS"] = .array(channelNames.map(JSONValue.string))
        sm["TRAINING_ENV"] = training
        sm["USER_ARGS"] = .array(hyper.commandLineArguments.map(JSONValue.string))
        // Not the toolkit's, but in SageMaker's contract: cheap, and scripts use them.
        sm["MASTER_ADDR"] = training["master_hostname"]
        sm["MASTER_PORT"] = .integer(Int64(HostNetwork.masterPort))
        sm["HOST_COUNT"] = .integer(Int64(cluster.hosts.count))
        sm["CURRENT_HOST_RANK"] = .integer(Int64(host.rank))
        for channel in channelNames { sm["CHANNEL_" + channel.uppercased()] = .string(channelDirectory(channel)) }
        // SageMaker's own keys (sagemaker_program, ...) never become SM_HP_* variables.
        for (key, value) in hyper.user { sm["HP_" + key.uppercased()] = value }
        for (key, value) in sm { environment["SM_" + key] = ToolkitHyperparameters.environmentText(value) }
        return environment
    }

    /// `SM_TRAINING_ENV`: every property of the toolkit's training environment, under its names.
    public func trainingEnvironment(cpuCount: Int, gpuCount: Int, frameworkModule: String? = nil) -> JSONValue {
        let hyper = ToolkitHyperparameters(request.hyperParameters ?? [:])
        let groupHosts = { (group: String) in cluster.hosts.filter { $0.groupName == group }.map(\.name).sorted() }
        let groupNames = cluster.groups.map(\.instanceGroupName)
        let distributionGroups = distributionInstanceGroups(hyper)
        let distributionHosts = groupNames.filter { distributionGroups.contains($0) }.flatMap(groupHosts)
        let master = distributionHosts.first ?? cluster.sortedHostNames.first ?? host.name
        let modelParallel = hyper.user["mp_parameters"].map { ToolkitHyperparameters.environmentText($0) != "{}" } ?? false
        let instanceGroups: [JSONValue.Member] = (resourceConfig["instance_groups"]?.arrayValue ?? []).compactMap { group in
            group["instance_group_name"]?.stringValue.map { JSONValue.Member($0, group) }
        }
        let members: [(String, JSONValue)] = [
            ("additional_framework_parameters", Self.object(hyper.frameworkParameters)),
            ("channel_input_dirs", .object(channelNames.map { .init($0, .string(channelDirectory($0))) })),
            ("current_host", .string(host.name)),
            ("current_instance_group", .string(host.groupName)),
            ("current_instance_group_hosts", .array(groupHosts(host.groupName).map(JSONValue.string))),
            ("current_instance_type", .string(host.instanceType)),
            ("distribution_hosts", .array(distributionHosts.map(JSONValue.string))),
            ("distribution_instance_groups", .array(distributionGroups.map(JSONValue.string))),
            ("framework_module", frameworkModule.map(JSONValue.string) ?? .null),
            ("hosts", .array(cluster.sortedHostNames.map(JSONValue.string))),
            ("hyperparameters", Self.object(hyper.user)),
            ("input_config_dir", "/opt/ml/input/config"),
            ("input_data_config", inputDataConfig),
            ("input_dir", "/opt/ml/input"),
            ("instance_groups", .array(groupNames.map(JSONValue.string))),
            ("instance_groups_dict", .object(instanceGroups)),
            ("is_hetero", .bool(groupNames.count > 1)),
            ("is_master", .bool(host.name == master)),
            ("is_modelparallel_enabled", .bool(modelParallel)),
            ("job_name", request.trainingJobName.map(JSONValue.string) ?? .null),
            ("log_level", hyper.logLevel),
            ("master_hostname", .string(master)),
            ("model_dir", "/opt/ml/model"),
            ("module_dir", .string(hyper.moduleDirectory)),
            ("module_name", hyper.moduleName.map(JSONValue.string) ?? .null),
            ("network_interface_name", .string(HostNetwork.interfaceName)),
            ("num_cpus", .integer(Int64(cpuCount))),
            ("num_gpus", .integer(Int64(gpuCount))),
            ("output_data_dir", "/opt/ml/output/data"),
            ("output_dir", "/opt/ml/output"),
            ("output_intermediate_dir", "/opt/ml/output/intermediate"),
            ("resource_config", resourceConfig),
            ("user_entry_point", hyper.userEntryPoint.map(JSONValue.string) ?? .null),
        ]
        return .object(members.map { JSONValue.Member($0.0, $0.1) })
    }

    var channelNames: [String] { (request.inputDataConfig ?? []).map(\.channelName).sorted() }

    func channelDirectory(_ channel: String) -> String { "/opt/ml/input/data/" + channel }

    /// The groups distributed training runs on: `sagemaker_distribution_instance_groups`, else this
    /// host's group when one of the toolkit's distribution switches is on, else none.
    func distributionInstanceGroups(_ hyper: ToolkitHyperparameters) -> [String] {
        if let named = hyper.frameworkParameters["sagemaker_distribution_instance_groups"]?.arrayValue {
            return named.compactMap(\.stringValue)
        }
        let switches = [
            "sagemaker_mpi_enabled", "sagemaker_parameter_server_enabled", "sagemaker_distributed_dataparallel_enabled",
            "sagemaker_pytorch_ddp_enabled", "sagemaker_pytorch_xla_multi_worker_enabled", "sagemaker_multi_worker_mirrored_strategy_enabled",
        ]
        return switches.contains { hyper.frameworkParameters[$0].map(Self.isTruthy) ?? false } ? [host.groupName] : []
    }

    /// Python's truth of a decoded value, as the toolkit tests its switches.
    static func isTruthy(_ value: JSONValue) -> Bool {
        switch value {
        case .bool(let flag): return flag
        case .null: return false
        case .integer(let number): return number != 0
        case .double(let number): return number != 0
        case .string(let text): return !text.isEmpty
        case .array(let items): return !items.isEmpty
        case .object(let members): return !members.isEmpty
        }
    }

    static func object(_ dictionary: [String: JSONValue]) -> JSONValue {
        .object(dictionary.sorted { $0.key < $1.key }.map { JSONValue.Member($0.key, $0.value) })
    }
}

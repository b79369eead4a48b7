/// Rules that relate members to each other. They read the JSON tree rather than
/// the decoded model so that they run, and report, even when other members are
/// malformed; a member of the wrong type is simply not looked at here.
struct CrossFieldRules {
    let document: JSONValue
    private(set) var issues: [ValidationIssue] = []

    init(document: JSONValue) {
        self.document = document
    }

    mutating func run() {
        checkAlgorithm()
        let jobMode = checkInputMode()
        checkResources()
        checkChannels(jobMode: jobMode)
        checkStopping()
        checkCheckpoint()
        checkTags()
    }

    private var algorithm: JSONValue? { document["AlgorithmSpecification"] }

    private mutating func checkAlgorithm() {
        guard let algorithm, case .object = algorithm else { return }
        let path: FieldPath = "AlgorithmSpecification"
        let image = algorithm["TrainingImage"]?.stringValue
        let name = algorithm["AlgorithmName"]?.stringValue
        switch (image, name) {
        case (nil, nil):
            conflict(path, "AlgorithmSpecification must name exactly one of TrainingImage or AlgorithmName; neither is given")
        case (.some, .some):
            conflict(path, "AlgorithmSpecification must name exactly one of TrainingImage or AlgorithmName, not both; remove one")
        case (.some(let image), nil) where image.isEmpty:
            issues.append(.constraint(.string(image), at: path.appending(member: "TrainingImage"), .length, "Member must have length greater than or equal to 1"))
        default: break
        }
        if let definitions = algorithm["MetricDefinitions"]?.arrayValue {
            var seen = Set<String>()
            for (index, definition) in definitions.enumerated() {
                let itemPath = path.appending(member: "MetricDefinitions").appending(index: index)
                if let metric = definition["Name"]?.stringValue, !seen.insert(metric).inserted {
                    issues.append(ValidationIssue(
                        path: itemPath.appending(member: "Name"), code: .notUnique,
                        message: "Metric name '\(metric)' at '\(itemPath.appending(member: "Name"))' is defined more than once; metric names must be unique"))
                }
                if let regex = definition["Regex"]?.stringValue, let problem = MetricRegex.problem(with: regex) {
                    issues.append(.constraint(.string(regex), at: itemPath.appending(member: "Regex"), .pattern, "Member must be a valid regular expression (\(problem))"))
                }
            }
        }
    }

    /// Checks where TrainingInputMode is given and returns the job's mode, if known.
    private mutating func checkInputMode() -> String? {
        let nested = algorithm?["TrainingInputMode"]?.stringValue
        let topLevel = document["TrainingInputMode"]?.stringValue
        switch (nested, topLevel) {
        case (nil, nil):
            if algorithm?.objectMembers != nil, algorithm?["TrainingInputMode"] == nil, document["TrainingInputMode"] == nil {
                issues.append(.constraint(nil, at: "AlgorithmSpecification.TrainingInputMode", .missingMember,
                    "Member must not be null (give TrainingInputMode in AlgorithmSpecification, or at the top level)"))
            }
            return nil
        case (.some(let nested), .some(let topLevel)) where nested != topLevel:
            conflict("TrainingInputMode", "TrainingInputMode is '\(topLevel)' at the top level but '\(nested)' in AlgorithmSpecification; give it once, or make them agree")
            return nested
        default:
            return nested ?? topLevel
        }
    }

    private mutating func checkResources() {
        guard let resources = document["ResourceConfig"], case .object = resources else { return }
        let path: FieldPath = "ResourceConfig"
        let groups = resources["InstanceGroups"]?.arrayValue
        let hasHomogeneous = resources["InstanceType"] != nil || resources["InstanceCount"] != nil
        if let groups, !groups.isEmpty {
            if hasHomogeneous {
                conflict(path.appending(member: "InstanceGroups"), "InstanceGroups cannot be combined with InstanceType or InstanceCount; describe the hosts one way or the other")
            }
            var names = Set<String>()
            for (index, group) in groups.enumerated() {
                if let name = group["InstanceGroupName"]?.stringValue, !names.insert(name).inserted {
                    let itemPath = path.appending(member: "InstanceGroups").appending(index: index).appending(member: "InstanceGroupName")
                    issues.append(ValidationIssue(path: itemPath, code: .notUnique, message: "Instance group name '\(name)' at '\(itemPath)' is used more than once; group names must be unique"))
                }
            }
        } else {
            if resources["InstanceType"] == nil {
                issues.append(.constraint(nil, at: path.appending(member: "InstanceType"), .missingMember, "Member must not be null (give InstanceType and InstanceCount, or InstanceGroups)"))
            }
            if resources["InstanceCount"] == nil {
                issues.append(.constraint(nil, at: path.appending(member: "InstanceCount"), .missingMember, "Member must not be null (give InstanceType and InstanceCount, or InstanceGroups)"))
            }
        }
    }

    private var groupNames: Set<String>? {
        guard let groups = document["ResourceConfig"]?["InstanceGroups"]?.arrayValue, !groups.isEmpty else { return nil }
        return Set(groups.compactMap { $0["InstanceGroupName"]?.stringValue })
    }

    private mutating func checkChannels(jobMode: String?) {
        guard let channels = document["InputDataConfig"]?.arrayValue else { return }
        var names = Set<String>()
        for (index, channel) in channels.enumerated() {
            guard case .object = channel else { continue }
            let path = FieldPath("InputDataConfig").appending(index: index)
            if let name = channel["ChannelName"]?.stringValue, !names.insert(name).inserted {
                issues.append(ValidationIssue(path: path.appending(member: "ChannelName"), code: .notUnique,
                    message: "Channel name '\(name)' at '\(path.appending(member: "ChannelName"))' is used by more than one channel; channel names must be unique"))
            }
            let mode = channel["InputMode"]?.stringValue ?? jobMode
            checkDataSource(of: channel, at: path, mode: mode)
            if channel["CompressionType"]?.stringValue == "Gzip", let mode, mode != "Pipe" {
                issues.append(.constraint("Gzip", at: path.appending(member: "CompressionType"), .conflict,
                    "CompressionType Gzip is only supported in Pipe mode, and this channel's input mode is \(mode); use InputMode Pipe or decompress the data"))
            }
        }
    }

    private mutating func checkDataSource(of channel: JSONValue, at channelPath: FieldPath, mode: String?) {
        guard let source = channel["DataSource"], case .object(let members) = source else { return }
        let path = channelPath.appending(member: "DataSource")
        let kinds = members.filter { $0.value != .null }.map(\.key)
        if kinds.count != 1 {
            conflict(path, kinds.isEmpty
                ? "DataSource must have exactly one of S3DataSource or FileSystemDataSource; neither is given"
                : "DataSource must have exactly one of S3DataSource or FileSystemDataSource, not \(kinds.joined(separator: " and "))")
        }
        if source["DatasetSource"] != nil {
            issues.append(ValidationIssue(path: path.appending(member: "DatasetSource"), code: .unsupported,
                message: "DatasetSource at '\(path.appending(member: "DatasetSource"))' is not available on a local host; use an S3DataSource with a file:// URI or a FileSystemDataSource"))
        }
        if let fileSystem = source["FileSystemDataSource"], case .object = fileSystem, let mode, mode != "File" {
            issues.append(.constraint(.string(mode), at: channelPath.appending(member: "InputMode"), .conflict,
                "FileSystemDataSource requires File input mode, and this channel's input mode is \(mode); set the channel's InputMode to File"))
        }
        guard let s3 = source["S3DataSource"], case .object = s3 else { return }
        let s3Path = path.appending(member: "S3DataSource")
        let dataType = s3["S3DataType"]?.stringValue
        if dataType == "AugmentedManifestFile" {
            if let mode, mode != "Pipe" {
                issues.append(.constraint("AugmentedManifestFile", at: s3Path.appending(member: "S3DataType"), .conflict,
                    "AugmentedManifestFile is only supported in Pipe mode, and this channel's input mode is \(mode); use InputMode Pipe"))
            }
            if (s3["AttributeNames"]?.arrayValue ?? []).isEmpty {
                issues.append(.constraint(nil, at: s3Path.appending(member: "AttributeNames"), .missingMember,
                    "Member must not be null (an AugmentedManifestFile channel must list the AttributeNames to stream)"))
            }
        } else if let attributes = s3["AttributeNames"]?.arrayValue, !attributes.isEmpty {
            issues.append(.constraint(s3["AttributeNames"], at: s3Path.appending(member: "AttributeNames"), .conflict,
                "AttributeNames only applies to S3DataType AugmentedManifestFile; remove it or change S3DataType"))
        }
        if mode == "FastFile", let dataType, dataType != "S3Prefix" {
            issues.append(.constraint(.string(dataType), at: s3Path.appending(member: "S3DataType"), .conflict,
                "FastFile input mode only supports S3DataType S3Prefix; use File or Pipe mode for a \(dataType)"))
        }
        if let requested = s3["InstanceGroupNames"]?.arrayValue, !requested.isEmpty {
            let known = groupNames
            for (index, name) in requested.enumerated() {
                guard let name = name.stringValue else { continue }
                if known == nil || !known!.contains(name) {
                    issues.append(.constraint(.string(name), at: s3Path.appending(member: "InstanceGroupNames").appending(index: index), .conflict,
                        known == nil
                            ? "InstanceGroupNames needs ResourceConfig.InstanceGroups; this job has no instance groups"
                            : "Member must name one of ResourceConfig.InstanceGroups (\(known!.sorted().joined(separator: ", ")))"))
                }
            }
        }
    }

    private mutating func checkStopping() {
        let stopping = document["StoppingCondition"]
        let maxWait = stopping?["MaxWaitTimeInSeconds"]
        let spot = document["EnableManagedSpotTraining"]?.boolValue ?? false
        let path = FieldPath("StoppingCondition").appending(member: "MaxWaitTimeInSeconds")
        if spot {
            guard let maxWait else {
                issues.append(.constraint(nil, at: path, .missingMember,
                    "Member must not be null when EnableManagedSpotTraining is true; set it to at least MaxRuntimeInSeconds"))
                return
            }
            let runtime = stopping?["MaxRuntimeInSeconds"]?.integerValue ?? TrainingDefaults.maxRuntimeInSeconds
            if let wait = maxWait.integerValue, wait >= 1, wait < runtime {
                issues.append(.constraint(maxWait, at: path, .range,
                    "Member must have value greater than or equal to MaxRuntimeInSeconds (\(runtime))"))
            }
        } else if maxWait != nil, maxWait != .null {
            issues.append(.constraint(maxWait, at: path, .conflict,
                "MaxWaitTimeInSeconds is only allowed with EnableManagedSpotTraining true; remove it or enable managed spot training"))
        }
    }

    private mutating func checkCheckpoint() {
        guard let localPath = document["CheckpointConfig"]?["LocalPath"]?.stringValue else { return }
        if !localPath.hasPrefix("/") {
            issues.append(.constraint(.string(localPath), at: "CheckpointConfig.LocalPath", .pattern,
                "Member must be an absolute path, such as /opt/ml/checkpoints/"))
        }
    }

    private mutating func checkTags() {
        guard let tags = document["Tags"]?.arrayValue else { return }
        var keys = Set<String>()
        for (index, tag) in tags.enumerated() {
            if let key = tag["Key"]?.stringValue, !keys.insert(key).inserted {
                let path = FieldPath("Tags").appending(index: index).appending(member: "Key")
                issues.append(ValidationIssue(path: path, code: .notUnique,
                    message: "Tag key '\(key)' at '\(path)' is used more than once; tag keys must be unique"))
            }
        }
    }

    private mutating func conflict(_ path: FieldPath, _ message: String) {
        issues.append(ValidationIssue(path: path, code: .conflict, message: message))
    }
}

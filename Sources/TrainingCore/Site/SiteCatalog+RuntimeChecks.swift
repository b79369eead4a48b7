/// Checks that depend on what this daemon can run rather than on the definition's shape: each
/// refuses at submission what would otherwise fail at run time (or, worse, run wrongly), with
/// the field and the fix. The daemon, the control API and `jobctl validate --config` share them.
extension SiteCatalog {
    /// Linux refuses to exec a program when one argument or environment string is longer than
    /// this (MAX_ARG_STRLEN, 32 pages): E2BIG.
    public static let longestExecString = 131_072
    /// Room kept in an environment string for what the toolkit's variables add around the
    /// hyperparameters (SM_TRAINING_ENV holds them next to the channels, hosts and paths).
    static let environmentOverhead = 16_384

    func checkRuntime(_ request: CreateTrainingJobRequest) -> [ValidationIssue] {
        checkLocations(request) + checkInputModes(request) + checkExecStrings(request) + checkChannelNames(request)
            + checkCapacity(request.resourceConfig)
    }

    /// Every location the daemon reads or writes must use a scheme it serves.
    private func checkLocations(_ request: CreateTrainingJobRequest) -> [ValidationIssue] {
        var locations: [(FieldPath, String)] = [("OutputDataConfig.S3OutputPath", request.outputDataConfig.s3OutputPath)]
        for (index, channel) in (request.inputDataConfig ?? []).enumerated() {
            guard let uri = channel.dataSource.s3DataSource?.s3Uri else { continue }
            locations.append((FieldPath("InputDataConfig").appending(index: index).appending(member: "DataSource")
                .appending(member: "S3DataSource").appending(member: "S3Uri"), uri))
        }
        if let checkpoint = request.checkpointConfig { locations.append(("CheckpointConfig.S3Uri", checkpoint.s3Uri)) }
        if let tensorBoard = request.tensorBoardOutputConfig?["S3OutputPath"]?.stringValue {
            locations.append(("TensorBoardOutputConfig.S3OutputPath", tensorBoard))
        }
        return locations.compactMap { path, uri in
            let scheme = uri.prefix { $0 != ":" }.lowercased()
            guard !servedSchemes.contains(scheme) else { return nil }
            if scheme == "s3", !buckets.isEmpty || servesRemoteBuckets || !remoteBuckets.isEmpty {
                guard case .s3(let bucket, _) = StorageURI.parse(uri) else { return nil }
                if remoteBuckets.contains(bucket) { return nil }
                if servesRemoteBuckets, !buckets.servesLocally(bucket, isDirectory: isDirectory) {
                    // On the S3 endpoint: served for every use.
                    return LocalBuckets.isValidBucketName(bucket) ? nil
                        : site(path, "\(uri) names the bucket '\(bucket)', which is not a valid S3 bucket name")
                }
                if let refusal = buckets.refusal(of: uri) { return site(path, refusal) }
                guard let directory = buckets.directory(ofBucket: bucket), !isDirectory(directory) else { return nil }
                return site(path, "\(uri) is in the bucket '\(bucket)', whose directory \(directory) does not exist: create it (the job's owner must be able to use it), map the bucket elsewhere with [buckets.\"\(bucket)\"] path = \"...\", or configure an S3 endpoint ([s3] in the daemon's configuration)")
            }
            return site(path, "\(uri) cannot be reached by this trainingd: it serves \(servedSchemes.sorted().map { $0 + "://" }.joined(separator: ", ")) locations; use a file:///absolute/path location, or serve the bucket from a local directory ([buckets] in the daemon's configuration) or an S3 endpoint ([s3])")
        }
    }

    private func checkInputModes(_ request: CreateTrainingJobRequest) -> [ValidationIssue] {
        var issues: [ValidationIssue] = []
        // This daemon streams an AugmentedManifestFile's records; it does not copy them as files.
        for (index, channel) in (request.inputDataConfig ?? []).enumerated()
        where channel.dataSource.s3DataSource?.s3DataType == .augmentedManifestFile
            && (channel.inputMode ?? request.algorithmSpecification.trainingInputMode) != .pipe {
            issues.append(site(FieldPath("InputDataConfig").appending(index: index).appending(member: "DataSource").appending(member: "S3DataSource")
                .appending(member: "S3DataType"),
                "channel \(channel.channelName): an AugmentedManifestFile is streamed in Pipe mode only here; set the channel's InputMode to Pipe, or use S3Prefix or ManifestFile"))
        }
        guard !servesPipeMode else { return issues }
        let pipeMessage = "Pipe mode is not available in this trainingd yet; use File or FastFile"
        if request.algorithmSpecification.trainingInputMode == .pipe {
            issues.append(site("AlgorithmSpecification.TrainingInputMode", pipeMessage))
        }
        for (index, channel) in (request.inputDataConfig ?? []).enumerated() where channel.inputMode == .pipe {
            issues.append(site(FieldPath("InputDataConfig").appending(index: index).appending(member: "InputMode"), pipeMessage))
        }
        return issues
    }

    /// What exec would refuse: NUL bytes anywhere, a `=` in a name that becomes a variable, and
    /// strings longer than Linux takes.
    private func checkExecStrings(_ request: CreateTrainingJobRequest) -> [ValidationIssue] {
        var issues: [ValidationIssue] = []
        let nul = "contains a NUL byte, which no program can be given; remove it"
        for (key, value) in (request.environment ?? [:]).sorted(by: { $0.key < $1.key }) where value.utf8.contains(0) {
            issues.append(site(FieldPath("Environment").appending(mapKey: key), "The value of \(key) \(nul)"))
        }
        for (key, value) in (request.hyperParameters ?? [:]).sorted(by: { $0.key < $1.key }) {
            let path = FieldPath("HyperParameters").appending(mapKey: key)
            if key.contains("=") {
                issues.append(site(path, "The hyperparameter name '\(key)' contains '=': the training toolkit passes each hyperparameter as the variable SM_HP_<NAME>, and a variable name cannot contain '='; rename it"))
            }
            if key.utf8.contains(0) || value.utf8.contains(0) { issues.append(site(path, "The hyperparameter \(nul)")) }
        }
        let specification = request.algorithmSpecification
        if specification.trainingImage?.utf8.contains(0) == true {
            issues.append(site("AlgorithmSpecification.TrainingImage", "TrainingImage \(nul)"))
        }
        for (member, values) in [("ContainerEntrypoint", specification.containerEntrypoint), ("ContainerArguments", specification.containerArguments)] {
            for (index, value) in (values ?? []).enumerated() where value.utf8.contains(0) {
                issues.append(site(FieldPath("AlgorithmSpecification").appending(member: member).appending(index: index), "The argument \(nul)"))
            }
        }
        // The toolkit's variables (SM_HPS, SM_TRAINING_ENV) each hold every hyperparameter, JSON-encoded.
        let encoded = (request.hyperParameters ?? [:]).reduce(2) { $0 + jsonLength($1.key) + jsonLength($1.value) + 2 }
        if encoded + Self.environmentOverhead > Self.longestExecString {
            issues.append(site("HyperParameters", "The hyperparameters take \(encoded) bytes as JSON; the training toolkit passes all of them in single variables (SM_HPS, SM_TRAINING_ENV), and Linux refuses a variable over \(Self.longestExecString) bytes (E2BIG). Keep them under \(Self.longestExecString - Self.environmentOverhead) bytes, and pass large values in a file of an input channel"))
        }
        return issues
    }

    /// Channel names become directories (`/opt/ml/input/data/<name>`).
    private func checkChannelNames(_ request: CreateTrainingJobRequest) -> [ValidationIssue] {
        (request.inputDataConfig ?? []).enumerated().compactMap { index, channel in
            guard channel.channelName == "." || channel.channelName == ".." else { return nil }
            return site(FieldPath("InputDataConfig").appending(index: index).appending(member: "ChannelName"),
                "ChannelName '\(channel.channelName)' is not a directory name (the channel's data lands in /opt/ml/input/data/<ChannelName>); choose a name such as 'train'")
        }
    }

    /// A job whose hosts could never all fit on this machine at once (CPUs and memory of their
    /// instance types, scaled by `[capacity] instance_scale`; whole GPUs) is refused now, naming the
    /// resource, rather than left waiting for ever; unless the configuration allows
    /// oversubscription (then such jobs run, slower, on what there is).
    private func checkCapacity(_ resources: ResourceConfig) -> [ValidationIssue] {
        guard let machine, !machine.allowsOversubscription else { return [] }
        var issues: [ValidationIssue] = []
        let groups = resources.effectiveInstanceGroups
        let hosts = groups.reduce(0) { $0 + $1.instanceCount }
        let countPath: FieldPath = resources.instanceGroups == nil ? "ResourceConfig.InstanceCount" : "ResourceConfig.InstanceGroups"
        let typePath: FieldPath = resources.instanceGroups == nil ? "ResourceConfig.InstanceType" : "ResourceConfig.InstanceGroups"
        let needed = machine.need(of: resources, catalog: instanceTypes)
        let total = machine.total
        let scaleAdvice = machine.instanceScale < 1 ? "" : ", set [capacity] instance_scale below 1 in \(configurationPath) to map instance types onto this machine scaled down (a development machine)"
        let who = hosts == 1 ? "The job's instance needs" : "The job's \(hosts) instances need"
        let scaled = machine.instanceScale == 1 ? "" : " (its instance types scaled by [capacity] instance_scale = \(machine.instanceScale))"
        if needed.milliCPUs > total.milliCPUs {
            issues.append(ValidationIssue(path: countPath, code: .resourceLimitExceeded,
                message: "\(who) \(ResourceAmount.cpus(needed.milliCPUs))\(scaled), and this machine has \(ResourceAmount.cpus(total.milliCPUs)). Use fewer or smaller instances\(scaleAdvice), or set [jobs] allow_oversubscription = true to run it on what there is"))
        }
        if needed.memoryMiB > total.memoryMiB {
            issues.append(ValidationIssue(path: countPath, code: .resourceLimitExceeded,
                message: "\(who) \(ResourceAmount.memory(needed.memoryMiB)) of memory\(scaled), and this machine has \(ResourceAmount.memory(total.memoryMiB)). Use fewer or smaller instances\(scaleAdvice), or set [jobs] allow_oversubscription = true to run it on what there is"))
        }
        for group in groups where instanceGroupGPUs(group) > machine.gpus && machine.gpus > 0 {
            issues.append(ValidationIssue(path: typePath, code: .resourceLimitExceeded,
                message: "\(group.instanceType) has \(instanceGroupGPUs(group)) GPUs per instance, and this machine has \(machine.gpus); each host gets whole GPUs of its own. Use a type with at most \(machine.gpus), or set [jobs] allow_oversubscription = true in \(configurationPath) to run it with fewer"))
        }
        if machine.gpus > 0, needed.gpus > machine.gpus, !groups.contains(where: { instanceGroupGPUs($0) > machine.gpus }) {
            issues.append(ValidationIssue(path: countPath, code: .resourceLimitExceeded,
                message: "The job's \(hosts) instances need \(needed.gpus) GPUs, and this machine has \(machine.gpus); each host gets whole GPUs of its own. Use fewer instances, or set [jobs] allow_oversubscription = true in \(configurationPath)"))
        }
        for group in groups where Self.isAccelerated(group.instanceType) && machine.gpus == 0 {
            issues.append(ValidationIssue(path: typePath,
                code: .resourceLimitExceeded,
                message: "\(group.instanceType) is an accelerated instance type, and this machine has no GPUs; use a CPU type such as ml.m5.xlarge, or set [jobs] allow_oversubscription = true in \(configurationPath) to run it on CPUs"))
        }
        return issues
    }

    private func instanceGroupGPUs(_ group: InstanceGroup) -> Int {
        instanceTypes.spec(of: group.instanceType)?.gpus ?? 0
    }

    /// GPU and accelerator families (P, G, Trainium, Inferentia).
    static func isAccelerated(_ instanceType: String) -> Bool {
        ["ml.p", "ml.g", "ml.trn", "ml.inf"].contains { instanceType.hasPrefix($0) }
    }

    private func site(_ path: FieldPath, _ message: String) -> ValidationIssue {
        ValidationIssue(path: path, code: .site, message: message)
    }
}

/// The bytes `text` takes as a JSON string (quotes and escapes included).
private func jsonLength(_ text: String) -> Int {
    text.utf8.reduce(2) { length, byte in
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), 0x08, 0x0C, 0x0A, 0x0D, 0x09: return length + 2
        case 0..<0x20: return length + 6
        default: return length + 1
        }
    }
}


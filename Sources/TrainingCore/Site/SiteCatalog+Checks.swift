extension SiteCatalog {
    /// Checks a valid definition against this site and completes it from its
    /// algorithm (hyperparameter defaults, metric definitions). Returns every issue found.
    func check(_ definition: inout ValidatedDefinition) -> [ValidationIssue] {
        var issues: [ValidationIssue] = []
        let spec = definition.request.algorithmSpecification
        if let image = spec.trainingImage {
            issues += checkImage(image, at: "AlgorithmSpecification.TrainingImage")
        }
        if let name = spec.algorithmName {
            issues += checkAlgorithm(named: name, &definition)
        }
        for (index, channel) in (definition.request.inputDataConfig ?? []).enumerated() {
            guard let source = channel.dataSource.fileSystemDataSource else { continue }
            let path = FieldPath("InputDataConfig").appending(index: index)
                .appending(member: "DataSource").appending(member: "FileSystemDataSource")
            guard let mount = fileSystems[source.fileSystemId] else {
                issues.append(site(path.appending(member: "FileSystemId"),
                    "FileSystemId '\(source.fileSystemId)' is not mapped to a local directory; add it under [filesystems] in \(configurationPath)\(known(fileSystems.keys))"))
                continue
            }
            if mount.readOnly, source.fileSystemAccessMode == .readWrite {
                issues.append(site(path.appending(member: "FileSystemAccessMode"),
                    "File system '\(source.fileSystemId)' is configured read-only; use FileSystemAccessMode ro"))
            }
        }
        return issues + checkRuntime(definition.request)
    }

    /// Resolves a TrainingImage: an absolute path to an executable, an image-table key (an
    /// executable, a root file system, or a local image the entry names), or an image of the
    /// local store under the URI's own name.
    public func resolveImage(_ image: String) -> ImageEntry? {
        if image.hasPrefix("/") { return isExecutable(image) ? ImageEntry(entrypoint: [image]) : nil }
        if let entry = images[image] {
            guard let reference = entry.reference else { return entry }
            return localImage?(reference).map { ImageEntry(container: $0, environment: entry.environment) }
        }
        return localImage?(image).map { ImageEntry(container: $0) }
    }

    private func checkImage(_ image: String, at path: FieldPath) -> [ValidationIssue] {
        if resolveImage(image) != nil { return [] }
        if image.hasPrefix("/") {
            return [site(path, "TrainingImage '\(image)' is not an executable file on this host; give the absolute path of the algorithm's entrypoint")]
        }
        let reference = images[image]?.reference ?? image
        guard localImage != nil else {
            return [site(path, "TrainingImage '\(image)' is not in the image table and no local image store is configured; add an [images.\"\(image)\"] entry to \(configurationPath), set [containers] podman, or give the absolute path of an executable\(known(images.keys))")]
        }
        let mapped = reference == image ? "" : " (the image table maps it to '\(reference)')"
        return [site(path, "TrainingImage '\(image)'\(mapped) is not an image of this host's container storage; make it available as root with `podman load -i ARCHIVE` (an archive from `docker save` or `podman save` on a connected machine), `skopeo copy oci:DIR:TAG containers-storage:\(reference)` (an OCI layout) or `podman pull \(reference)` where its registry is reachable, or map the URI to a local image with [images.\"\(image)\"] image = \"...\" in \(configurationPath)\(known(images.keys))")]
    }

    private func checkAlgorithm(named reference: String, _ definition: inout ValidatedDefinition) -> [ValidationIssue] {
        let path: FieldPath = "AlgorithmSpecification.AlgorithmName"
        let name = reference.split(separator: "/").last.map(String.init) ?? reference
        guard let algorithm = algorithms[name] else {
            return [site(path, "Algorithm '\(name)' is not defined; add \(name).json (a CreateAlgorithm request) to the algorithms directory of \(configurationPath)\(known(algorithms.keys))")]
        }
        let spec = algorithm.trainingSpecification
        var issues = checkImage(spec.trainingImage, at: path).map {
            site(path, "Algorithm '\(name)' uses \($0.message)")
        }
        var request = definition.request
        issues += checkInstances(request.resourceConfig, spec, name)
        issues += checkChannels(request, spec, name)
        issues += completeHyperParameters(&request, spec, name)
        if request.algorithmSpecification.metricDefinitions?.isEmpty == false {
            issues.append(site("AlgorithmSpecification.MetricDefinitions",
                "MetricDefinitions come from algorithm '\(name)' and cannot be given by a job that names it; remove them"))
        } else {
            request.algorithmSpecification.metricDefinitions = spec.metricDefinitions
        }
        definition.request = request
        return issues
    }

    private func checkInstances(_ resources: ResourceConfig, _ spec: TrainingSpecification, _ name: String) -> [ValidationIssue] {
        var issues: [ValidationIssue] = []
        let groups = resources.effectiveInstanceGroups
        for (index, group) in groups.enumerated() where !spec.supportedTrainingInstanceTypes.contains(group.instanceType) {
            let path: FieldPath = resources.instanceGroups == nil
                ? "ResourceConfig.InstanceType"
                : FieldPath("ResourceConfig").appending(member: "InstanceGroups").appending(index: index).appending(member: "InstanceType")
            issues.append(site(path, "Algorithm '\(name)' does not support instance type \(group.instanceType); use one of \(spec.supportedTrainingInstanceTypes.joined(separator: ", "))"))
        }
        let hosts = groups.reduce(0) { $0 + $1.instanceCount }
        if hosts > 1, spec.supportsDistributedTraining != true {
            issues.append(site(resources.instanceGroups == nil ? "ResourceConfig.InstanceCount" : "ResourceConfig.InstanceGroups",
                "Algorithm '\(name)' does not support distributed training; use a single instance"))
        }
        return issues
    }

    private func checkChannels(_ request: CreateTrainingJobRequest, _ spec: TrainingSpecification, _ name: String) -> [ValidationIssue] {
        var issues: [ValidationIssue] = []
        let channels = request.inputDataConfig ?? []
        for (index, channel) in channels.enumerated() {
            let path = FieldPath("InputDataConfig").appending(index: index)
            guard let channelSpec = spec.trainingChannels.first(where: { $0.name == channel.channelName }) else {
                issues.append(site(path.appending(member: "ChannelName"),
                    "Algorithm '\(name)' has no channel '\(channel.channelName)'; its channels are \(spec.trainingChannels.map(\.name).joined(separator: ", "))"))
                continue
            }
            let mode = request.inputMode(of: channel)
            if !channelSpec.supportedInputModes.contains(mode) {
                issues.append(site(path.appending(member: "InputMode"),
                    "Channel '\(channel.channelName)' of algorithm '\(name)' does not support input mode \(mode.rawValue); use \(channelSpec.supportedInputModes.map(\.rawValue).joined(separator: " or "))"))
            }
            if let contentType = channel.contentType, !channelSpec.supportedContentTypes.contains(contentType) {
                issues.append(site(path.appending(member: "ContentType"),
                    "Channel '\(channel.channelName)' of algorithm '\(name)' does not support content type \(contentType); use one of \(channelSpec.supportedContentTypes.joined(separator: ", "))"))
            }
            if let compression = channel.compressionType, compression != .none,
                let supported = channelSpec.supportedCompressionTypes, !supported.contains(compression)
            {
                issues.append(site(path.appending(member: "CompressionType"),
                    "Channel '\(channel.channelName)' of algorithm '\(name)' does not support compression \(compression.rawValue)"))
            }
        }
        for channelSpec in spec.trainingChannels where channelSpec.isRequired == true {
            if !channels.contains(where: { $0.channelName == channelSpec.name }) {
                issues.append(site("InputDataConfig", "Algorithm '\(name)' requires a channel named '\(channelSpec.name)'; add it to InputDataConfig"))
            }
        }
        return issues
    }

    private func completeHyperParameters(_ request: inout CreateTrainingJobRequest, _ spec: TrainingSpecification, _ name: String) -> [ValidationIssue] {
        var issues: [ValidationIssue] = []
        let supported = spec.supportedHyperParameters ?? []
        var values = request.hyperParameters ?? [:]
        for key in values.keys.sorted() {
            let path = FieldPath("HyperParameters").appending(mapKey: key)
            guard let parameter = supported.first(where: { $0.name == key }) else {
                issues.append(site(path, "Algorithm '\(name)' has no hyperparameter '\(key)'\(known(supported.map(\.name)))"))
                continue
            }
            if let problem = parameter.problem(with: values[key]!) {
                issues.append(site(path, "Hyperparameter '\(key)' of algorithm '\(name)' \(problem)"))
            }
        }
        for parameter in supported where values[parameter.name] == nil {
            if let defaultValue = parameter.defaultValue {
                values[parameter.name] = defaultValue
            } else if parameter.isRequired == true {
                issues.append(site("HyperParameters", "Algorithm '\(name)' requires hyperparameter '\(parameter.name)'; add it to HyperParameters"))
            }
        }
        request.hyperParameters = values.isEmpty && request.hyperParameters == nil ? nil : values
        return issues
    }

    private func site(_ path: FieldPath, _ message: String) -> ValidationIssue {
        ValidationIssue(path: path, code: .site, message: message)
    }

    private func known(_ names: some Sequence<String>) -> String {
        let sorted = names.sorted()
        return sorted.isEmpty ? " (none are configured)" : " (known: \(sorted.joined(separator: ", ")))"
    }
}

extension HyperParameterSpecification {
    /// Why `value` does not fit this parameter's type and range, or nil when it does.
    func problem(with value: String) -> String? {
        switch type {
        case .freeText:
            return nil
        case .integer:
            guard let number = Int64(value) else { return "must be an integer, not '\(value)'" }
            if let bounds = range?.integerParameterRangeSpecification, let low = Int64(bounds.minValue), let high = Int64(bounds.maxValue),
                !(low...high).contains(number)
            {
                return "must be between \(low) and \(high), not \(number)"
            }
        case .continuous:
            guard let number = Double(value), number.isFinite else { return "must be a number, not '\(value)'" }
            if let bounds = range?.continuousParameterRangeSpecification, let low = Double(bounds.minValue), let high = Double(bounds.maxValue),
                !(low...high).contains(number)
            {
                return "must be between \(bounds.minValue) and \(bounds.maxValue), not \(value)"
            }
        case .categorical:
            if let values = range?.categoricalParameterRangeSpecification?.values, !values.contains(value) {
                return "must be one of \(values.joined(separator: ", ")), not '\(value)'"
            }
        }
        return nil
    }
}

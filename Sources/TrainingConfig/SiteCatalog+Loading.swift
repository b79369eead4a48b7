import Foundation
public import TrainingCore
public import TrainingObjectStore

extension DaemonConfiguration {
    /// The site catalog this configuration describes, with the algorithms directory read and checked.
    /// A missing algorithms directory is an empty one; a bad algorithm file is an error that names it.
    public func loadSiteCatalog() throws(ConfigurationFailure) -> SiteCatalog {
        try loadSite().catalog
    }

    /// ``loadSiteCatalog()`` and the ``objectLocations(environment:homeDirectory:)`` it was checked
    /// against, resolved once: the daemon plans and moves data with exactly what submission checks.
    public func loadSite() throws(ConfigurationFailure) -> (catalog: SiteCatalog, locations: ObjectLocations) {
        var errors: [ConfigurationError] = []
        var algorithms: [String: AlgorithmDefinition] = [:]
        let directory = paths.algorithms
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names.sorted() where name.hasSuffix(".json") && !name.hasPrefix(".") {
            let path = directory + "/" + name
            guard let data = FileManager.default.contents(atPath: path) else {
                errors.append(ConfigurationError(.algorithm, file: path, "cannot be read; check its permissions"))
                continue
            }
            switch AlgorithmDefinition.validate(Array(data)) {
            case .success(let algorithm):
                let expected = String(name.dropLast(".json".count))
                if algorithm.algorithmName != expected {
                    errors.append(ConfigurationError(.algorithm, file: path,
                        "AlgorithmName is '\(algorithm.algorithmName)' but the file is named \(name); rename the file to \(algorithm.algorithmName).json"))
                } else {
                    algorithms[algorithm.algorithmName] = algorithm
                }
            case .failure(let rejection):
                errors.append(ConfigurationError(.algorithm, file: path, "is not a valid CreateAlgorithm request: \(rejection)"))
            }
        }
        if !errors.isEmpty { throw ConfigurationFailure(errors: errors) }
        var catalog = SiteCatalog(
            images: images, algorithms: algorithms, fileSystems: fileSystems,
            configurationPath: sourcePath ?? "the daemon's configuration",
            isExecutable: { path in
                var status = stat()
                return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG && access(path, X_OK) == 0
            })
        catalog.buckets = LocalBuckets(directories: buckets, defaultDirectory: paths.buckets)
        let locations: ObjectLocations
        do {
            locations = try objectLocations()
        } catch {
            throw ConfigurationFailure(errors: [ConfigurationError(.badValue, file: sourcePath ?? "the configuration", error.message)])
        }
        catalog.servesRemoteBuckets = locations.s3 != nil
        catalog.remoteBuckets = Set(locations.bucketS3.keys)
        catalog.isDirectory = { path in
            var status = stat()
            return stat(path, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
        }
        catalog.machine = MachineCapacity(cpus: ProcessInfo.processInfo.activeProcessorCount, gpuDevices: gpus ?? Self.detectedGPUs(),
                                          allowsOversubscription: allowOversubscription)
        return (catalog, locations)
    }

    /// Where locations are served: the local buckets, and the S3 endpoint with its credentials
    /// resolved from `[s3]`, the AWS environment of this process and the shared files in the home
    /// directory of its user (``S3Settings/resolve(_:environment:homeDirectory:defaultRegion:)``).
    public func objectLocations(environment given: [String: String]? = nil, homeDirectory: String? = nil) throws(StorageError)
        -> ObjectLocations
    {
        let environment = given ?? ProcessInfo.processInfo.environment
        let home = homeDirectory ?? environment["HOME"] ?? getpwuid(geteuid()).flatMap { $0.pointee.pw_dir.map { String(cString: $0) } }
        let defaultRegion = region == "local" ? "us-east-1" : region
        let s3 = try S3Settings.resolve(self.s3, environment: environment, homeDirectory: home, defaultRegion: defaultRegion)
        var bucketS3: [String: S3Settings] = [:]
        for (bucket, configured) in self.bucketS3 {
            guard let settings = try S3Settings.resolve(configured.over(self.s3), environment: environment, homeDirectory: home,
                                                        defaultRegion: defaultRegion) else {
                throw StorageError(location: "[buckets.\"\(bucket)\"]", message: "[buckets.\"\(bucket)\"] names an S3 endpoint, but no credentials were found for it: set access_key_id and secret_access_key, or a profile that has them", isClientError: true)
            }
            bucketS3[bucket] = settings
        }
        return ObjectLocations(buckets: LocalBuckets(directories: buckets, defaultDirectory: paths.buckets), s3: s3, bucketS3: bucketS3)
    }

    /// NVIDIA GPUs by their device nodes (/dev/nvidia0, /dev/nvidia1, ...).
    /// The NVIDIA GPUs the driver shows: `/dev/nvidiaN`, with the UUID the driver reports for
    /// minor number N in `/proc/driver/nvidia/gpus/*/information` (empty when it does not say).
    static func detectedGPUs() -> [GPUDevice] {
        var uuids: [Int: String] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/driver/nvidia/gpus")) ?? [] {
            guard let text = try? String(contentsOfFile: "/proc/driver/nvidia/gpus/\(entry)/information", encoding: .utf8) else { continue }
            var minor: Int?
            var uuid: String?
            for line in text.split(separator: "\n") {
                let pair = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard pair.count == 2 else { continue }
                if pair[0] == "Device Minor" { minor = Int(pair[1]) }
                if pair[0] == "GPU UUID" { uuid = pair[1] }
            }
            if let minor, let uuid { uuids[minor] = uuid }
        }
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/dev")) ?? []).compactMap { name -> GPUDevice? in
            guard name.hasPrefix("nvidia"), let index = Int(name.dropFirst("nvidia".count)) else { return nil }
            return GPUDevice(index: index, uuid: uuids[index] ?? "")
        }.sorted { $0.index < $1.index }
    }
}

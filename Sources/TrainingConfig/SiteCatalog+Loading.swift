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
        catalog.machine = MachineCapacity(
            cpus: capacityCPUs ?? ProcessInfo.processInfo.activeProcessorCount,
            memoryMiB: capacityMemoryMiB ?? Self.detectedMemoryMiB() ?? Int.max / 4,
            gpuDevices: gpus ?? GPUDiscovery.detect(), instanceScale: instanceScale, allowsOversubscription: allowOversubscription)
        catalog.instanceTypes = InstanceTypeCatalog.builtIn.adding(instanceTypes)
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

    /// This machine's memory in MiB (`MemTotal` of /proc/meminfo, a file of the kernel's).
    static func detectedMemoryMiB() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") }),
              let kibibytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return nil }
        return kibibytes / 1024
    }
}

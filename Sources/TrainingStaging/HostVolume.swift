import Foundation

/// One host's /opt/ml tree on the daemon's disk (`<jobs>/<job>/<host>/`), laid out
/// as section 2 of the SageMaker contract says. The algorithm sees it at /opt/ml.
public struct HostVolume: Sendable, Equatable, Codable {
    /// The directory that is bound at /opt/ml.
    public var root: String

    public init(root: String) {
        self.root = root
    }

    public var configDirectory: String { root + "/input/config" }
    public var dataDirectory: String { root + "/input/data" }
    public var modelDirectory: String { root + "/model" }
    public var outputDirectory: String { root + "/output" }
    public var outputDataDirectory: String { root + "/output/data" }
    public var intermediateDirectory: String { root + "/output/intermediate" }
    public var failureFile: String { root + "/output/failure" }
    public var checkpointsDirectory: String { root + "/checkpoints" }

    public func channelDirectory(_ channel: String) -> String { dataDirectory + "/" + channel }

    /// The volume path of a path the algorithm sees under /opt/ml, or nil for a path outside it.
    public func hostPath(ofContainerPath path: String) -> String? {
        let base = "/opt/ml"
        guard path == base || path.hasPrefix(base + "/") else { return nil }
        return root + path.dropFirst(base.count)
    }

    /// The directories every algorithm may rely on, relative to the root, parents first.
    public static let standardDirectories = [
        "input", "input/config", "input/data", "model", "output", "output/data", "output/intermediate", "checkpoints",
    ]

    /// Creates the directories every algorithm may rely on: the root if it is missing, then one
    /// mkdir each, parents first (no lookups up the tree); those that exist are kept.
    public func create(channels: [String]) throws(StagingError) {
        try FileSystem.makeDirectory(root)
        for relative in Self.standardDirectories {
            let directory = root + "/" + relative
            guard mkdir(directory, 0o755) == 0 || errno == EEXIST else { throw .system("create the directory", directory, errno) }
        }
        // Channel names may hold slashes (S3 key-like names are refused, but a mount point may nest).
        for channel in channels { try FileSystem.makeDirectory(channelDirectory(channel)) }
    }
}

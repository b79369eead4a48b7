import Foundation
public import TrainingCore
import TrainingObjectStore

/// One object of a channel: a file, and the key it is delivered under in the channel directory.
public struct LocalObject: Sendable, Equatable, Codable {
    public var path: String
    /// The object's key relative to the prefix's last `/` (S3 semantics), e.g. `train/part-0.csv`.
    public var key: String
    public var size: UInt64
}

/// Lists the objects of a `file://` location with S3's semantics: a prefix is a
/// string, not a directory, so `file:///data/train` matches `/data/train.csv`
/// and `/data/train/part-0`, and keys are relative to the prefix's last `/`.
public enum LocalObjects {
    /// Every object under `prefix`, in lexicographic key order: the listing of
    /// ``DirectoryObjectStore`` (the local store behind `ObjectStore`), as files and keys.
    public static func list(prefix: String) throws(StagingError) -> [LocalObject] {
        let base = prefix.hasSuffix("/") ? prefix : (prefix as NSString).deletingLastPathComponent + "/"
        let baseDirectory = base == "/" ? "/" : String(base.dropLast())
        guard FileSystem.isDirectory(baseDirectory) else {
            throw StagingError(.client, "the data location \(prefix) does not exist (no directory \(baseDirectory)); check the channel's S3Uri", path: baseDirectory, errno: ENOENT)
        }
        let listed: [StoredObject]
        do { listed = try DirectoryObjectStore(root: "/").list(prefix: String(prefix.dropFirst())) } catch { throw StagingError(error) }
        return listed.map { object in
            LocalObject(path: "/" + object.key, key: String(decoding: object.key.utf8.dropFirst(base.utf8.count - 1), as: UTF8.self), size: object.size)
        }
    }

    /// The objects a ManifestFile names: a JSON array whose first item is `{"prefix": URI}` and the rest keys.
    public static func fromManifest(at path: String, buckets: LocalBuckets = LocalBuckets()) throws(StagingError) -> [LocalObject] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .system("read the manifest", path, errno == 0 ? ENOENT : errno)
        }
        guard let document = try? StrictJSONParser.parse(Array(data)), case .array(let items) = document,
            let prefixURI = items.first?["prefix"]?.stringValue, let prefix = buckets.localPath(of: prefixURI)
        else {
            throw StagingError(.client, "the manifest \(path) is not a JSON array starting with {\"prefix\": \"file:///...\"}", path: path)
        }
        var objects: [LocalObject] = []
        for item in items.dropFirst() {
            guard let key = item.stringValue else {
                throw StagingError(.client, "the manifest \(path) has an entry that is not a string: \(item.serialized())", path: path)
            }
            let objectPath = prefix.hasSuffix("/") ? prefix + key : prefix + "/" + key
            var info = stat()
            guard stat(objectPath, &info) == 0 else { throw .system("read the manifest entry", objectPath, errno) }
            objects.append(LocalObject(path: objectPath, key: key, size: UInt64(info.st_size)))
        }
        return objects
    }

    /// The objects of a channel's source that host `rank` of `hostCount` receives (File and Pipe mode alike).
    public static func objects(of source: ChannelSource, _ distribution: S3DataDistributionType, rank: Int, hostCount: Int,
                               buckets: LocalBuckets = LocalBuckets()) throws(StagingError) -> [LocalObject]
    {
        let all: [LocalObject]
        switch source {
        case .prefix(let prefix):
            all = try list(prefix: prefix)
            // As SageMaker and the S3 endpoint (RemoteObjects) answer a prefix that matches nothing.
            guard !all.isEmpty else { throw RemoteObjects.noObjects("file://" + prefix) }
        case .manifest(let path): all = try fromManifest(at: path, buckets: buckets)
        case .directory(let path, _): all = try list(prefix: path.hasSuffix("/") ? path : path + "/")
        case .augmentedManifest(let path, _):
            throw StagingError(.client, "the AugmentedManifestFile \(path) can only be streamed (Pipe mode)", path: path)
        case .remotePrefix(let uri), .remoteManifest(let uri), .remoteAugmentedManifest(let uri, _):
            throw StagingError(.platform, "\(uri) is on the S3 endpoint, not local (RemoteObjects serves it)", path: uri)
        }
        return shard(all, distribution, rank: rank, hostCount: hostCount)
    }

    /// What host `rank` of `hostCount` receives of a channel's objects (or an augmented manifest's
    /// lines): all of them (FullyReplicated), or those at positions `rank, rank + n, ...` of the
    /// sorted list (ShardedByS3Key).
    public static func shard<Element>(_ objects: [Element], _ distribution: S3DataDistributionType, rank: Int, hostCount: Int) -> [Element] {
        guard distribution == .shardedByS3Key, hostCount > 1 else { return objects }
        return objects.enumerated().filter { $0.offset % hostCount == rank }.map(\.element)
    }
}

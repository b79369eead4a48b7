import Foundation
public import TrainingCore
public import TrainingObjectStore
import TrainingS3

/// The objects of a channel (or a checkpoint location) on the S3 endpoint, listed once and
/// downloaded a few at a time into a directory, each under its key relative to the prefix's last
/// `/` (S3's channel semantics, as ``LocalObjects`` gives for local ones).
public struct RemoteObjects: Sendable {
    public var location: ResolvedLocation
    /// The prefix the keys are relative to.
    public var prefix: String
    public var objects: [StoredObject]

    /// Files downloaded at once; each large one also moves in parallel parts (``S3ObjectStore``).
    static let concurrentFiles = 10
    /// A ManifestFile is read into memory: at most this many bytes.
    static let manifestLimit: UInt64 = 64 << 20

    /// The objects one host receives of a remote channel (its share, when ShardedByS3Key).
    public static func of(_ plan: ChannelPlan, locations: ObjectLocations) throws(StagingError) -> RemoteObjects {
        switch plan.source {
        case .remotePrefix(let uri):
            let location = try resolve(uri, locations)
            let listed = try listing(location, prefix: location.key).filter { !ObjectKeys.isFolderMarker($0) }
            guard !listed.isEmpty else { throw noObjects(uri) }
            return RemoteObjects(location: location, prefix: location.key,
                                 objects: LocalObjects.shard(listed, plan.distribution, rank: plan.rank, hostCount: plan.hostCount))
        case .remoteManifest(let uri):
            return try fromManifest(uri, plan: plan, locations: locations)
        case .remoteAugmentedManifest(let uri, _):
            throw StagingError(.client, "the AugmentedManifestFile \(uri) can only be streamed (Pipe mode)", path: uri)
        default:
            throw StagingError(.platform, "channel \(plan.name) is not on the S3 endpoint")
        }
    }

    /// Every object of a checkpoint location (none when it does not exist yet: a first run).
    public static func checkpoints(at uri: String, locations: ObjectLocations) throws(StagingError) -> RemoteObjects {
        let location = try resolve(uri, locations)
        let prefix = ObjectKeys.directoryPrefix(location.key)
        let objects = try listing(location, prefix: prefix)
            .filter { !ObjectKeys.isFolderMarker($0) && !($0.key as NSString).lastPathComponent.hasPrefix(".trainingd-tmp") }
        return RemoteObjects(location: location, prefix: prefix, objects: objects)
    }

    /// Downloads every object into `directory`, `concurrentFiles` at a time; the first failure ends
    /// it. A key that could not stay below the directory (`..` segments, ...) fails it before anything moves.
    public func download(into directory: String) throws(StagingError) {
        let (store, prefix, objects) = (location.store, self.prefix, self.objects)
        for object in objects {
            if let refusal = ObjectKeys.refusal(ofRelative: ObjectKeys.relative(object.key, toPrefix: prefix)) {
                let uri = store.name + "/" + object.key
                throw StagingError(.client, "the object \(uri) cannot be delivered as a file: its key \(refusal); rename it", path: uri)
            }
        }
        try Parallel.forEach(objects.count, concurrency: Self.concurrentFiles) { (index) throws(StagingError) in
            let object = objects[index]
            let target = directory + "/" + ObjectKeys.relative(object.key, toPrefix: prefix)
            try FileSystem.makeDirectory((target as NSString).deletingLastPathComponent)
            do throws(StorageError) { try store.download(object, to: target) } catch { throw StagingError(error) }
        }
    }

    /// A manifest object's bytes (at most `manifestLimit`).
    static func manifestBytes(_ uri: String, locations: ObjectLocations) throws(StagingError) -> Data {
        let manifest = try resolve(uri, locations)
        let size: UInt64?
        do { size = try manifest.store.size(of: manifest.key) } catch { throw StagingError(error) }
        guard let size else { throw StagingError(.client, "the manifest \(uri) does not exist", path: uri) }
        guard size <= manifestLimit else {
            throw StagingError(.client, "the manifest \(uri) is \(size) bytes, more than trainingd reads (\(manifestLimit)); split the channel", path: uri)
        }
        do { return size == 0 ? Data() : try manifest.store.read(manifest.key, range: 0...(size - 1)) } catch { throw StagingError(error) }
    }

    private static func fromManifest(_ uri: String, plan: ChannelPlan, locations: ObjectLocations) throws(StagingError) -> RemoteObjects {
        let data = try manifestBytes(uri, locations: locations)
        guard let document = try? StrictJSONParser.parse(Array(data)),
              case .array(let items) = document, let prefixURI = items.first?["prefix"]?.stringValue
        else {
            throw StagingError(.client, "the manifest \(uri) is not a JSON array starting with {\"prefix\": \"s3://...\"}", path: uri)
        }
        let location = try resolve(prefixURI, locations)
        let base = ObjectKeys.directoryPrefix(location.key)
        var listed: [StoredObject] = []
        for item in items.dropFirst() {
            guard let key = item.stringValue else {
                throw StagingError(.client, "the manifest \(uri) has an entry that is not a string: \(item.serialized())", path: uri)
            }
            let objectSize: UInt64?
            do { objectSize = try location.store.size(of: base + key) } catch { throw StagingError(error) }
            guard let objectSize else { throw StagingError(.client, "the manifest \(uri) names \(prefixURI)\(key), which does not exist", path: uri) }
            listed.append(StoredObject(key: base + key, size: objectSize))
        }
        return RemoteObjects(location: location, prefix: base, objects: LocalObjects.shard(listed, plan.distribution, rank: plan.rank, hostCount: plan.hostCount))
    }

    /// A FastFile channel mounted by the daemon: its prefix must hold objects (SageMaker's
    /// ClientError otherwise, and a wrong key or a missing bucket is named here rather than as
    /// a read error inside the algorithm), and its mount must come up within `timeout` seconds.
    public static func awaitMount(_ mount: AwaitedMount, locations: ObjectLocations, timeout: Double) throws(StagingError) {
        let location = try resolve(mount.uri, locations)
        let found: Bool
        do { found = try location.store.hasObjects(prefix: location.key) } catch { throw StagingError(error) }
        guard found else { throw noObjects(mount.uri) }
        guard RcloneMount.waitUntilMounted(mount.path, timeout: timeout) else {
            throw StagingError(.platform, "the FastFile mount of channel \(mount.channel) (\(mount.uri)) did not come up within \(Int(timeout)) s; see the job's mount log in \((mount.path as NSString).deletingLastPathComponent)", path: mount.path)
        }
    }

    /// SageMaker's words for a channel prefix that matches no object.
    static func noObjects(_ uri: String) -> StagingError {
        let bucket = StorageURI.parse(uri).flatMap { if case .s3(let bucket, _) = $0 { bucket } else { nil } } ?? ""
        return StagingError(.client, "No S3 objects found under S3 URL \"\(uri)\" given in input data source. Please ensure that the bucket exists, that objects exist under that S3 prefix, and that the credentials trainingd uses (its [s3] configuration) may list the bucket \"\(bucket)\".", path: uri)
    }

    static func resolve(_ uri: String, _ locations: ObjectLocations) throws(StagingError) -> ResolvedLocation {
        do { return try locations.resolve(uri) } catch { throw StagingError(error) }
    }

    private static func listing(_ location: ResolvedLocation, prefix: String) throws(StagingError) -> [StoredObject] {
        do { return try location.store.list(prefix: prefix) } catch { throw StagingError(error) }
    }
}

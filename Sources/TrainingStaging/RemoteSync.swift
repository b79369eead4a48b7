import Foundation
import TrainingObjectStore

/// Uploads a local directory's files under a location of the S3 endpoint (`s3://bucket/prefix`):
/// artifacts after the run, checkpoints and intermediate or TensorBoard output during and after
/// it. Each file becomes the object `<prefix>/<its path below the directory>`; S3 makes each
/// object appear whole (a PUT, or a completed multipart upload).
enum RemoteSync {
    /// Whether a sync destination is an `s3://` location of the S3 endpoint (the planner writes
    /// local destinations as paths).
    static func isRemote(_ destination: String) -> Bool { destination.hasPrefix("s3://") }

    /// The store and key prefix (ending in `/`) of a destination.
    static func resolve(_ uri: String, _ locations: ObjectLocations) throws(StagingError) -> (store: any ObjectStore, prefix: String) {
        let location = try RemoteObjects.resolve(uri, locations)
        return (location.store, ObjectKeys.directoryPrefix(location.key))
    }

    /// One file as the object `key`.
    static func upload(_ path: String, as key: String, to store: any ObjectStore) throws(StagingError) {
        do { try store.upload(path, as: key) } catch { throw StagingError(error) }
    }

    /// Each file as its object, several at a time (as the store sees fit); the first failure ends it.
    static func upload(_ files: [(path: String, key: String)], to store: any ObjectStore) throws(StagingError) {
        do { try store.upload(files) } catch { throw StagingError(error) }
    }

    /// Uploads every file below `directory` that the location does not hold with the same size
    /// (`skipUnchanged`), and with `mirrorsDeletions` removes the objects under the prefix that
    /// have no file any more (an old checkpoint must not come back at a restore).
    static func upload(directory: String, to uri: String, locations: ObjectLocations, mirrorsDeletions: Bool = false,
                       skipUnchanged: Bool = false) throws(StagingError) {
        guard FileSystem.isDirectory(directory) else { return }
        let (store, prefix) = try resolve(uri, locations)
        let files = try LocalObjects.list(prefix: directory.hasSuffix("/") ? directory : directory + "/")
            .filter { !($0.key as NSString).lastPathComponent.hasPrefix(".trainingd-tmp") }
        var remote: [String: UInt64] = [:]
        if skipUnchanged || mirrorsDeletions {
            do {
                for object in try store.list(prefix: prefix) { remote[object.key] = object.size }
            } catch {
                throw StagingError(error)
            }
        }
        try upload(files.filter { !skipUnchanged || remote[prefix + $0.key] != $0.size }.map { ($0.path, prefix + $0.key) }, to: store)
        if mirrorsDeletions {
            let kept = Set(files.map { prefix + $0.key })
            for key in remote.keys where !kept.contains(key) {
                do { try store.delete(key) } catch { throw StagingError(error) }
            }
        }
    }
}

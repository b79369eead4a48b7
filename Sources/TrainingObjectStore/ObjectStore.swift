public import Foundation

/// An object of a store: its key (from the store's root: the bucket, or `/` for `file://`) and size.
public struct StoredObject: Sendable, Equatable, Codable {
    public var key: String
    public var size: UInt64

    public init(key: String, size: UInt64) {
        self.key = key
        self.size = size
    }
}

/// Why a store could not do what was asked, about which object, in words a user can act on.
public struct StorageError: Error, Sendable, CustomStringConvertible {
    /// The object or prefix: `s3://bucket/key` or a local path.
    public var location: String
    /// The whole message, the location included.
    public var message: String
    /// The errno of a local failure, 0 otherwise.
    public var errno: Int32
    /// A failure of the definition or of the owner's data and rights (a missing object, access
    /// denied, a wrong key), rather than of trainingd or the machine.
    public var isClientError: Bool

    public init(location: String, message: String, errno: Int32 = 0, isClientError: Bool) {
        self.location = location
        self.message = message
        self.errno = errno
        self.isClientError = isClientError
    }

    public var description: String { message }
}

/// Where objects are listed, read, written and deleted: a local directory with S3's semantics
/// (`file://` locations and local buckets, ``DirectoryObjectStore``) or an S3 bucket
/// (``S3ObjectStore``). Staging, Pipe streaming, packaging and the checkpoint and output sync
/// use only this, so none of them knows which backend serves a location.
///
/// Keys are strings and prefixes match as strings, as in S3: the prefix `data/train` matches
/// `data/train.csv` and `data/train/part-0`. Every call is synchronous and bounded in memory
/// whatever the object's size; transfers go through files.
public protocol ObjectStore: Sendable {
    /// `s3://bucket` or `file:///directory`, for messages.
    var name: String { get }
    /// Every object whose key starts with `prefix`, in key order (bytewise).
    func list(prefix: String) throws(StorageError) -> [StoredObject]
    /// The object's bytes into the file `path`, which appears complete or not at all.
    func download(_ key: String, to path: String) throws(StorageError)
    /// ``download(_:to:)`` of a listed object, whose size is known (S3 then needs no HEAD first).
    func download(_ object: StoredObject, to path: String) throws(StorageError)
    /// The file `path` as the object `key`, which appears complete or not at all.
    func upload(_ path: String, as key: String) throws(StorageError)
    /// Each file as its object, several at once (the store decides how: S3 sends more of them
    /// whole); the first failure ends it, and is thrown once the transfers under way are done.
    func upload(_ files: [(path: String, key: String)]) throws(StorageError)
    /// Whether any object's key starts with `prefix`, without listing them all.
    func hasObjects(prefix: String) throws(StorageError) -> Bool
    /// Removes the object; no error when there is none.
    func delete(_ key: String) throws(StorageError)
    /// The object's size, nil when there is none.
    func size(of key: String) throws(StorageError) -> UInt64?
    /// Bytes `range` of the object (a ranged GET): for reading a large object as a stream of parts.
    func read(_ key: String, range: ClosedRange<UInt64>) throws(StorageError) -> Data
    /// The local directory holding the objects under `prefix`, when the store is one and the
    /// prefix names a whole directory: a channel can then be bound rather than copied.
    func localDirectory(of prefix: String) -> String?
}

extension ObjectStore {
    /// Files uploaded at once by the default ``upload(_:)``.
    static var concurrentUploads: Int { 10 }

    public func upload(_ files: [(path: String, key: String)]) throws(StorageError) {
        try Parallel.forEach(files.count, concurrency: Self.concurrentUploads) { (index) throws(StorageError) in
            try upload(files[index].path, as: files[index].key)
        }
    }

    public func localDirectory(of prefix: String) -> String? { nil }
    public func hasObjects(prefix: String) throws(StorageError) -> Bool { try !list(prefix: prefix).isEmpty }
    public func download(_ object: StoredObject, to path: String) throws(StorageError) { try download(object.key, to: path) }
}

/// What an object key may be to become a file: keys are any strings to S3, but a file below a
/// channel (or checkpoint) directory must stay below it.
public enum ObjectKeys {
    /// The key of an object relative to `prefix`'s last `/` (S3's channel semantics: the prefix
    /// `data/train` delivers `data/train/part-0` as `train/part-0`).
    public static func relative(_ key: String, toPrefix prefix: String) -> String {
        guard let slash = prefix.lastIndex(of: "/") else { return key }
        let base = prefix[...slash]
        return key.hasPrefix(base) ? String(key.dropFirst(base.count)) : key
    }

    /// `key` as the prefix of a directory's objects: itself when empty or ending in `/`, else with a `/`.
    public static func directoryPrefix(_ key: String) -> String { key.isEmpty || key.hasSuffix("/") ? key : key + "/" }

    /// Whether `key` is a "folder" marker (what the S3 console's "Create folder" makes): an empty
    /// object whose key ends in `/`. Skipped, as `aws s3 sync` and SageMaker skip them.
    public static func isFolderMarker(_ object: StoredObject) -> Bool { object.size == 0 && object.key.hasSuffix("/") }

    /// Why `relative` (a key below its prefix) cannot be a path below a directory: a leading `/`,
    /// an empty, `.` or `..` segment, or a NUL; nil when it can.
    public static func refusal(ofRelative relative: String) -> String? {
        if relative.utf8.contains(0) { return "contains a NUL byte" }
        if relative.hasPrefix("/") { return "starts with '/'" }
        let segments = relative.split(separator: "/", omittingEmptySubsequences: false)
        if segments.contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) { return "has an empty, '.' or '..' path segment" }
        return nil
    }
}

/// An object read from its start as a sequence of parts of at most `partSize` bytes, the next
/// one fetched while the caller uses the current one: streaming with memory bounded by two parts.
public final class ObjectPartReader: @unchecked Sendable {
    // @unchecked: `pending` is written by the fetching block and read after its group is waited on.
    private let store: any ObjectStore
    private let key: String
    private let size: UInt64
    private let partSize: UInt64
    private var offset: UInt64 = 0
    private var pending: Result<Data, StorageError>?
    /// Whether a part is being fetched (or fetched and not yet taken).
    private var inFlight = false
    private let fetched = DispatchGroup()

    public init(store: any ObjectStore, key: String, size: UInt64, partSize: UInt64 = 8 << 20) {
        self.store = store
        self.key = key
        self.size = size
        self.partSize = max(partSize, 1)
        prefetch()
    }

    /// The next part, nil at the end.
    public func next() throws(StorageError) -> Data? {
        guard inFlight else { return nil }
        fetched.wait()
        inFlight = false
        guard let result = pending else { return nil }
        pending = nil
        prefetch()
        return try result.get()
    }

    private func prefetch() {
        guard offset < size else { return }
        inFlight = true
        let range = offset...(min(offset + partSize, size) - 1)
        offset = range.upperBound + 1
        fetched.enter()
        DispatchQueue.global().async { [self] in
            do throws(StorageError) {
                pending = .success(try store.read(key, range: range))
            } catch {
                pending = .failure(error)
            }
            fetched.leave()
        }
    }
}

/// A location resolved to its store and key: `s3://bucket/key` on S3 or in a local bucket,
/// `file:///path` in the local file system.
public struct ResolvedLocation: Sendable {
    public var store: any ObjectStore
    public var key: String

    public init(store: any ObjectStore, key: String) {
        self.store = store
        self.key = key
    }

    /// The location as a URI again, for messages.
    public var description: String {
        store.name.hasPrefix("file://") ? "file:///" + key : store.name + "/" + key
    }
}

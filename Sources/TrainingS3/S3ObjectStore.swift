public import Foundation
public import TrainingObjectStore

/// One bucket of an S3-compatible store behind ``ObjectStore``. Large objects move in parts, a
/// few at a time: a download as ranged GETs written at their offsets, an upload as a multipart
/// upload (each part retried by the client on transient failures, the upload aborted if one
/// fails for good). Every part's buffer (and every object read whole) takes its bytes of
/// ``buffers`` first, so memory stays bounded per process whatever the objects' sizes and
/// however many transfers run.
public struct S3ObjectStore: ObjectStore {
    public let client: S3Client
    public let bucket: String
    /// Bytes per part; objects under twice this move in one request.
    public var partSize: UInt64
    /// Parts (or, in a batch, files) in flight at once.
    public var concurrency: Int
    /// In a batch of at least `concurrency` files, files of up to this many parts go up whole
    /// (``upload(_:)``).
    public static let wholeObjectParts: UInt64 = 4

    public init(client: S3Client, bucket: String, partSize: UInt64 = 8 << 20, concurrency: Int = 10) {
        self.client = client
        self.bucket = bucket
        self.partSize = max(partSize, 5 << 20)  // S3's smallest part but the last
        self.concurrency = max(concurrency, 1)
    }

    public var name: String { "s3://" + bucket }

    /// Objects smaller than this (two parts) move in one request, either way.
    var oneRequestBelow: UInt64 { 2 * partSize }

    /// Bytes of part and object buffers in memory at once in this process, across stores: as
    /// much as one request in flight per slot, each with an object just under two 8 MiB parts
    /// (160 MiB).
    static let buffers = BufferBudget(capacity: UInt64(S3Client.maximumRequestsInFlight) * (16 << 20))

    /// Runs `body` holding `bytes` of `buffers`.
    static func withBuffer<T>(_ bytes: UInt64, _ body: () throws(StorageError) -> T) throws(StorageError) -> T {
        try buffers.withBytes(bytes, body)
    }

    public func list(prefix: String) throws(StorageError) -> [StoredObject] {
        do {
            return try client.listObjects(bucket: bucket, prefix: prefix)
                .sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        } catch {
            throw Self.storageError(error)
        }
    }

    public func hasObjects(prefix: String) throws(StorageError) -> Bool {
        do { return try !client.listObjects(bucket: bucket, prefix: prefix, limit: 1).isEmpty } catch { throw Self.storageError(error) }
    }

    public func download(_ key: String, to path: String) throws(StorageError) {
        let size: UInt64?
        do { size = try client.headObject(bucket: bucket, key: key) } catch { throw Self.storageError(error) }
        guard let size else {
            throw StorageError(location: "s3://\(bucket)/\(key)", message: "s3://\(bucket)/\(key) does not exist (NoSuchKey)", isClientError: true)
        }
        try download(key, size: size, to: path)
    }

    public func download(_ object: StoredObject, to path: String) throws(StorageError) {
        try download(object.key, size: object.size, to: path)
    }

    /// The object of known `size` into `path`: one GET (under two parts), or ranged GETs in
    /// parallel, each written at its offset; into a temporary file next to the target, renamed
    /// once complete (no temporary file elsewhere, no copy across file systems).
    public func download(_ key: String, size: UInt64, to path: String) throws(StorageError) {
        let temporary = path + ".part-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileCopy.failure("cannot create", temporary, errno) }
        defer { close(fd) }
        let partSize = size >= oneRequestBelow ? self.partSize : max(size, 1)
        let parts = Int((size + partSize - 1) / partSize)
        let (client, bucket) = (self.client, self.bucket)
        do throws(StorageError) {
            if parts > 1, ftruncate(fd, off_t(size)) != 0 { throw FileCopy.failure("cannot make room for the object in", temporary, errno) }
            try Parallel.forEach(parts, concurrency: concurrency) { (index) throws(StorageError) in
                let start = UInt64(index) * partSize
                try Self.withBuffer(min(partSize, size - start)) { () throws(StorageError) in
                    let data = try Self.get(client, bucket: bucket, key: key, range: start...(min(start + partSize, size) - 1))
                    try FileCopy.writeFully(data, to: fd, at: start, path: temporary)
                }
            }
            guard rename(temporary, path) == 0 else { throw FileCopy.failure("cannot move the object into", path, errno) }
        } catch {
            unlink(temporary)
            throw error
        }
    }

    public func upload(_ path: String, as key: String) throws(StorageError) {
        try upload(path, as: key, wholeBelow: oneRequestBelow)
    }

    /// Many files, `concurrency` at a time. Each goes whole below two parts, as alone; in a batch
    /// of at least `concurrency` files, files of up to ``wholeObjectParts`` parts go whole too.
    /// Whole objects alone keep every request slot busy then, and a multipart upload would cost
    /// two more requests per file (S3 bills each) and the server's assembly of the parts at
    /// completion (moto copies the whole object: the 64 files of 16 MiB of bench/s3_transfer.py
    /// went up 1.2-1.5x faster whole than in two parts each).
    public func upload(_ files: [(path: String, key: String)]) throws(StorageError) {
        let wholeBelow = files.count >= concurrency ? Self.wholeObjectParts * partSize + 1 : oneRequestBelow
        try Parallel.forEach(files.count, concurrency: concurrency) { (index) throws(StorageError) in
            try upload(files[index].path, as: files[index].key, wholeBelow: wholeBelow)
        }
    }

    func upload(_ path: String, as key: String, wholeBelow: UInt64) throws(StorageError) {
        var info = stat()
        guard stat(path, &info) == 0 else { throw FileCopy.failure("cannot read", path, errno) }
        try upload(path, as: key, size: UInt64(info.st_size), wholeBelow: wholeBelow)
    }

    /// Uploads `size` bytes of the file (its size when it was looked at: a file cut short
    /// meanwhile fails the upload, which is then aborted): in one request below `wholeBelow`
    /// bytes (by default two parts), else as a multipart upload.
    public func upload(_ path: String, as key: String, size: UInt64, wholeBelow: UInt64? = nil) throws(StorageError) {
        guard size >= wholeBelow ?? oneRequestBelow else {
            // Read whole and sent as one buffer.
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw FileCopy.failure("cannot read", path, errno) }
            defer { close(fd) }
            let (client, bucket) = (self.client, self.bucket)
            try Self.withBuffer(size) { () throws(StorageError) in
                try Self.put(client, bucket: bucket, key: key, data: try FileCopy.readFully(fd, at: 0, count: Int(size), path: path))
            }
            return
        }
        // At most 10,000 parts (S3's limit): larger objects get larger parts.
        let partSize = max(self.partSize, (size + 9_999) / 10_000)
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileCopy.failure("cannot read", path, errno) }
        defer { close(fd) }
        let uploadID: String
        do { uploadID = try client.createMultipartUpload(bucket: bucket, key: key) } catch { throw Self.storageError(error) }
        let parts = Int((size + partSize - 1) / partSize)
        let uploaded = UploadedParts(count: parts)
        let (client, bucket) = (self.client, self.bucket)
        do throws(StorageError) {
            try Parallel.forEach(parts, concurrency: concurrency) { (index) throws(StorageError) in
                let start = UInt64(index) * partSize
                try Self.withBuffer(min(partSize, size - start)) { () throws(StorageError) in
                    let data = try FileCopy.readFully(fd, at: start, count: Int(min(partSize, size - start)), path: path)
                    uploaded.set(index, try Self.put(client, bucket: bucket, key: key, uploadID: uploadID, part: index + 1, data: data))
                }
            }
            try Self.complete(client, bucket: bucket, key: key, uploadID: uploadID, parts: uploaded.all)
        } catch {
            // Parts left behind would be billed and kept until a lifecycle rule removes them.
            try? client.abortMultipartUpload(bucket: bucket, key: key, uploadID: uploadID)
            throw error
        }
    }

    public func delete(_ key: String) throws(StorageError) {
        do { try client.deleteObject(bucket: bucket, key: key) } catch { throw Self.storageError(error) }
    }

    public func read(_ key: String, range: ClosedRange<UInt64>) throws(StorageError) -> Data {
        do { return try client.getObject(bucket: bucket, key: key, range: range) } catch { throw Self.storageError(error) }
    }

    public func size(of key: String) throws(StorageError) -> UInt64? {
        do { return try client.headObject(bucket: bucket, key: key) } catch { throw Self.storageError(error) }
    }

    /// S3's answer as a storage error: the server's refusals (4xx) are the definition's or the
    /// owner's to fix (a ClientError), the rest the store's or the network's.
    static func storageError(_ error: S3Error) -> StorageError {
        let location = error.key.map { "s3://\(error.bucket)/\($0)" } ?? "s3://\(error.bucket)"
        return StorageError(location: location, message: error.description, isClientError: (400..<500).contains(error.status))
    }

    // MARK: - Parts

    static func get(_ client: S3Client, bucket: String, key: String, range: ClosedRange<UInt64>) throws(StorageError) -> Data {
        do { return try client.getObject(bucket: bucket, key: key, range: range) } catch { throw storageError(error) }
    }

    static func put(_ client: S3Client, bucket: String, key: String, uploadID: String, part: Int, data: Data) throws(StorageError) -> S3Client.UploadedPart {
        do { return try client.uploadPart(bucket: bucket, key: key, uploadID: uploadID, number: part, data: data) } catch { throw storageError(error) }
    }

    static func put(_ client: S3Client, bucket: String, key: String, data: Data) throws(StorageError) {
        do { try client.putObject(bucket: bucket, key: key, data: data) } catch { throw storageError(error) }
    }

    static func complete(_ client: S3Client, bucket: String, key: String, uploadID: String, parts: [S3Client.UploadedPart]) throws(StorageError) {
        do { try client.completeMultipartUpload(bucket: bucket, key: key, uploadID: uploadID, parts: parts) } catch { throw storageError(error) }
    }
}

/// The uploaded parts by index, set from the uploading threads.
final class UploadedParts: @unchecked Sendable {
    // @unchecked: every access goes through `lock`.
    private let lock = NSLock()
    private var parts: [S3Client.UploadedPart]
    init(count: Int) { parts = Array(repeating: S3Client.UploadedPart(etag: "", crc32: ""), count: count) }
    func set(_ index: Int, _ part: S3Client.UploadedPart) { lock.withLock { parts[index] = part } }
    var all: [S3Client.UploadedPart] { lock.withLock { parts } }
}

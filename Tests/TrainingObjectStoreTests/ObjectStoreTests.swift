import Foundation
import Testing
@testable import TrainingObjectStore
@testable import TrainingS3
import TrainingTestSupport

/// The two backends behind `ObjectStore` answer alike: S3's semantics over a local directory,
/// and S3 itself (moto), large objects in parts.
@Suite("ObjectStore: local directories and S3, the same semantics", .serialized)
struct ObjectStoreTests {
    let directory = NSTemporaryDirectory() + "trainingd-stores-" + UUID().uuidString

    init() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func write(_ text: String, to relative: String) throws {
        let path = directory + "/" + relative
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: path, atomically: false, encoding: .utf8)
    }

    static func pseudoRandom(_ count: Int, seed: UInt64) -> Data {
        var state = seed
        var bytes = [UInt8](repeating: 0, count: count)
        for index in bytes.indices {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            bytes[index] = UInt8(truncatingIfNeeded: state >> 33)
        }
        return Data(bytes)
    }

    @Test("a directory store: prefixes match as strings, keys are relative to the root, links to directories are not followed")
    func directoryListing() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for key in ["bucket/data/train/a.csv", "bucket/data/train/sub/b.csv", "bucket/data/training.csv", "bucket/data/test/c.csv", "outside/x"] {
            try write(key, to: key)
        }
        symlink(directory + "/outside", directory + "/bucket/data/train-link")
        let store = DirectoryObjectStore(root: directory + "/bucket")
        #expect(try store.list(prefix: "data/train").map(\.key) == ["data/train/a.csv", "data/train/sub/b.csv", "data/training.csv"])
        #expect(try store.list(prefix: "data/train/").map(\.key) == ["data/train/a.csv", "data/train/sub/b.csv"])
        #expect(try store.list(prefix: "").count == 4)
        #expect(ObjectKeys.relative("data/train/sub/b.csv", toPrefix: "data/train") == "train/sub/b.csv")
        #expect(store.localDirectory(of: "data/train/") == directory + "/bucket/data/train")
        #expect(store.localDirectory(of: "data/train") == nil)
        #expect(throws: StorageError.self) { try store.list(prefix: "nothing/here/") }
        let root = DirectoryObjectStore(root: "/")
        #expect(try root.list(prefix: String((directory + "/bucket/data/test/").dropFirst())).map(\.key) == [String((directory + "/bucket/data/test/c.csv").dropFirst())])
    }

    @Test("a directory store: an upload appears whole under its key with the file's modification time; delete and size")
    func directoryTransfers() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try write("weights", to: "local/model.bin")
        let store = DirectoryObjectStore(root: directory + "/bucket")
        try store.upload(directory + "/local/model.bin", as: "out/job/model.bin")
        #expect(try String(contentsOfFile: directory + "/bucket/out/job/model.bin", encoding: .utf8) == "weights")
        var source = stat(), copy = stat()
        stat(directory + "/local/model.bin", &source)
        stat(directory + "/bucket/out/job/model.bin", &copy)
        #expect(source.st_mtim.tv_sec == copy.st_mtim.tv_sec && source.st_mtim.tv_nsec == copy.st_mtim.tv_nsec)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/bucket/out/job") == ["model.bin"], "no temporary file is left")
        #expect(try store.size(of: "out/job/model.bin") == 7)
        try store.download("out/job/model.bin", to: directory + "/back")
        #expect(try String(contentsOfFile: directory + "/back", encoding: .utf8) == "weights")
        try store.delete("out/job/model.bin")
        try store.delete("out/job/model.bin")
        #expect(try store.size(of: "out/job/model.bin") == nil)
    }

    @Test("keys that would leave their directory are refused: '..', '.', empty segments, a leading '/', NUL; folder markers are recognised")
    func keysThatWouldLeave() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for bad in ["../x", "a/../../x", "a/./b", "a//b", "/etc/passwd", "a/\u{0}b", "..", "."] {
            #expect(ObjectKeys.refusal(ofRelative: bad) != nil, "\(bad)")
        }
        for good in ["a", "a/b.csv", "with space/ünïcode+plus.txt", "...", "a..b/c"] {
            #expect(ObjectKeys.refusal(ofRelative: good) == nil, "\(good)")
        }
        #expect(ObjectKeys.isFolderMarker(StoredObject(key: "data/train/", size: 0)))
        #expect(!ObjectKeys.isFolderMarker(StoredObject(key: "data/train/", size: 3)))
        try write("secret", to: "outside.txt")
        let store = DirectoryObjectStore(root: directory + "/bucket")
        try FileManager.default.createDirectory(atPath: directory + "/bucket", withIntermediateDirectories: true)
        #expect(throws: StorageError.self) { try store.download("../outside.txt", to: directory + "/stolen") }
        #expect(throws: StorageError.self) { try store.upload(directory + "/outside.txt", as: "a/../../planted.txt") }
        #expect(throws: StorageError.self) { try store.delete("../outside.txt") }
        #expect(FileManager.default.fileExists(atPath: directory + "/outside.txt"))
        #expect(!FileManager.default.fileExists(atPath: directory + "/planted.txt"))
    }

    @Test("ObjectPartReader gives the object's bytes in order, in parts of at most partSize, then nil; small and empty objects too",
          arguments: [0, 1, 8, 4095, 4096, 4097, 10_000])
    func partReader(size: Int) throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bytes = Self.pseudoRandom(size, seed: UInt64(size))
        try FileManager.default.createDirectory(atPath: directory + "/bucket", withIntermediateDirectories: true)
        try bytes.write(to: URL(fileURLWithPath: directory + "/bucket/object"))
        let reader = ObjectPartReader(store: DirectoryObjectStore(root: directory + "/bucket"), key: "object", size: UInt64(size), partSize: 4096)
        var received = Data()
        var parts = 0
        while let part = try reader.next() {
            #expect(!part.isEmpty && part.count <= 4096)
            received += part
            parts += 1
        }
        #expect(received == bytes)
        #expect(parts == (size + 4095) / 4096)
        #expect(try reader.next() == nil)
    }

    @Test("the buffer budget serves takers in turn: a small one that would fit waits behind a large one that does not")
    func bufferBudgetInTurn() throws {
        let budget = BufferBudget(capacity: 10)
        budget.take(6)
        let served = DispatchGroup()
        func taker(_ bytes: UInt64) {
            served.enter()
            Thread { budget.take(bytes); served.leave() }.start()
        }
        func waitUntilQueued(_ count: UInt64) throws {
            let deadline = Date().addingTimeInterval(10)
            while budget.queuedTakers < count, Date() < deadline { usleep(1_000) }
            try #require(budget.queuedTakers == count, "\(budget.queuedTakers) takers waiting, not \(count)")
        }
        taker(6)
        try waitUntilQueued(1)
        taker(1)
        try waitUntilQueued(2)
        usleep(20_000)
        #expect(budget.heldBytes == 6, "the small taker went ahead of the large one")
        budget.giveBack(6)
        #expect(served.wait(timeout: .now() + 10) == .success)
        #expect(budget.heldBytes == 7)
        // More than the whole capacity: served once nothing else is held.
        taker(25)
        try waitUntilQueued(1)
        budget.giveBack(7)
        #expect(served.wait(timeout: .now() + 10) == .success)
        #expect(budget.heldBytes == 25)
        budget.giveBack(25)
    }

    @Test("S3: a large file goes up as a multipart upload and comes back in ranged parts, byte for byte; small ones in one request",
          .enabled(if: FileManager.default.isExecutableFile(atPath: MotoServer.tools + "/moto_server"), "run scripts/test-tools.sh (make test does)"))
    func s3Parts() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let moto = try #require(MotoServer.shared, "moto's server did not start")
        let bucket = try moto.makeBucket()
        let store = S3ObjectStore(client: moto.client(), bucket: bucket, partSize: 5 << 20, concurrency: 3)
        let large = Self.pseudoRandom((17 << 20) + 12345, seed: 7)  // 4 parts, the last short
        try large.write(to: URL(fileURLWithPath: directory + "/large"))
        try store.upload(directory + "/large", as: "models/large.bin")
        try "small".write(toFile: directory + "/small", atomically: false, encoding: .utf8)
        try store.upload(directory + "/small", as: "models/small.txt")
        #expect(try store.list(prefix: "models/") == [StoredObject(key: "models/large.bin", size: UInt64(large.count)),
                                                      StoredObject(key: "models/small.txt", size: 5)])
        try store.download("models/large.bin", to: directory + "/large-back")
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/large-back")) == large)
        try store.download("models/small.txt", to: directory + "/small-back")
        #expect(try String(contentsOfFile: directory + "/small-back", encoding: .utf8) == "small")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory).sorted() == ["large", "large-back", "small", "small-back"],
                "no part file is left")
        // Each part went up with its CRC32, which the server checked and keeps as the object's
        // composite checksum (rather than computing one over the whole object at completion).
        let partSums = try stride(from: 0, to: large.count, by: 5 << 20).map { start in
            try #require(Data(base64Encoded: PartChecksum.crc32Base64(of: large.subdata(in: start..<min(start + (5 << 20), large.count)))))
        }
        // AWS appends the part count ("...-4"); moto does not.
        let composite = PartChecksum.crc32Base64(of: partSums.reduce(Data(), +))
        let stored = try moto.storedCRC32(bucket: bucket, key: "models/large.bin")
        #expect(stored == composite || stored == composite + "-4", "\(String(describing: stored)), not the composite \(composite)")
        let missing = #expect(throws: StorageError.self) { try store.download("models/none", to: directory + "/none") }
        #expect(missing?.isClientError == true)
        #expect(missing?.message.contains("s3://\(bucket)/models/none") == true)
    }

    @Test("S3: in a batch of as many files as uploads in flight, files of up to four parts go up whole; alone, or in a smaller batch, in parts",
          .enabled(if: FileManager.default.isExecutableFile(atPath: MotoServer.tools + "/moto_server"), "run scripts/test-tools.sh (make test does)"))
    func s3WholeObjectsInBatches() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let moto = try #require(MotoServer.shared, "moto's server did not start")
        let bucket = try moto.makeBucket()
        let store = S3ObjectStore(client: moto.client(), bucket: bucket, partSize: 5 << 20, concurrency: 2)
        // Two parts each: before batches sent them whole, each went up as a multipart upload.
        let contents = (0..<2).map { Self.pseudoRandom(10 << 20, seed: UInt64(20 + $0)) }
        for (index, data) in contents.enumerated() { try data.write(to: URL(fileURLWithPath: directory + "/file-\(index)")) }
        try store.upload((0..<2).map { (path: directory + "/file-\($0)", key: "batch/file-\($0)") })
        try store.upload([(path: directory + "/file-0", key: "small-batch/file-0")])
        try store.upload(directory + "/file-1", as: "alone/file-1")
        for index in 0..<2 {
            let etag = try moto.etag(bucket: bucket, key: "batch/file-\(index)")
            #expect(!etag.contains("-"), "batch/file-\(index) went up in parts (ETag \(etag))")
        }
        #expect(try moto.etag(bucket: bucket, key: "small-batch/file-0").hasSuffix("-2"))
        #expect(try moto.etag(bucket: bucket, key: "alone/file-1").hasSuffix("-2"))
        for (key, data) in [("batch/file-0", contents[0]), ("batch/file-1", contents[1]), ("alone/file-1", contents[1])] {
            try store.download(key, to: directory + "/back")
            #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/back")) == data, "\(key) came back different")
        }
        // The budget is the process's: another suite's transfer may hold some of it for a moment.
        let deadline = Date().addingTimeInterval(30)
        while S3ObjectStore.buffers.heldBytes != 0, Date() < deadline { usleep(10_000) }
        #expect(S3ObjectStore.buffers.heldBytes == 0, "a transfer kept its buffer's bytes")
    }

    @Test("S3: a multipart upload whose part fails for good is aborted, leaving no object and no upload behind",
          .enabled(if: FileManager.default.isExecutableFile(atPath: MotoServer.tools + "/moto_server"), "run scripts/test-tools.sh (make test does)"))
    func s3AbortedUpload() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let moto = try #require(MotoServer.shared, "moto's server did not start")
        let bucket = try moto.makeBucket()
        // 6 MiB on disk but 11 MiB announced (a file cut short while it is uploaded): the second part cannot be read.
        let path = directory + "/shrunk"
        try Self.pseudoRandom(6 << 20, seed: 3).write(to: URL(fileURLWithPath: path))
        let store = S3ObjectStore(client: moto.client(), bucket: bucket, partSize: 5 << 20, concurrency: 1)
        let error = #expect(throws: StorageError.self) { try store.upload(path, as: "broken.bin", size: 11 << 20) }
        #expect(error?.message.contains("shorter") == true, "\(String(describing: error))")
        #expect(try moto.client().headObject(bucket: bucket, key: "broken.bin") == nil)
        #expect(try moto.multipartUploads(in: bucket).isEmpty, "the upload was not aborted")
    }
}

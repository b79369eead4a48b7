import CTrainingShim
import CZlib
import Foundation
public import TrainingCore
public import TrainingObjectStore
import TrainingS3

/// One Pipe-mode channel of one host.
public struct PipeChannel: Sendable, Equatable, Codable {
    public var name: String
    public var source: ChannelSource
    public var distribution: S3DataDistributionType
    public var rank: Int
    public var hostCount: Int
    /// CompressionType Gzip: objects are decompressed on the way.
    public var gzip: Bool
    /// RecordWrapperType RecordIO: each object is one MXNet RecordIO record.
    public var recordIO: Bool
    /// ShuffleConfig.Seed: the object order is shuffled at the start of every epoch.
    public var shuffleSeed: Int64?
    /// Where the FIFOs are: the host's `input/data`.
    public var directory: String

    public init(name: String, source: ChannelSource, distribution: S3DataDistributionType, rank: Int, hostCount: Int,
                gzip: Bool, recordIO: Bool, shuffleSeed: Int64?, directory: String) {
        self.name = name
        self.source = source
        self.distribution = distribution
        self.rank = rank
        self.hostCount = hostCount
        self.gzip = gzip
        self.recordIO = recordIO
        self.shuffleSeed = shuffleSeed
        self.directory = directory
    }

    /// The FIFO of epoch `epoch`: `<channel>_<epoch>`.
    public func fifoPath(epoch: Int) -> String { directory + "/" + name + "_\(epoch)" }
}

/// What the Pipe worker streams for one host, and the keeper status file whose appearance means
/// the algorithm has ended (and so the worker with it).
public struct PipeRequest: Sendable, Equatable, Codable {
    public var channels: [PipeChannel]
    public var algorithmStatusPath: String
    /// Where locations are served: local buckets (for the `s3://` URIs in manifests) and the S3 endpoint.
    public var locations: ObjectLocations

    public init(channels: [PipeChannel], algorithmStatusPath: String, locations: ObjectLocations = ObjectLocations()) {
        self.channels = channels
        self.algorithmStatusPath = algorithmStatusPath
        self.locations = locations
    }
}

/// Pipe mode (contract section 4): for each channel, FIFOs `<channel>_0`, `<channel>_1`, ...;
/// epoch N streams the host's objects, concatenated, into `<channel>_N` once a reader opens it,
/// and `<channel>_N+1` appears when it is done. Runs in a worker process with the owner's rights,
/// one thread per channel (channels are independent), until the algorithm has ended.
///
/// - A reader that closes early ends its epoch (EPIPE; SIGPIPE is ignored); one that never opens
///   a channel leaves that thread waiting in open(2) until the worker exits with the algorithm.
/// - Memory is bounded whatever the objects' sizes: plain objects go to the FIFO with splice(2),
///   gzip'd ones through a 1 MiB inflate buffer. A RecordIO record needs its length first: a
///   gzip'd object is then inflated twice (counted, then streamed) rather than held.
/// - ShuffleConfig.Seed: epoch N's order is a Fisher-Yates shuffle driven by SplitMix64 seeded
///   with the seed and N, so it is the same for a seed and differs between epochs.
public final class PipeStreamer: @unchecked Sendable {
    let request: PipeRequest
    private let lock = NSLock()
    private var failure: StagingError?

    public init(_ request: PipeRequest) {
        self.request = request
    }

    /// Streams until the algorithm has ended; throws the first channel's failure (an object that
    /// cannot be read), which ends the job.
    public func run() throws(StagingError) {
        signal(SIGPIPE, SIG_IGN)
        var plans: [(PipeChannel, [Item])] = []
        for channel in request.channels {
            plans.append((channel, try Self.objects(of: channel, locations: request.locations)))
        }
        for (channel, objects) in plans {
            let thread = Thread { [self] in
                do throws(StagingError) {
                    try Self.stream(channel, objects, locations: request.locations)
                } catch {
                    lock.withLock { if failure == nil { failure = error } }
                }
            }
            thread.start()
        }
        while true {
            if let failure = lock.withLock({ failure }) { throw failure }
            var info = stat()
            if stat(request.algorithmStatusPath, &info) == 0 { return }
            usleep(100_000)
        }
    }

    /// What one epoch streams, in order: objects, or (AugmentedManifestFile) the manifest's lines.
    enum Item {
        case object(LocalObject)
        /// An object of the S3 endpoint, streamed from ranged GETs.
        case remote(any ObjectStore, StoredObject)
        /// One line's attributes, in AttributeNames order: object bytes (`-ref`) or a JSON value.
        case line([Attribute])
    }

    enum Attribute {
        case object(String)
        /// An `s3://` object of the S3 endpoint, resolved when it is streamed.
        case remoteObject(String)
        case value([UInt8])
    }

    static func objects(of channel: PipeChannel, locations: ObjectLocations = ObjectLocations()) throws(StagingError) -> [Item] {
        switch channel.source {
        case .remoteAugmentedManifest(let uri, let names):
            let lines = try augmentedManifestLines(RemoteObjects.manifestBytes(uri, locations: locations), named: uri, attributeNames: names,
                                                   locations: locations)
            // Sharded by line, as SageMaker shards an augmented manifest's records.
            return LocalObjects.shard(lines, channel.distribution, rank: channel.rank, hostCount: channel.hostCount)
        case .remotePrefix, .remoteManifest:
            let plan = ChannelPlan(name: channel.name, source: channel.source, distribution: channel.distribution, rank: channel.rank,
                                   hostCount: channel.hostCount)
            let remote = try RemoteObjects.of(plan, locations: locations)
            return remote.objects.map { Item.remote(remote.location.store, $0) }
        default:
            break
        }
        guard case .augmentedManifest(let path, let names) = channel.source else {
            return try LocalObjects.objects(of: channel.source, channel.distribution, rank: channel.rank, hostCount: channel.hostCount,
                                            buckets: locations.buckets).map(Item.object)
        }
        let lines = try augmentedManifestLines(path, attributeNames: names, locations: locations)
        return LocalObjects.shard(lines, channel.distribution, rank: channel.rank, hostCount: channel.hostCount)
    }

    /// An AugmentedManifestFile: one JSON object per line; each line gives its AttributeNames in
    /// order, `-ref` ones as the bytes of the object they name (a `file://` URI), the others as their JSON.
    static func augmentedManifestLines(_ path: String, attributeNames: [String], locations: ObjectLocations = ObjectLocations())
        throws(StagingError) -> [Item]
    {
        guard let data = FileManager.default.contents(atPath: path) else { throw .system("read the augmented manifest", path, errno == 0 ? ENOENT : errno) }
        return try augmentedManifestLines(data, named: path, attributeNames: attributeNames, locations: locations)
    }

    static func augmentedManifestLines(_ data: Data, named path: String, attributeNames: [String], locations: ObjectLocations)
        throws(StagingError) -> [Item]
    {
        var items: [Item] = []
        for (number, line) in data.split(separator: UInt8(ascii: "\n")).enumerated() where !line.allSatisfy({ $0 == 0x20 || $0 == 0x0D }) {
            guard let document = try? StrictJSONParser.parse(Array(line)), document.objectMembers != nil else {
                throw StagingError(.client, "line \(number + 1) of the augmented manifest \(path) is not a JSON object", path: path)
            }
            var attributes: [Attribute] = []
            for name in attributeNames {
                guard let value = document[name] else {
                    throw StagingError(.client, "line \(number + 1) of the augmented manifest \(path) has no attribute \(name) (AttributeNames lists it)", path: path)
                }
                if name.hasSuffix("-ref") {
                    if let uri = value.stringValue, locations.isRemote(uri) {
                        attributes.append(.remoteObject(uri))
                        continue
                    }
                    guard let uri = value.stringValue, let objectPath = locations.localPath(of: uri) else {
                        throw StagingError(.client, "line \(number + 1) of the augmented manifest \(path): \(name) must be a file:// URI or one of a local bucket, not \(value.serialized())", path: path)
                    }
                    attributes.append(.object(objectPath))
                } else {
                    attributes.append(.value(Array(value.serialized().utf8)))
                }
            }
            items.append(.line(attributes))
        }
        return items
    }

    /// Epoch after epoch, for ever (the worker's exit ends it).
    static func stream(_ channel: PipeChannel, _ objects: [Item], locations: ObjectLocations = ObjectLocations()) throws(StagingError) {
        var epoch = 0
        while true {
            let path = channel.fifoPath(epoch: epoch)
            if mkfifo(path, 0o600) != 0, errno != EEXIST { throw .system("create the FIFO", path, errno) }
            var fd: Int32
            repeat { fd = open(path, O_WRONLY | O_CLOEXEC) } while fd < 0 && errno == EINTR
            guard fd >= 0 else { throw .system("open the FIFO", path, errno) }
            var order = objects
            if let seed = channel.shuffleSeed { shuffle(&order, seed: seed, epoch: epoch) }
            do throws(PipeWriteError) {
                for item in order {
                    switch item {
                    case .object(let object):
                        try streamObject(object.path, channel: channel, to: fd)
                    case .remote(let store, let object):
                        try streamRemoteObject(store, object, channel: channel, to: fd)
                    case .line(let attributes):
                        for attribute in attributes {
                            switch attribute {
                            case .object(let objectPath): try streamObject(objectPath, channel: channel, to: fd)
                            case .remoteObject(let uri): try streamRemoteObject(uri, locations: locations, channel: channel, to: fd)
                            case .value(let bytes): try streamValue(bytes, channel: channel, to: fd)
                            }
                        }
                    }
                }
            } catch {
                switch error {
                case .readerClosed:
                    break  // the reader is done with this epoch early: so is the writer
                case .failed(let failure):
                    close(fd)
                    throw failure
                }
            }
            close(fd)
            epoch += 1
        }
    }

    enum PipeWriteError: Error {
        case readerClosed
        case failed(StagingError)
    }

    /// An attribute's JSON value into the FIFO (a record of its own with RecordIO).
    static func streamValue(_ bytes: [UInt8], channel: PipeChannel, to fifo: Int32) throws(PipeWriteError) {
        guard channel.recordIO else { return try write(bytes, to: fifo) }
        try write(RecordIO.header(length: UInt64(bytes.count), flag: 0) + bytes + RecordIO.padding(length: UInt64(bytes.count)), to: fifo)
    }

    /// One object into the FIFO: its bytes (inflated with Gzip), in a RecordIO record with RecordIO.
    static func streamObject(_ path: String, channel: PipeChannel, to fifo: Int32) throws(PipeWriteError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else { throw .failed(.system("read the object", path, errno)) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw .failed(StagingError(.client, "the object \(path) is not a regular file", path: path))
        }
        if !channel.gzip {
            let size = UInt64(info.st_size)
            let parts = channel.recordIO ? RecordIO.parts(length: size) : [(flag: UInt32(0), length: size)]
            var offset: Int64 = 0
            for part in parts {
                if channel.recordIO { try write(RecordIO.header(length: part.length, flag: part.flag), to: fifo) }
                try copy(from: fd, offset: &offset, count: part.length, to: fifo, path: path)
                if channel.recordIO { try write(RecordIO.padding(length: part.length), to: fifo) }
            }
            return
        }
        guard channel.recordIO else {
            try inflate(fd, path: path) { (bytes) throws(PipeWriteError) in try write(bytes, to: fifo) }
            return
        }
        // The record's length comes first: count the inflated bytes, then stream them.
        var length: UInt64 = 0
        try inflate(fd, path: path) { bytes in length += UInt64(bytes.count) }
        guard lseek(fd, 0, SEEK_SET) == 0 else { throw .failed(.system("read the object", path, errno)) }
        let parts = RecordIO.parts(length: length)
        var partIndex = 0
        var leftInPart = parts[0].length
        try write(RecordIO.header(length: parts[0].length, flag: parts[0].flag), to: fifo)
        var streamed: UInt64 = 0
        try inflate(fd, path: path) { (bytes) throws(PipeWriteError) in
            streamed += UInt64(bytes.count)
            guard streamed <= length else { throw .failed(changed(path)) }
            var rest = bytes[...]
            while !rest.isEmpty {
                if leftInPart == 0 {
                    try write(RecordIO.padding(length: parts[partIndex].length), to: fifo)
                    partIndex += 1
                    leftInPart = parts[partIndex].length
                    try write(RecordIO.header(length: leftInPart, flag: parts[partIndex].flag), to: fifo)
                }
                let taken = rest.prefix(Int(min(UInt64(rest.count), leftInPart)))
                try write(Array(taken), to: fifo)
                leftInPart -= UInt64(taken.count)
                rest = rest.dropFirst(taken.count)
            }
        }
        // Fewer bytes the second time would leave the record's header wrong: say so instead.
        guard streamed == length else { throw .failed(changed(path)) }
        try write(RecordIO.padding(length: parts[partIndex].length), to: fifo)
    }

    /// An object of the S3 endpoint into the FIFO. A plain one streams from ranged GETs, the next
    /// part fetched while the current one is written (two parts in memory); a gzip'd one is
    /// downloaded first into the volume (inflating and RecordIO's count need a file to read
    /// twice), streamed as a local object, and removed.
    static func streamRemoteObject(_ uri: String, locations: ObjectLocations, channel: PipeChannel, to fifo: Int32) throws(PipeWriteError) {
        let location: ResolvedLocation
        let size: UInt64?
        do {
            location = try locations.resolve(uri)
            size = try location.store.size(of: location.key)
        } catch {
            throw .failed(StagingError(error))
        }
        guard let size else { throw .failed(StagingError(.client, "\(uri) (named in the augmented manifest) does not exist", path: uri)) }
        try streamRemoteObject(location.store, StoredObject(key: location.key, size: size), channel: channel, to: fifo)
    }

    static func streamRemoteObject(_ store: any ObjectStore, _ object: StoredObject, channel: PipeChannel, to fifo: Int32) throws(PipeWriteError) {
        let location = store.name + "/" + object.key
        guard !channel.gzip else {
            // <volume>/input/data -> <volume>/.trainingd-pipe
            let volume = ((channel.directory as NSString).deletingLastPathComponent as NSString).deletingLastPathComponent
            let spool = volume + "/.trainingd-pipe"
            if mkdir(spool, 0o700) != 0, errno != EEXIST { throw .failed(.system("create the directory", spool, errno)) }
            let temporary = spool + "/" + channel.name.replacingOccurrences(of: "/", with: "_") + "-" + UUID().uuidString
            defer { unlink(temporary) }
            do { try store.download(object, to: temporary) } catch { throw .failed(StagingError(error)) }
            return try streamObject(temporary, channel: channel, to: fifo)
        }
        let parts = channel.recordIO ? RecordIO.parts(length: object.size) : [(flag: UInt32(0), length: object.size)]
        let reader = ObjectPartReader(store: store, key: object.key, size: object.size)
        var buffered = Data()
        for part in parts {
            if channel.recordIO { try write(RecordIO.header(length: part.length, flag: part.flag), to: fifo) }
            var left = part.length
            while left > 0 {
                if buffered.isEmpty {
                    let next: Data?
                    do { next = try reader.next() } catch { throw .failed(StagingError(error)) }
                    guard let next, !next.isEmpty else {
                        throw .failed(StagingError(.client, "\(location) ended early: it changed while it was streamed", path: location))
                    }
                    buffered = next
                }
                let taken = buffered.prefix(Int(min(UInt64(buffered.count), left)))
                try write(Array(taken), to: fifo)
                left -= UInt64(taken.count)
                buffered = buffered.dropFirst(taken.count)
            }
            if channel.recordIO { try write(RecordIO.padding(length: part.length), to: fifo) }
        }
    }

    static func changed(_ path: String) -> StagingError {
        StagingError(.client, "the object \(path) changed while it was streamed", path: path)
    }

    /// `count` bytes of a regular file into the FIFO: splice(2) (no copy through user space), or
    /// read and write where splice is refused.
    static func copy(from fd: Int32, offset: inout Int64, count: UInt64, to fifo: Int32, path: String) throws(PipeWriteError) {
        var remaining = count
        while remaining > 0 {
            let chunk = Int(min(remaining, 1 << 20))
            let moved = ctshim_splice_to_pipe(fd, &offset, fifo, chunk)
            if moved > 0 {
                remaining -= UInt64(moved)
                continue
            }
            if moved < 0, errno == EINTR { continue }
            if moved < 0, errno == EPIPE { throw .readerClosed }
            if moved < 0, errno == EINVAL || errno == ENOSYS {
                // A file system without splice: through a buffer.
                var buffer = [UInt8](repeating: 0, count: chunk)
                let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, chunk, off_t(offset)) }
                guard count > 0 else { throw .failed(.system("read the object", path, count < 0 ? errno : EIO)) }
                offset += Int64(count)
                remaining -= UInt64(count)
                try write(Array(buffer[..<count]), to: fifo)
                continue
            }
            // 0: the file ended early (it shrank while streamed).
            throw .failed(StagingError(.client, "the object \(path) changed while it was streamed", path: path, errno: moved < 0 ? errno : nil))
        }
    }

    static func write(_ bytes: [UInt8], to fifo: Int32) throws(PipeWriteError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(fifo, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                if errno == EPIPE { throw .readerClosed }
                throw .failed(.system("write the FIFO", "", errno, blame: .platform))
            }
            offset += written
        }
    }

    /// Inflates a gzip file (every member of it, as `gzip -d` does) through `sink`, 1 MiB at a time.
    static func inflate(_ fd: Int32, path: String, _ sink: ([UInt8]) throws(PipeWriteError) -> Void) throws(PipeWriteError) {
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw .failed(StagingError(.platform, "zlib cannot start inflating", path: path))
        }
        defer { inflateEnd(&stream) }
        func notGzip(_ detail: String) -> PipeWriteError {
            .failed(StagingError(.client, "the object \(path) is not valid gzip data (the channel's CompressionType is Gzip): \(detail)", path: path))
        }
        let input = UnsafeMutablePointer<UInt8>.allocate(capacity: 256 * 1024)
        let output = UnsafeMutablePointer<UInt8>.allocate(capacity: 1 << 20)
        defer {
            input.deallocate()
            output.deallocate()
        }
        var inMember = false  // between a member's first byte and its end
        var atMemberEnd = false
        while true {
            let count = read(fd, input, 256 * 1024)
            if count < 0, errno == EINTR { continue }
            guard count >= 0 else { throw .failed(.system("read the object", path, errno)) }
            if count == 0 {
                guard atMemberEnd, !inMember else { throw notGzip("it ends in the middle of a member") }
                return
            }
            stream.next_in = input
            stream.avail_in = uInt(count)
            while stream.avail_in > 0 {
                if atMemberEnd {
                    // Another member follows (as `cat a.gz b.gz` makes).
                    inflateReset(&stream)
                    atMemberEnd = false
                }
                inMember = true
                stream.next_out = output
                stream.avail_out = uInt(1 << 20)
                let status = CZlib.inflate(&stream, Z_NO_FLUSH)
                let produced = (1 << 20) - Int(stream.avail_out)
                if produced > 0 { try sink(Array(UnsafeBufferPointer(start: output, count: produced))) }
                switch status {
                case Z_STREAM_END:
                    inMember = false
                    atMemberEnd = true
                case Z_OK, Z_BUF_ERROR:
                    continue
                default:
                    throw notGzip("zlib error \(status)")
                }
            }
            // The input is used up; a member may still hold output back until more arrives.
            while inMember {
                stream.next_out = output
                stream.avail_out = uInt(1 << 20)
                let status = CZlib.inflate(&stream, Z_NO_FLUSH)
                let produced = (1 << 20) - Int(stream.avail_out)
                if produced > 0 { try sink(Array(UnsafeBufferPointer(start: output, count: produced))) }
                if status == Z_STREAM_END {
                    inMember = false
                    atMemberEnd = true
                } else if status == Z_BUF_ERROR || produced == 0 {
                    break
                } else if status != Z_OK {
                    throw notGzip("zlib error \(status)")
                }
            }
        }
    }

    /// Fisher-Yates with SplitMix64 from (seed, epoch).
    static func shuffle<Element>(_ objects: inout [Element], seed: Int64, epoch: Int) {
        var state = UInt64(bitPattern: seed) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(epoch) &+ 1
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        guard objects.count > 1 else { return }
        for index in stride(from: objects.count - 1, to: 0, by: -1) {
            let other = Int(next() % UInt64(index + 1))
            objects.swapAt(index, other)
        }
    }
}

/// MXNet RecordIO framing (contract section 4): u32 LE magic 0xCED7230A, u32 LE
/// `length | (cflag << 29)`, the payload, zero padding to 4 bytes. A record longer than
/// 2^29 - 1 bytes is cut into parts: cflag 1 first, 2 middle, 3 last (0: a whole record).
public enum RecordIO {
    public static let magic: UInt32 = 0xCED7_230A
    public static let maximumPartLength: UInt64 = (1 << 29) - 1

    public static func parts(length: UInt64) -> [(flag: UInt32, length: UInt64)] {
        guard length > maximumPartLength else { return [(0, length)] }
        var parts: [(flag: UInt32, length: UInt64)] = []
        var left = length
        while left > 0 {
            let part = min(left, maximumPartLength)
            parts.append((parts.isEmpty ? 1 : 2, part))
            left -= part
        }
        parts[parts.count - 1].flag = 3
        return parts
    }

    public static func header(length: UInt64, flag: UInt32) -> [UInt8] {
        let word = UInt32(length) | (flag << 29)
        return littleEndian(magic) + littleEndian(word)
    }

    public static func padding(length: UInt64) -> [UInt8] {
        [UInt8](repeating: 0, count: Int((4 - length % 4) % 4))
    }

    private static func littleEndian(_ value: UInt32) -> [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * UInt32($0))) }
    }
}

import CLibdeflate
import Dispatch
import Glibc
import Synchronization

/// Writes a standard gzip file (RFC 1952) to a file descriptor, compressing on every core.
///
/// The input is cut into blocks of ``blockSize`` bytes, each compressed in parallel by libdeflate
/// into a gzip member of its own (header, deflate stream, CRC-32 and length): RFC 1952 makes a
/// gzip file a series of members, which `gzip -d`, `tar -z`, Python's `gzip` and `tarfile`, Go,
/// Java and libarchive read as the concatenation of their contents. libdeflate compresses a
/// whole buffer at once, 2.7 times as fast as zlib's deflate per core at level 6 on float32
/// weights, to a slightly smaller size (bench/notes/packaging.md); a block of 1 MiB is large
/// enough that starting each member without the previous one's window costs nothing
/// measurable in ratio, which is why blocks are not primed as zlib's could be.
///
/// Batches are compressed while the caller reads on: a full batch is handed to the cores and the
/// writer returns, writing a batch's members (in order) only when more than
/// ``batchesInFlight`` are under way, or at ``finish()``. Waiting for each batch before reading
/// the next left a core idle for every read, write and slowest block.
public final class GzipWriter {
    /// Bytes per block (and so per gzip member).
    public static let blockSize = 1 << 20
    /// Batches compressed at once behind the one being filled: enough to keep every core busy
    /// while a batch is read or written, few enough to bound memory (a batch is 2 blocks per core).
    static let batchesInFlight = 4

    private let fd: Int32
    private let compressors: CompressorPool
    private let blocksPerBatch: Int
    private var pending: [UInt8] = []
    private var anyMemberWritten = false
    private var finished = false
    /// Batches handed to the cores, oldest first.
    private var inFlight: [(done: DispatchGroup, results: BlockResults)] = []

    /// - Parameters:
    ///   - fd: where the members go; the writer never closes it.
    ///   - level: libdeflate's 1 (fastest) to 12 (smallest); 6 is gzip's default.
    ///   - threads: how many blocks are compressed at once (the cores by default).
    public init(fd: Int32, level: Int32 = 6, threads: Int = ProcessInfoLite.activeProcessorCount) {
        self.fd = fd
        self.compressors = CompressorPool(level: level)
        self.blocksPerBatch = max(1, threads) * 2
        pending.reserveCapacity(Self.blockSize * blocksPerBatch)
    }

    /// Adds `bytes` to the file.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(ArchiveError) {
        precondition(!finished, "write after finish")
        var rest = bytes[...]
        while !rest.isEmpty {
            let room = Self.blockSize * blocksPerBatch - pending.count
            let taken = rest.prefix(room)
            pending.append(contentsOf: taken)
            rest = rest.dropFirst(taken.count)
            if pending.count == Self.blockSize * blocksPerBatch { try compressPending() }
        }
    }

    public func write(_ bytes: [UInt8]) throws(ArchiveError) {
        try TarArchive.withBytes(bytes) { (raw) throws(ArchiveError) in try write(raw) }
    }

    /// Compresses what is left and writes it. The writer cannot be used after.
    public func finish() throws(ArchiveError) {
        precondition(!finished, "finish twice")
        // An empty input is still a gzip file: one member of nothing.
        if !pending.isEmpty || !anyMemberWritten { try compressPending() }
        while !inFlight.isEmpty { try writeOldestBatch() }
        finished = true
    }

    private func compressPending() throws(ArchiveError) {
        // The batch's own copy: read (never written) by its blocks' compressions while `pending` fills again.
        let input = pending
        let blockCount = max(1, (input.count + Self.blockSize - 1) / Self.blockSize)
        let outputs = BlockResults(count: blockCount)
        let compressors = compressors
        let done = DispatchGroup()
        for index in 0..<blockCount {
            DispatchQueue.global().async(group: done) {
                input.withUnsafeBytes { base in
                    let start = index * Self.blockSize
                    let block = UnsafeRawBufferPointer(rebasing: base[start..<min(input.count, start + Self.blockSize)])
                    // Each block writes only its own slot.
                    outputs.set(index, compressors.withCompressor { Self.member(of: block, $0) })
                }
            }
        }
        inFlight.append((done, outputs))
        anyMemberWritten = true
        pending = []
        pending.reserveCapacity(Self.blockSize * blocksPerBatch)
        while inFlight.count > Self.batchesInFlight { try writeOldestBatch() }
    }

    /// Waits for the oldest batch's members and writes them, in order.
    private func writeOldestBatch() throws(ArchiveError) {
        let (done, outputs) = inFlight.removeFirst()
        done.wait()
        for index in 0..<outputs.count {
            guard let member = outputs.get(index) else {
                throw ArchiveError("compress", "", errno: ENOMEM, reason: "libdeflate could not compress a block (out of memory)")
            }
            try writeAll(member)
        }
    }

    /// One block as a whole gzip member; nil when libdeflate could not (no compressor: out of memory).
    private static func member(of block: UnsafeRawBufferPointer, _ compressor: OpaquePointer?) -> [UInt8]? {
        guard let compressor else { return nil }
        let bound = libdeflate_gzip_compress_bound(compressor, block.count)
        var output = [UInt8](repeating: 0, count: bound)
        let produced = output.withUnsafeMutableBytes { out in
            libdeflate_gzip_compress(compressor, block.baseAddress ?? UnsafeRawPointer(out.baseAddress!), block.count, out.baseAddress, out.count)
        }
        // The bound leaves room for any input, so 0 (no room) cannot happen; it is refused all the same.
        guard produced > 0 else { return nil }
        output.removeSubrange(produced...)
        return output
    }

    /// One slot per block, each written by exactly one of the batch's compressions (read after its group is done).
    private final class BlockResults: @unchecked Sendable {
        private var slots: [[UInt8]?]
        let count: Int
        init(count: Int) {
            self.count = count
            slots = Array(repeating: nil, count: count)
        }
        func set(_ index: Int, _ result: [UInt8]?) { slots.withUnsafeMutableBufferPointer { $0[index] = result } }
        func get(_ index: Int) -> [UInt8]? { slots[index] }
    }

    /// libdeflate's compressors (each about 1 MiB of tables, costly to make), kept for reuse by
    /// whichever block compresses next, and freed with the writer.
    private final class CompressorPool: Sendable {
        /// One of libdeflate's compressors. @unchecked: it is used by one block at a time, between
        /// being taken from `idle` and put back.
        private struct Compressor: @unchecked Sendable { let pointer: OpaquePointer }

        private let level: Int32
        private let idle = Mutex<[Compressor]>([])

        init(level: Int32) { self.level = level }

        deinit { idle.withLock { for compressor in $0 { libdeflate_free_compressor(compressor.pointer) } } }

        func withCompressor<T>(_ body: (OpaquePointer?) -> T) -> T {
            let compressor = idle.withLock { $0.popLast() } ?? libdeflate_alloc_compressor(level).map(Compressor.init)
            defer { if let compressor { idle.withLock { $0.append(compressor) } } }
            return body(compressor?.pointer)
        }
    }

    private func writeAll(_ bytes: [UInt8]) throws(ArchiveError) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                throw ArchiveError("write", "", errno: errno)
            }
            offset += written
        }
    }
}

/// The number of processors available, without Foundation.
public enum ProcessInfoLite {
    public static var activeProcessorCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }
}

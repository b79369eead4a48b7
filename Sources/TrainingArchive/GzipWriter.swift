import CZlib
import Dispatch
import Glibc

/// Writes one standard gzip member (RFC 1952) to a file descriptor, compressing on every core.
///
/// The input is cut into blocks of ``blockSize`` bytes, compressed in parallel as raw deflate,
/// each primed with the 32 KiB before it (so the ratio is that of one stream) and ended with a
/// sync flush, the last one with the final block: the concatenation is one deflate stream, as
/// pigz writes it, that `gzip -d`, `tar -z` and Python's `tarfile` read like any other. The CRC-32
/// is computed per block alongside and combined.
///
/// Batches are compressed while the caller reads on: a full batch is handed to the cores and the
/// writer returns, writing a batch's blocks (in order) only when more than
/// ``batchesInFlight`` are under way, or at ``finish()``. Waiting for each batch before reading
/// the next left a core idle for every read, write and slowest block: 1.58 cores busy of 2,
/// against pigz's 1.8 (bench/RESULTS.md, "Packaging").
public final class GzipWriter {
    /// Bytes per compressed block: pigz's size, large enough that the sync flush costs nothing.
    public static let blockSize = 128 * 1024
    /// Deflate's window: each block is primed with this much of the input before it.
    static let windowSize = 32 * 1024
    /// Batches compressed at once behind the one being filled: enough to keep every core busy
    /// while a batch is read or written, few enough to bound memory (a batch is 4 blocks per core).
    static let batchesInFlight = 4

    private let fd: Int32
    private let level: Int32
    private let blocksPerBatch: Int
    private var pending: [UInt8] = []
    private var previousTail: [UInt8] = []
    private var crc: UInt = crc32(0, nil, 0)
    private var inputSize: UInt64 = 0
    private var headerWritten = false
    private var finished = false
    /// Batches handed to the cores, oldest first, each with its input's length.
    private var inFlight: [(done: DispatchGroup, results: BlockResults, length: Int)] = []

    /// - Parameters:
    ///   - fd: where the member goes; the writer never closes it.
    ///   - level: zlib's 1 (fastest) to 9 (smallest); 6 is gzip's default.
    ///   - threads: how many blocks are compressed at once (the cores by default).
    public init(fd: Int32, level: Int32 = 6, threads: Int = ProcessInfoLite.activeProcessorCount) {
        self.fd = fd
        self.level = level
        self.blocksPerBatch = max(1, threads) * 4
        pending.reserveCapacity(Self.blockSize * blocksPerBatch)
    }

    /// Adds `bytes` to the member.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(ArchiveError) {
        precondition(!finished, "write after finish")
        var rest = bytes[...]
        while !rest.isEmpty {
            let room = Self.blockSize * blocksPerBatch - pending.count
            let taken = rest.prefix(room)
            pending.append(contentsOf: taken)
            rest = rest.dropFirst(taken.count)
            // One byte is always kept back, so that the last block (the final one) is never empty
            // unless the whole input is.
            if pending.count == Self.blockSize * blocksPerBatch, !rest.isEmpty {
                try compressPending(isLast: false)
            }
        }
    }

    public func write(_ bytes: [UInt8]) throws(ArchiveError) {
        try TarArchive.withBytes(bytes) { (raw) throws(ArchiveError) in try write(raw) }
    }

    /// Compresses what is left and writes the trailer. The writer cannot be used after.
    public func finish() throws(ArchiveError) {
        precondition(!finished, "finish twice")
        try compressPending(isLast: true)
        var trailer = [UInt8](repeating: 0, count: 8)
        for index in 0..<4 {
            trailer[index] = UInt8(truncatingIfNeeded: UInt64(crc) >> (8 * UInt64(index)))
            trailer[4 + index] = UInt8(truncatingIfNeeded: inputSize >> (8 * UInt64(index)))
        }
        try writeAll(trailer)
        finished = true
    }

    private func compressPending(isLast: Bool) throws(ArchiveError) {
        if !headerWritten {
            // ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=0 OS=3 (Unix), as `gzip -n` writes it.
            try writeAll([0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3])
            headerWritten = true
        }
        // The batch's own copy: read (never written) by its blocks' compressions while `pending` fills again.
        let input = pending
        let blockCount = max(1, (input.count + Self.blockSize - 1) / Self.blockSize)
        let outputs = BlockResults(count: blockCount)
        let dictionaryBefore = previousTail
        let level = level
        let done = DispatchGroup()
        for index in 0..<blockCount {
            DispatchQueue.global().async(group: done) {
                input.withUnsafeBytes { base in
                    let start = index * Self.blockSize
                    let end = min(input.count, start + Self.blockSize)
                    let block = UnsafeRawBufferPointer(rebasing: base[start..<end])
                    let dictionary = index == 0 ? dictionaryBefore : Array(base[max(0, start - Self.windowSize)..<start])
                    // Each block writes only its own slot.
                    outputs.set(index, Self.deflateBlock(block, dictionary: dictionary, level: level, isFinal: isLast && index == blockCount - 1))
                }
            }
        }
        inFlight.append((done, outputs, input.count))
        inputSize &+= UInt64(input.count)
        previousTail = Array(input.suffix(Self.windowSize))
        pending = []
        pending.reserveCapacity(Self.blockSize * blocksPerBatch)
        while inFlight.count > Self.batchesInFlight || (isLast && !inFlight.isEmpty) {
            try writeOldestBatch()
        }
    }

    /// Waits for the oldest batch's blocks and writes them, in order.
    private func writeOldestBatch() throws(ArchiveError) {
        let (done, outputs, length) = inFlight.removeFirst()
        done.wait()
        for index in 0..<outputs.count {
            let result = outputs.get(index)
            guard let compressed = result.bytes else {
                throw ArchiveError("compress", "", errno: 0, reason: "zlib failed with code \(result.status)")
            }
            try writeAll(compressed)
            crc = crc32_combine(crc, result.crc, off_t(min(length, (index + 1) * Self.blockSize) - index * Self.blockSize))
        }
    }

    private struct BlockResult: Sendable {
        var bytes: [UInt8]?
        var crc: UInt
        var status: Int32
    }

    /// One slot per block, each written by exactly one of the batch's compressions (read after its group is done).
    private final class BlockResults: @unchecked Sendable {
        private var slots: [BlockResult]
        let count: Int
        init(count: Int) {
            self.count = count
            slots = Array(repeating: BlockResult(bytes: nil, crc: 0, status: 0), count: count)
        }
        func set(_ index: Int, _ result: BlockResult) { slots.withUnsafeMutableBufferPointer { $0[index] = result } }
        func get(_ index: Int) -> BlockResult { slots[index] }
    }

    /// Raw deflate of one block, primed with `dictionary`, ended by a sync flush (or the final block).
    private static func deflateBlock(_ block: UnsafeRawBufferPointer, dictionary: [UInt8], level: Int32, isFinal: Bool) -> BlockResult {
        var stream = z_stream()
        var status = deflateInit2_(&stream, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else { return BlockResult(bytes: nil, crc: 0, status: status) }
        defer { deflateEnd(&stream) }
        if !dictionary.isEmpty {
            status = dictionary.withUnsafeBufferPointer { deflateSetDictionary(&stream, $0.baseAddress, uInt($0.count)) }
            guard status == Z_OK else { return BlockResult(bytes: nil, crc: 0, status: status) }
        }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(block.count))) + 16)
        let blockCRC = crc32(0, block.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt(block.count))
        let produced: Int = output.withUnsafeMutableBufferPointer { out in
            stream.next_in = UnsafeMutablePointer(mutating: block.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.avail_in = uInt(block.count)
            stream.next_out = out.baseAddress
            stream.avail_out = uInt(out.count)
            status = deflate(&stream, isFinal ? Z_FINISH : Z_SYNC_FLUSH)
            return out.count - Int(stream.avail_out)
        }
        // deflateBound leaves room for everything, so one call completes the block.
        // A sync flush that filled the buffer may not be complete: deflate finished only with room left.
        let expected = isFinal ? Z_STREAM_END : Z_OK
        guard status == expected, stream.avail_in == 0, stream.avail_out > 0 else { return BlockResult(bytes: nil, crc: 0, status: status) }
        output.removeSubrange(produced...)
        return BlockResult(bytes: output, crc: blockCRC, status: status)
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

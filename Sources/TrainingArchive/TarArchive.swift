import Glibc

/// Writes POSIX tar archives (ustar, with pax records where a field does not fit) of a directory's
/// contents, as `tar --create --numeric-owner --directory DIR .` would: entries named `./`, `./a`,
/// `./dir/`, owners as numbers, symbolic links stored as links (never followed), FIFOs as FIFOs.
/// Hard links are stored as separate files; sockets and devices are left out and counted.
public enum TarArchive {
    public struct Summary: Equatable, Sendable {
        public var entries = 0
        /// Bytes of file contents archived.
        public var bytes: UInt64 = 0
        /// Entries left out (sockets and devices), by path.
        public var skipped: [String] = []
        /// Entries of a later directory left out because an earlier one has that path (``write(directories:to:)``):
        /// "directory: path".
        public var clashes: [String] = []
    }

    static let blockSize = 512
    /// GNU tar's default record: the archive is padded to a multiple of it.
    static let recordSize = 20 * 512

    /// A gzip'd tar of `directory` (see ``TarArchive``) written to `fd`, compressed on `threads` cores.
    @discardableResult
    public static func writeGzip(directory: String, to fd: Int32, level: Int32 = 6, threads: Int = ProcessInfoLite.activeProcessorCount)
        throws(ArchiveError) -> Summary
    {
        try writeGzip(directories: [directory], to: fd, level: level, threads: threads)
    }

    /// At most so many entries and bytes of file contents (``write(directories:limits:to:)``).
    public struct Limits: Sendable {
        public var entries: Int
        public var bytes: UInt64
        public init(entries: Int, bytes: UInt64) {
            self.entries = entries
            self.bytes = bytes
        }
    }

    /// The reason of the ``ArchiveError`` thrown when an archive would pass its limits.
    public static let beyondLimits = "the tree is beyond the archive's limits"

    /// A gzip'd tar of several directories merged (see ``write(directories:limits:to:)``).
    @discardableResult
    public static func writeGzip(directories: [String], limits: Limits? = nil, to fd: Int32, level: Int32 = 6,
                                 threads: Int = ProcessInfoLite.activeProcessorCount) throws(ArchiveError) -> Summary
    {
        let gzip = GzipWriter(fd: fd, level: level, threads: threads)
        let summary = try write(directories: directories, limits: limits) { (bytes) throws(ArchiveError) in try gzip.write(bytes) }
        try gzip.finish()
        return summary
    }

    /// A tar of `directory` handed to `sink` in pieces.
    @discardableResult
    public static func write(directory: String, to sink: (UnsafeRawBufferPointer) throws(ArchiveError) -> Void) throws(ArchiveError) -> Summary {
        try write(directories: [directory], limits: nil, to: sink)
    }

    /// A tar of the union of `directories` (the hosts of a job): the first directory's entries,
    /// then the entries of each later one that no earlier one has. Directories with the same path
    /// are merged; any other entry whose path an earlier directory has is left out and listed in
    /// ``Summary/clashes`` (so the earlier host's file is the one kept). With `limits`, an
    /// ``ArchiveError`` whose reason is ``beyondLimits`` ends it as soon as the entries or the bytes
    /// read would pass them (whatever the tree became since anyone measured it).
    @discardableResult
    public static func write(directories: [String], limits: Limits? = nil,
                             to sink: (UnsafeRawBufferPointer) throws(ArchiveError) -> Void) throws(ArchiveError) -> Summary {
        var summary = Summary()
        var written = 0
        // Paths archived so far, and whether each was a directory; only kept with several directories.
        var archived: [[UInt8]: Bool] = [:]
        func emit(_ bytes: [UInt8]) throws(ArchiveError) {
            try withBytes(bytes, sink)
            written += bytes.count
        }
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        for directory in directories {
            // A directory that clashed with an earlier non-directory is not entered.
            var clashedDirectories: Set<[UInt8]> = []
            try TreeWalker.walk(directory, descend: { !clashedDirectories.contains($0.relativePath) }) { (entry) throws(ArchiveError) in
                if let limits, summary.entries + 1 > limits.entries || summary.bytes + entry.size > limits.bytes {
                    throw ArchiveError("archive", directory, errno: 0, reason: beyondLimits)
                }
                if directories.count > 1 {
                    if let wasDirectory = archived[entry.relativePath] {
                        if wasDirectory, entry.kind == .directory { return }  // merged: its header is in already
                        summary.clashes.append(directory + ": " + (entry.relativePath.isEmpty ? "." : entry.displayPath))
                        if entry.kind == .directory { clashedDirectories.insert(entry.relativePath) }
                        return
                    }
                    if entry.kind != .other { archived[entry.relativePath] = entry.kind == .directory }
                }
                let name: [UInt8] = Array("./".utf8) + entry.relativePath + (entry.kind == .directory && !entry.relativePath.isEmpty ? [0x2F] : [])
                let type: UInt8
                var size: UInt64 = 0
                switch entry.kind {
                case .directory: type = UInt8(ascii: "5")
                case .regular: type = UInt8(ascii: "0"); size = entry.size
                case .symbolicLink: type = UInt8(ascii: "2")
                case .fifo: type = UInt8(ascii: "6")
                case .other:
                    summary.skipped.append(entry.displayPath)
                    return
                }
                let header = Header(name: name, mode: UInt64(entry.permissions), uid: UInt64(entry.uid),
                                    gid: UInt64(entry.gid), size: size, mtime: UInt64(max(0, entry.modificationTime)),
                                    type: type, linkName: entry.linkTarget ?? [])
                for block in header.blocks() { try emit(block) }
                summary.entries += 1
                guard entry.kind == .regular else { return }
                var remaining = size
                while remaining > 0 {
                    let wanted = Int(min(UInt64(buffer.count), remaining))
                    let count = buffer.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress, wanted) }
                    if count < 0, errno == EINTR { continue }
                    guard count >= 0 else { throw ArchiveError("read", directory + "/" + entry.displayPath, errno: errno) }
                    guard count > 0 else {
                        throw ArchiveError("archive", directory + "/" + entry.displayPath, errno: 0,
                                           reason: "it shrank while it was being archived (\(remaining) bytes missing)")
                    }
                    try withBytes(buffer, count: count, sink)
                    written += count
                    remaining -= UInt64(count)
                }
                summary.bytes += size
                let padding = (blockSize - Int(size % UInt64(blockSize))) % blockSize
                if padding > 0 { try emit([UInt8](repeating: 0, count: padding)) }
            }
        }
        // Two zero blocks end the archive; GNU tar then fills the last record.
        let end = 2 * blockSize
        let total = written + end
        try emit([UInt8](repeating: 0, count: end + (recordSize - total % recordSize) % recordSize))
        return summary
    }

    /// Hands `bytes` (the first `count` of them) to `sink`, keeping the sink's error type.
    static func withBytes(_ bytes: [UInt8], count: Int? = nil, _ sink: (UnsafeRawBufferPointer) throws(ArchiveError) -> Void) throws(ArchiveError) {
        var failure: ArchiveError?
        bytes.withUnsafeBytes { raw in
            do throws(ArchiveError) {
                try sink(UnsafeRawBufferPointer(rebasing: raw[..<(count ?? raw.count)]))
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
    }

    /// One entry's header block, preceded by a pax extended header when a value does not fit ustar.
    struct Header {
        var name: [UInt8]
        var mode: UInt64
        var uid: UInt64
        var gid: UInt64
        var size: UInt64
        var mtime: UInt64
        var type: UInt8
        var linkName: [UInt8]

        func blocks() -> [[UInt8]] {
            var records: [(String, [UInt8])] = []
            if name.count > 100 { records.append(("path", name)) }
            if linkName.count > 100 { records.append(("linkpath", linkName)) }
            if size >= 1 << 33 { records.append(("size", Array(String(size).utf8))) }
            if uid >= 1 << 21 { records.append(("uid", Array(String(uid).utf8))) }
            if gid >= 1 << 21 { records.append(("gid", Array(String(gid).utf8))) }
            if mtime >= 1 << 33 { records.append(("mtime", Array(String(mtime).utf8))) }
            var blocks: [[UInt8]] = []
            if !records.isEmpty {
                let data = records.flatMap { Self.paxRecord($0.0, $0.1) }
                let base = name.split(separator: 0x2F).last.map(Array.init) ?? []
                var pax = Header(name: Array("./PaxHeaders/".utf8) + base.prefix(87), mode: 0o644, uid: 0, gid: 0,
                                 size: UInt64(data.count), mtime: min(mtime, (1 << 33) - 1), type: UInt8(ascii: "x"), linkName: [])
                pax.name = Array(pax.name.prefix(100))
                blocks.append(pax.ustarBlock())
                var padded = data
                padded += [UInt8](repeating: 0, count: (TarArchive.blockSize - data.count % TarArchive.blockSize) % TarArchive.blockSize)
                stride(from: 0, to: padded.count, by: TarArchive.blockSize).forEach { blocks.append(Array(padded[$0..<$0 + TarArchive.blockSize])) }
            }
            blocks.append(ustarBlock())
            return blocks
        }

        /// "LEN key=value\n", where LEN counts the whole record, itself included.
        static func paxRecord(_ key: String, _ value: [UInt8]) -> [UInt8] {
            let body = Array(" \(key)=".utf8) + value + [0x0A]
            var length = body.count + 1
            while String(length).utf8.count + body.count > length { length += 1 }
            return Array(String(length).utf8) + body
        }

        /// The ustar block; values that need pax are truncated or capped here (the pax record wins).
        func ustarBlock() -> [UInt8] {
            var block = [UInt8](repeating: 0, count: TarArchive.blockSize)
            func put(_ bytes: [UInt8], at offset: Int, width: Int) {
                for (index, byte) in bytes.prefix(width).enumerated() { block[offset + index] = byte }
            }
            func octal(_ value: UInt64, at offset: Int, width: Int) {
                let digits = width - 1
                let capped = min(value, (1 << (3 * UInt64(digits))) - 1)
                var text = Array(String(capped, radix: 8).utf8)
                text = [UInt8](repeating: UInt8(ascii: "0"), count: max(0, digits - text.count)) + text
                put(text + [0], at: offset, width: width)
            }
            put(name, at: 0, width: 100)
            octal(mode, at: 100, width: 8)
            octal(uid, at: 108, width: 8)
            octal(gid, at: 116, width: 8)
            octal(size, at: 124, width: 12)
            octal(mtime, at: 136, width: 12)
            block[156] = type
            put(linkName, at: 157, width: 100)
            put(Array("ustar".utf8) + [0], at: 257, width: 6)
            put(Array("00".utf8), at: 263, width: 2)
            octal(0, at: 329, width: 8)
            octal(0, at: 337, width: 8)
            // The checksum is computed with its own field as spaces, then written as 6 digits, NUL, space.
            put([UInt8](repeating: 0x20, count: 8), at: 148, width: 8)
            let sum = block.reduce(0) { $0 + UInt64($1) }
            var digits = Array(String(sum, radix: 8).utf8)
            digits = [UInt8](repeating: UInt8(ascii: "0"), count: max(0, 6 - digits.count)) + digits
            put(digits + [0, 0x20], at: 148, width: 8)
            return block
        }
    }
}

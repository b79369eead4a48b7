import Foundation
import TrainingControl

/// A job host's log file, open for bounded reads. Opened with O_NOFOLLOW and O_NONBLOCK and
/// checked to be a regular file, so that a link or FIFO planted in the logs directory can
/// neither point the daemon at another file nor hang a reader.
final class LogFile: @unchecked Sendable {
    let path: String
    let descriptor: Int32
    let inode: UInt64
    /// The size when opened (the keeper may still be appending).
    let size: Int

    private init(path: String, descriptor: Int32, inode: UInt64, size: Int) {
        self.path = path
        self.descriptor = descriptor
        self.inode = inode
        self.size = size
    }

    deinit { close(descriptor) }

    /// The open file; nil when there is none (yet) at `path`.
    static func open(_ path: String) throws(APIError) -> LogFile? {
        let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard descriptor >= 0 else {
            if errno == ENOENT { return nil }
            throw refusal(path, errno == ELOOP ? "it is a symbolic link" : String(cString: strerror(errno)))
        }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            close(descriptor)
            throw refusal(path, "it is not a regular file")
        }
        return LogFile(path: path, descriptor: descriptor, inode: UInt64(info.st_ino), size: Int(info.st_size))
    }

    private static func refusal(_ path: String, _ reason: String) -> APIError {
        APIError(.internalFailure, "the log file \(path) cannot be read (\(reason)); trainingd reads only the regular files its keeper writes: remove what is there")
    }

    /// Up to `count` bytes from `offset`; fewer only at the end of the file.
    func read(at offset: Int, count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var filled = 0
        while filled < count {
            let got = bytes.withUnsafeMutableBytes { buffer in
                pread(descriptor, buffer.baseAddress! + filled, count - filled, off_t(offset + filled))
            }
            if got < 0, errno == EINTR { continue }
            if got <= 0 { break }
            filled += got
        }
        bytes.removeLast(count - filled)
        return bytes
    }

    /// Whole lines from `offset`, at most `limit` of them and `pageBytes` read; `next` is where
    /// the following page starts. A partial last line is kept only at the end of the file.
    /// `wholeLinesOnly`: a last line without its newline yet (the keeper is writing it) is left for
    /// the next page rather than answered in two pieces.
    func page(from offset: Int, limit: Int, pageBytes: Int, wholeLinesOnly: Bool = false) -> (lines: [String], next: Int) {
        let bytes = read(at: offset, count: pageBytes)
        let atEnd = bytes.count < pageBytes
        var lines: [String] = []
        var start = 0
        while lines.count < limit, start < bytes.count {
            guard let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) else {
                // A line longer than a whole page is cut, so that a page always moves on.
                if (atEnd && !wholeLinesOnly) || (start == 0 && !atEnd) {
                    lines.append(String(decoding: bytes[start...], as: UTF8.self))
                    start = bytes.count
                }
                break
            }
            if newline > start { lines.append(String(decoding: bytes[start..<newline], as: UTF8.self)) }
            start = newline + 1
        }
        return (lines, offset + start)
    }

    /// Where the first line stamped at or after `milliseconds` starts, or a line start at most one
    /// 64 KiB read before it: a binary search over the file, whose keeper stamps only go up.
    /// `stamp` reads a line's time (nil for a line without one, taken as earlier).
    func offset(ofFirstLineAtOrAfter milliseconds: Int64, stamp: (ArraySlice<UInt8>) -> Int64?) -> Int {
        let window = 64 * 1024
        var low = 0
        var high = size
        while high - low > window {
            let middle = low + (high - low) / 2
            let bytes = read(at: middle, count: window)
            guard let newline = bytes.firstIndex(of: UInt8(ascii: "\n")), newline + 1 < bytes.count else {
                high = middle
                continue
            }
            let lineStart = middle + newline + 1
            if (stamp(bytes[(newline + 1)...]) ?? Int64.min) < milliseconds {
                low = lineStart
            } else {
                high = middle
            }
        }
        return low
    }

    /// The last `limit` lines, read from at most the last `bytes` of the file (a read that starts
    /// mid-file starts mid-line: that partial line is left out).
    func lastLines(_ limit: Int, bytes: Int) -> [String] {
        guard size > 0 else { return [] }
        let from = max(0, size - bytes)
        var tail = read(at: from, count: bytes)[...]
        if from > 0, let newline = tail.firstIndex(of: UInt8(ascii: "\n")) { tail = tail[(newline + 1)...] }
        return tail.split(separator: UInt8(ascii: "\n")).suffix(limit).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Every line of a host's log at `path`, oldest (rotated, `.1`) part first, read a page at a
    /// time so that the log's size never sets the memory used.
    static func forEachLine(ofLog path: String, pageBytes: Int = 1024 * 1024, _ body: (String) -> Void) throws(APIError) {
        for part in [path + ".1", path] {
            guard let file = try open(part) else { continue }
            var offset = 0
            while offset < file.size {
                let page = file.page(from: offset, limit: Int.max, pageBytes: pageBytes)
                guard page.next > offset else { break }
                page.lines.forEach(body)
                offset = page.next
            }
        }
    }

    /// Whether `path` now names another file than this one (the keeper rotated it to `.1`).
    func isReplaced() -> Bool {
        var info = stat()
        guard lstat(path, &info) == 0 else { return false }
        return UInt64(info.st_ino) != inode
    }
}

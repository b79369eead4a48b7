public import Glibc

/// Reads a file of the kernel's (/proc, /sys) whole. Such files report a size of 0 and are made
/// as they are read, page by page: Foundation's `String(contentsOfFile:)` stops after one read
/// (4 KiB of a 40 KiB /proc/self/mountinfo), so every reader here loops until EOF.
public enum ProcFile {
    /// The text of `path`, at most `limit` bytes; nil when it cannot be opened or read.
    public static func read(_ path: String, limit: Int = 16 << 20) -> String? {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while bytes.count < limit {
            let count = Glibc.read(fd, &buffer, buffer.count)
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { return nil }
            if count == 0 { break }
            bytes += buffer[0..<min(count, limit - bytes.count)]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

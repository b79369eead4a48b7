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

    /// Whether `path` now names another file than this one (the keeper rotated it to `.1`).
    func isReplaced() -> Bool {
        var info = stat()
        guard lstat(path, &info) == 0 else { return false }
        return UInt64(info.st_ino) != inode
    }
}

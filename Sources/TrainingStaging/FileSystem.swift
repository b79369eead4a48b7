import Foundation

/// The few file operations staging needs, on raw system calls so that every failure keeps its errno.
enum FileSystem {
    static func makeDirectory(_ path: String, mode: mode_t = 0o755) throws(StagingError) {
        var components: [String] = []
        var current = path
        while !current.isEmpty, current != "/", !isDirectory(current) {
            components.append(current)
            current = (current as NSString).deletingLastPathComponent
        }
        for directory in components.reversed() where mkdir(directory, mode) != 0 && errno != EEXIST {
            throw .system("create the directory", directory, errno)
        }
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Creates `path` (it must not exist) holding `bytes`, without following a link.
    static func writeNew(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws(StagingError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw .system("create", path, errno) }
        defer { close(fd) }
        var written = 0
        while written < bytes.count {
            let result = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if result < 0 && errno == EINTR { continue }
            guard result > 0 else { throw .system("write", path, errno) }
            written += result
        }
    }

    /// Writes `bytes` to `path` through a temporary file and a rename, so readers never see half of it.
    static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws(StagingError) {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw .system("create", temporary, errno) }
        var written = 0
        while written < bytes.count {
            let result = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if result < 0 {
                if errno == EINTR { continue }
                let code = errno
                close(fd)
                unlink(temporary)
                throw .system("write", temporary, code)
            }
            written += result
        }
        if fsync(fd) != 0 || close(fd) != 0 {
            let code = errno
            unlink(temporary)
            throw .system("write", temporary, code)
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw .system("rename into place", path, code)
        }
    }

    /// Bytes available to an unprivileged writer on the file system holding `path`.
    static func availableBytes(at path: String) throws(StagingError) -> UInt64 {
        var info = statvfs()
        guard statvfs(path, &info) == 0 else { throw .system("measure the free space of", path, errno) }
        return UInt64(info.f_bavail) * UInt64(info.f_frsize)
    }
}

import Foundation

/// The lock that makes one daemon per root: an exclusive flock on `<root>/trainingd.lock`,
/// held for the daemon's life, with the holder's PID written inside so that a second
/// daemon can say who holds it.
final class RootLock {
    private let descriptor: Int32
    let path: String

    init(path: String) throws(DaemonError) {
        self.path = path
        // Never through a link, and only a regular file of ours: the daemon truncates and writes it.
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0o644)
        guard fd >= 0 else { throw DaemonError.system("open the lock file", path, errno) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_uid == geteuid() else {
            close(fd)
            throw DaemonError(.filesystem, "\(path) is not a regular file of this user; remove it and start again")
        }
        fchmod(fd, 0o644)
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            var buffer = [UInt8](repeating: 0, count: 32)
            let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
            close(fd)
            let holder = count > 0 ? String(decoding: buffer[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : "unknown"
            if code == EWOULDBLOCK {
                throw DaemonError(.alreadyRunning,
                    "another trainingd (pid \(holder)) is running on this root (it holds \(path)); stop it first, or use another --root")
            }
            throw DaemonError.system("lock", path, code)
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        descriptor = fd
    }

    deinit {
        close(descriptor)
    }
}

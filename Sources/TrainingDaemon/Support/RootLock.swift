import Foundation

/// The lock that makes one daemon per root: an exclusive flock on `<root>/trainingd.lock`,
/// held for the daemon's life, with the holder's PID written inside so that a second
/// daemon can say who holds it.
final class RootLock {
    private let descriptor: Int32
    let path: String

    init(path: String) throws(DaemonError) {
        self.path = path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DaemonError.system("open the lock file", path, errno) }
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

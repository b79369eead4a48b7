#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Keeps the database private to the daemon's user. Every job's Environment is stored in
/// it, and that is where people put tokens, so a mode that lets other local users read
/// the file (0644, from a umask of 022 or an older trainingd) leaks them.
///
/// SQLite creates `-wal` and `-shm` with the mode of the database file, so making the
/// database 0600 before SQLite opens it keeps the other two private as they are created;
/// ones an older version left are fixed here too. Modes are changed through descriptors
/// (`fchmod`, `fchown`), opened with `O_NOFOLLOW`, so that a link planted in the
/// directory cannot redirect the change onto another file.
enum PrivateFiles {
    /// The mode of the database and its -wal and -shm files.
    static let fileMode: mode_t = 0o600

    /// Creates the database file if needed and gives it, and the -wal and -shm files that
    /// exist, mode 0600 and the daemon's user as owner.
    static func secureDatabase(at path: String) throws(StoreError) {
        try secure(path, create: true)
        for suffix in ["-wal", "-shm"] { try secure(path + suffix, create: false) }
    }

    private static func secure(_ path: String, create: Bool) throws(StoreError) {
        let action = "make \(path) private (mode 0600)"
        let flags = O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | (create ? O_CREAT : 0)
        let fd = open(path, flags, fileMode)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT, !create { return }
            throw StoreError(
                storeCode(errno: code), action: action,
                message: code == ELOOP ? "it is a symbolic link" : String(cString: strerror(code)), path: path)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw StoreError(.io, action: action, message: String(cString: strerror(errno)), path: path)
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw StoreError(.cannotOpen, action: action, message: "it is not a regular file", path: path)
        }
        // A file another user owns could be read (and chmod-ed back) by that user whatever its mode.
        if info.st_uid != geteuid() || info.st_gid != getegid(), fchown(fd, geteuid(), getegid()) != 0 {
            throw StoreError(
                storeCode(errno: errno), action: action,
                message: "it belongs to uid \(info.st_uid) and cannot be given to uid \(geteuid()): \(String(cString: strerror(errno)))",
                path: path)
        }
        if info.st_mode & 0o7777 != fileMode, fchmod(fd, fileMode) != 0 {
            throw StoreError(storeCode(errno: errno), action: action, message: String(cString: strerror(errno)), path: path)
        }
    }

    private static func storeCode(errno code: Int32) -> StoreError.Code {
        switch code {
        case ENOSPC, EDQUOT: return .full
        case EROFS: return .readOnly
        case EIO: return .io
        default: return .cannotOpen
        }
    }
}

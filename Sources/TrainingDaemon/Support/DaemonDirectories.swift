import Foundation

/// The directories the daemon makes at start, with modes that depend neither on the umask it
/// was started with nor on how an older version (or an operator) left them.
///
/// Modes and owners are set through a descriptor of the directory itself (`fchmod`, `fchown`),
/// so that what is changed is the directory that was checked.
enum DaemonDirectories {
    enum Policy {
        /// Exactly this mode, fixed at every start (the state directory: 0700).
        case exactly(mode_t)
        /// Created 0755; an existing one keeps its mode minus group and other write, so that no
        /// job user can rename or plant entries in it (the logs, jobs and socket directories).
        case notWritableByOthers
    }

    /// Creates `path` (missing parents 0755) and applies `policy`; a root daemon also takes
    /// ownership of a directory someone else made, since whoever owns it can change its mode.
    /// - Parameter followLinks: false for directories inside ones that are not the operator's
    ///   alone, where a symbolic link in place of the directory must not be followed.
    /// - Parameter onlyIfCreated: leave a directory that already existed as it is (one the
    ///   daemon may share with others, such as the directory of a configured socket path).
    static func prepare(_ path: String, _ policy: Policy, followLinks: Bool = true, onlyIfCreated: Bool = false) throws(DaemonError) {
        let created = try createMissing(path)
        if onlyIfCreated, !created { return }
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (followLinks ? 0 : O_NOFOLLOW))
        guard fd >= 0 else {
            let code = errno
            if code == ELOOP || code == ENOTDIR {
                throw DaemonError(.filesystem, "\(path) is not a directory (a symbolic link or a file is in its place); remove it and start trainingd again")
            }
            throw DaemonError.system("open the directory", path, code)
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw DaemonError.system("inspect", path, errno) }
        if info.st_uid != geteuid(), geteuid() == 0, fchown(fd, 0, 0) != 0 {
            throw DaemonError.system("take ownership (fchown) of", path, errno)
        }
        let current = info.st_mode & 0o7777
        let wanted: mode_t
        switch policy {
        case .exactly(let mode): wanted = mode
        case .notWritableByOthers: wanted = current & ~0o022
        }
        if current != wanted, fchmod(fd, wanted) != 0 {
            throw DaemonError(.filesystem, "cannot set the mode of \(path) to \(String(wanted, radix: 8)): \(String(cString: strerror(errno))); make it owned by the daemon's user, or choose another directory")
        }
    }

    /// mkdir -p, each new directory given 0755 whatever the umask; whether `path` was created.
    private static func createMissing(_ path: String) throws(DaemonError) -> Bool {
        var missing: [String] = []
        var current = path
        var info = stat()
        while !current.isEmpty, current != "/", stat(current, &info) != 0 {
            missing.append(current)
            current = (current as NSString).deletingLastPathComponent
        }
        for directory in missing.reversed() {
            if mkdir(directory, 0o755) != 0 {
                guard errno == EEXIST else { throw DaemonError.system("create the directory", directory, errno) }
                continue
            }
            // mkdir's mode passes through the umask (000 would make it world-writable, 077 untraversable).
            let fd = open(directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            if fd >= 0 {
                fchmod(fd, 0o755)
                close(fd)
            }
        }
        return !missing.isEmpty
    }
}

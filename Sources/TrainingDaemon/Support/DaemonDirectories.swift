import Foundation
import TrainingFiles

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
        let directory: Directory
        do {
            directory = try Directory.open(path, followingLinks: followLinks)
        } catch {
            if error.errorNumber == ELOOP || error.errorNumber == ENOTDIR {
                throw DaemonError(.filesystem, "\(path) is not a directory (a symbolic link or a file is in its place); remove it and start trainingd again")
            }
            throw DaemonError.system("open the directory", path, error.errorNumber)
        }
        let info: stat
        do { info = try directory.status() } catch { throw DaemonError.system("inspect", path, error.errorNumber) }
        if info.st_uid != geteuid(), geteuid() == 0 {
            do { try directory.setOwner(uid: 0, gid: 0) } catch { throw DaemonError.system("take ownership (fchown) of", path, error.errorNumber) }
        }
        let current = info.st_mode & 0o7777
        let wanted: mode_t
        switch policy {
        case .exactly(let mode): wanted = mode
        case .notWritableByOthers: wanted = current & ~0o022
        }
        if current != wanted {
            do {
                try directory.setMode(wanted)
            } catch {
                throw DaemonError(.filesystem, "cannot set the mode of \(path) to \(String(wanted, radix: 8)): \(String(cString: strerror(error.errorNumber))); make it owned by the daemon's user, or choose another directory")
            }
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
            try? Directory.open(directory).setMode(0o755)
        }
        return !missing.isEmpty
    }
}

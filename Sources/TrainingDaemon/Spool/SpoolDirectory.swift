import Foundation
import TrainingFiles
import TrainingCore
import TrainingStore

/// The spool's directories and the file moves of intake. A file goes
/// `incoming/` -> `.claimed/` (the atomic claim: one rename) -> `accepted/` or
/// `rejected/` (with `<file>.error.json`). A file left in `.claimed/` by a crash
/// (or by a transient error) is taken up again.
///
/// `incoming/` is world-writable, and the daemon runs as root: there it only lists
/// names, `lstat`s them and renames entries out. Everything else (opening, reading,
/// writing reports) happens in `.claimed/`, `accepted/` and `rejected/`, which belong to
/// the daemon's user and no one else can write, so no one can swap an entry for a link
/// between a check and its use. Those three are written only by the supervisor's queue
/// (and one daemon per root, `RootLock`), which is why "is this name free?" followed by
/// a rename cannot race.
struct SpoolDirectory {
    let root: String
    var incoming: String { root + "/incoming" }
    var claimed: String { root + "/.claimed" }
    var accepted: String { root + "/accepted" }
    var rejected: String { root + "/rejected" }

    /// Creates the directories, or fixes their modes and owners: incoming 1777 (anyone may
    /// submit; the sticky bit keeps users from removing each other's files), `.claimed` 0700
    /// (a file being processed cannot be reached by its owner), accepted and rejected 0755.
    func create() throws(DaemonError) {
        try DaemonDirectories.prepare(root, .notWritableByOthers)
        // Every submission is created in incoming/ and removed once accepted: placed in a block
        // group of their own, these do not slow down allocations elsewhere (the volumes, the
        // outputs) on ext4 without a journal (`Directory.markAsTopOfHierarchy`). Takes effect for
        // the subdirectories made after it, so on the first start.
        _ = try? Directory.open(root, followingLinks: true).markAsTopOfHierarchy()
        try DaemonDirectories.prepare(incoming, .exactly(0o1777), followLinks: false)
        try DaemonDirectories.prepare(claimed, .exactly(0o700), followLinks: false)
        for directory in [accepted, rejected] {
            try DaemonDirectories.prepare(directory, .exactly(0o755), followLinks: false)
        }
    }

    /// Whether a name in `incoming/` is a submission: `*.json`, not a dot-file, not an error report.
    static func isCandidate(_ name: String) -> Bool {
        name.hasSuffix(".json") && !name.hasPrefix(".") && !name.hasSuffix(".error.json") && name.count > 5
            && !name.contains("/")
    }

    /// What a claimed file is, learnt without following links or reading it.
    struct Identity: Equatable {
        var name: String
        var device: UInt64
        var inode: UInt64
        var owner: uid_t
        var group: gid_t
        var size: Int
        var kind: mode_t
        var modificationTime: Int64

        /// The key of this file's claim in the database.
        var storeIdentity: SpoolFileIdentity {
            SpoolFileIdentity(name: name, device: device, inode: inode, modificationTime: modificationTime)
        }
    }

    /// The identity of `.claimed/<name>`; nil when there is no such file.
    func identity(ofClaimed name: String) throws(SpoolFault) -> Identity? {
        var info = stat()
        guard lstat(claimed + "/" + name, &info) == 0 else {
            let code = errno
            if code == ENOENT { return nil }
            throw .deferred(SpoolFault.system("inspect", claimed + "/" + name, code).description)
        }
        return Identity(name: name, device: UInt64(info.st_dev), inode: UInt64(info.st_ino), owner: info.st_uid,
                        group: info.st_gid, size: Int(info.st_size), kind: info.st_mode & S_IFMT,
                        modificationTime: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec))
    }

    enum ClaimOutcome {
        /// The file is now in `.claimed/`.
        case claimed
        /// Gone (removed by its owner, or claimed by an earlier event).
        case gone
        /// A file of the same name is still in `.claimed/`, waiting after a transient error:
        /// this one waits in `incoming/` until that one is done.
        case nameInUse
    }

    /// Claims `incoming/<name>` by renaming it into `.claimed/`, never over a file already there.
    func claim(_ name: String) throws(SpoolFault) -> ClaimOutcome {
        guard !exists(claimed + "/" + name) else { return .nameInUse }
        guard rename(incoming + "/" + name, claimed + "/" + name) != 0 else { return .claimed }
        let code = errno
        if code == ENOENT { return .gone }
        // Whatever the reason, the file stays in incoming/ and is not lost: try again later.
        throw .deferred(SpoolFault.system("claim (rename into \(claimed))", incoming + "/" + name, code).description)
    }

    /// Names waiting in a directory, oldest first, so that files dropped while the daemon was down keep their order.
    func pending(in directory: String) throws(SpoolFault) -> [String] {
        guard let stream = opendir(directory) else {
            // Out of descriptors, most likely: the listing is retried, nothing is skipped.
            throw .deferred(SpoolFault.system("list", directory, errno).description)
        }
        defer { closedir(stream) }
        var names: [(String, Int)] = []
        while let entry = readdir(stream) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            guard Self.isCandidate(name) else { continue }
            var info = stat()
            lstat(directory + "/" + name, &info)
            names.append((name, info.st_mtim.tv_sec * 1_000_000_000 + info.st_mtim.tv_nsec))
        }
        return names.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.map(\.0)
    }

    func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0 || errno != ENOENT
    }
}

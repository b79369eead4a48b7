public import Glibc
import CTrainingShim

/// A directory held by descriptor: every operation below it is an `*at()` call that never
/// follows a symbolic link, so a name a job user replaced with a link cannot redirect it.
///
/// This is how a root process works next to trees that job users can write (docs/architecture.md,
/// the privilege rule): it opens the directory once (checking who owns it), then creates,
/// renames, reads and removes names relative to it.
public final class Directory: @unchecked Sendable {
    // @unchecked: the descriptor is immutable and closed only in deinit.
    /// The open descriptor (O_PATH is not used: reading entries needs a real one).
    public let fd: Int32
    /// The path it was opened by, for messages only.
    public let path: String

    /// Takes ownership of `fd` (closed with this object).
    init(fd: Int32, path: String) {
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    /// Opens `path`; its last component must not be a symbolic link, unless `followingLinks`
    /// (for the administrator's own paths, such as the configured jobs directory, which may
    /// well be a link to a larger disk).
    public static func open(_ path: String, followingLinks: Bool = false) throws(FileError) -> Directory {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (followingLinks ? 0 : O_NOFOLLOW))
        guard fd >= 0 else { throw FileError("open the directory", path, errno: errno) }
        return Directory(fd: fd, path: path)
    }

    /// Opens the subdirectory `name` (one component), never through a link; nil when it does not exist.
    public func subdirectory(_ name: String) throws(FileError) -> Directory? {
        let fd = openat(self.fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 && errno == ENOENT { return nil }
        guard fd >= 0 else { throw FileError("open the directory", child(name), errno: errno) }
        return Directory(fd: fd, path: child(name))
    }

    /// Creates the subdirectory `name` with `mode` (exactly, whatever the umask) and opens it.
    /// Fails with EEXIST when the name is taken by anything, a link included.
    public func makeSubdirectory(_ name: String, mode: UInt32) throws(FileError) -> Directory {
        guard mkdirat(fd, name, mode) == 0 else { throw FileError("create the directory", child(name), errno: errno) }
        guard let directory = try subdirectory(name) else { throw FileError("open the directory", child(name), errno: ENOENT) }
        // mkdirat's mode passed through the umask: set it again only if that took bits away (an
        // fstat costs less than a chmod, which dirties the inode).
        if try directory.status().st_mode & 0o7777 != mode { try directory.setMode(mode) }
        return directory
    }

    /// The directory's own status (owner, mode).
    public func status() throws(FileError) -> stat {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw FileError("inspect", path, errno: errno) }
        return info
    }

    /// The status of the entry `name` itself (a link is not followed); nil when it does not exist.
    public func entryStatus(_ name: String) throws(FileError) -> stat? {
        var info = stat()
        if fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0 { return info }
        if errno == ENOENT { return nil }
        throw FileError("inspect", child(name), errno: errno)
    }

    /// fchmod on the descriptor.
    public func setMode(_ mode: UInt32) throws(FileError) {
        guard fchmod(fd, mode) == 0 else { throw FileError("set the mode of", path, errno: errno) }
    }

    /// Marks this directory as the top of directory hierarchies (`chattr +T`, FS_TOPDIR_FL) for
    /// ext4's block allocator, which then places each subdirectory (and what is made in it) in a
    /// block group of its own choosing instead of next to this one. For a directory of many
    /// short-lived trees (one per job): on ext4 without a journal, allocating an inode skips, one
    /// inode-table lookup each, every inode of its group freed in the last one to six minutes
    /// (`recently_deleted` in fs/ext4/ialloc.c), so trees made and removed in one group make each
    /// allocation slower the longer the daemon runs; spread over groups they do not.
    /// Whether the flag is set now (false on file systems without it, which need none).
    @discardableResult
    public func markAsTopOfHierarchy() -> Bool {
        ctshim_set_top_directory_flag(fd) >= 0
    }

    /// fchown on the descriptor.
    public func setOwner(uid: UInt32, gid: UInt32) throws(FileError) {
        guard fchown(fd, uid, gid) == 0 else { throw FileError("change the owner of", path, errno: errno) }
    }

    /// fchownat of the entry at `relative` (no link followed at its end; the directories on the
    /// way must be ones nobody else can write). False when there is no such entry.
    @discardableResult
    public func setOwner(ofEntry relative: String, uid: UInt32, gid: UInt32) throws(FileError) -> Bool {
        guard fchownat(fd, relative, uid, gid, AT_SYMLINK_NOFOLLOW) == 0 else {
            if errno == ENOENT { return false }
            throw FileError("change the owner of", child(relative), errno: errno)
        }
        return true
    }

    /// Renames the entry `name` to `newName` in this directory (the entry moves; nothing is followed).
    public func rename(_ name: String, to newName: String) throws(FileError) {
        guard renameat(fd, name, fd, newName) == 0 else { throw FileError("rename", child(name), errno: errno) }
    }

    /// Removes the entry `name` if it is not a directory (a link is removed, not followed); true if it existed.
    @discardableResult
    public func removeFile(_ name: String) throws(FileError) -> Bool {
        if unlinkat(fd, name, 0) == 0 { return true }
        if errno == ENOENT { return false }
        throw FileError("remove", child(name), errno: errno)
    }

    /// Replaces `name` with a new regular file holding `contents`: the old entry (whatever it
    /// was) is removed, the new one created exclusively with `mode`, given to `owner` by
    /// descriptor and, if `durable`, synced.
    public func createFile(_ name: String, contents: [UInt8], mode: UInt32, owner: (uid: UInt32, gid: UInt32)? = nil,
                           durable: Bool = true) throws(FileError)
    {
        try removeFile(name)
        let file = openat(fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard file >= 0 else { throw FileError("create", child(name), errno: errno) }
        defer { close(file) }
        var written = 0
        while written < contents.count {
            let count = contents[written...].withUnsafeBytes { write(file, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw FileError("write", child(name), errno: errno) }
            written += count
        }
        guard fchmod(file, mode) == 0 else { throw FileError("set the mode of", child(name), errno: errno) }
        if let owner, fchown(file, owner.uid, owner.gid) != 0 {
            throw FileError("change the owner of", child(name), errno: errno)
        }
        guard !durable || fsync(file) == 0 else { throw FileError("sync", child(name), errno: errno) }
    }

    /// Reads a regular file at `relative` (below this directory, no link anywhere on the way),
    /// owned by `owner`, at most `limit` bytes. A FIFO, a device, a link, someone else's file or
    /// a path leaving this directory is refused without blocking.
    public func readRegularFile(_ relative: String, owner: UInt32, limit: Int) throws(FileError) -> [UInt8] {
        let resolve = UInt64(CTSHIM_RESOLVE_BENEATH | CTSHIM_RESOLVE_NO_SYMLINKS | CTSHIM_RESOLVE_NO_MAGICLINKS)
        let file = ctshim_openat2(fd, relative, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0, resolve)
        guard file >= 0 else { throw FileError("open", child(relative), errno: errno) }
        defer { close(file) }
        var info = stat()
        guard fstat(file, &info) == 0 else { throw FileError("inspect", child(relative), errno: errno) }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw FileError("read", child(relative), errno: 0, reason: "not a regular file")
        }
        guard info.st_uid == owner else {
            throw FileError("read", child(relative), errno: 0, reason: "owned by uid \(info.st_uid), not \(owner)")
        }
        var bytes = [UInt8](repeating: 0, count: max(0, min(limit, Int(info.st_size))))
        var used = 0
        while used < bytes.count {
            let count = bytes[used...].withUnsafeMutableBytes { read(file, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count >= 0 else { throw FileError("read", child(relative), errno: errno) }
            if count == 0 { break }
            used += count
        }
        return Array(bytes[..<used])
    }

    func child(_ name: String) -> String { path.hasSuffix("/") ? path + name : path + "/" + name }
}

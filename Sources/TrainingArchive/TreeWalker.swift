import Glibc

/// One entry of a directory tree, as ``TreeWalker`` meets it: never a followed link.
public struct TreeEntry {
    public enum Kind: Equatable, Sendable {
        case directory, regular, symbolicLink, fifo
        /// Sockets and devices: nothing an archive of artifacts carries.
        case other
    }

    /// The path below the root, empty for the root itself, components joined by "/": bytes, as the
    /// file system has them (names need not be UTF-8).
    public var relativePath: [UInt8]
    /// ``relativePath`` for messages.
    public var displayPath: String { String(decoding: relativePath, as: UTF8.self) }
    public var kind: Kind
    /// Permission bits (the low 12 bits of st_mode).
    public var permissions: UInt32
    public var uid: UInt32
    public var gid: UInt32
    /// For a regular file: its size when it was opened.
    public var size: UInt64
    /// Seconds since the epoch.
    public var modificationTime: Int

    init(relativePath: [UInt8], kind: Kind, status: stat, fd: Int32, linkTarget: [UInt8]?) {
        self.relativePath = relativePath
        self.kind = kind
        self.permissions = UInt32(status.st_mode & 0o7777)
        self.uid = status.st_uid
        self.gid = status.st_gid
        self.size = kind == .regular ? UInt64(status.st_size) : 0
        self.modificationTime = Int(status.st_mtim.tv_sec)
        self.fd = fd
        self.linkTarget = linkTarget
    }
    /// For a regular file: a descriptor opened with O_NOFOLLOW and checked to be the entry that was
    /// listed, valid only during the visit.
    public var fd: Int32
    /// For a symbolic link: its target's bytes.
    public var linkTarget: [UInt8]?
}

/// Walks a tree by descriptor (openat with O_NOFOLLOW at every level, so a link is an entry, never
/// a way out), in byte order of names, parents before children. Files are opened O_NONBLOCK (a FIFO
/// listed as a file never blocks the walk) and checked against the listing with fstat.
public enum TreeWalker {
    /// Deeper trees are refused: each level holds a descriptor.
    public static let maximumDepth = 128

    /// Visits every entry of `root`; a directory's entries are visited only if `descend` says so.
    public static func walk(_ root: String, descend: (TreeEntry) -> Bool = { _ in true },
                            _ visit: (TreeEntry) throws(ArchiveError) -> Void) throws(ArchiveError) {
        let fd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw ArchiveError("open the directory", root, errno: errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ArchiveError("inspect", root, errno: errno) }
        try visit(TreeEntry(relativePath: [], kind: .directory, status: info, fd: -1, linkTarget: nil))
        try walkDirectory(fd, relativePath: [], displayRoot: root, depth: 1, descend, visit)
    }

    private static func walkDirectory(
        _ directory: Int32, relativePath: [UInt8], displayRoot: String, depth: Int, _ descend: (TreeEntry) -> Bool,
        _ visit: (TreeEntry) throws(ArchiveError) -> Void
    ) throws(ArchiveError) {
        guard depth <= maximumDepth else {
            throw ArchiveError("archive", displayRoot + "/" + String(decoding: relativePath, as: UTF8.self), errno: 0, reason: "deeper than \(maximumDepth) levels")
        }
        for nameBytes in try names(in: directory, path: displayRoot + "/" + String(decoding: relativePath, as: UTF8.self)) {
            let path = relativePath.isEmpty ? nameBytes : relativePath + [0x2F] + nameBytes
            let display = displayRoot + "/" + String(decoding: path, as: UTF8.self)
            let name = nameBytes.map { CChar(bitPattern: $0) } + [0]
            var info = stat()
            guard fstatat(directory, name, &info, AT_SYMLINK_NOFOLLOW) == 0 else {
                if errno == ENOENT { continue }  // removed since it was listed
                throw ArchiveError("inspect", display, errno: errno)
            }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                let child = openat(directory, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard child >= 0 else { throw ArchiveError("open the directory", display, errno: errno) }
                defer { close(child) }
                let entry = TreeEntry(relativePath: path, kind: .directory, status: info, fd: -1, linkTarget: nil)
                try visit(entry)
                if descend(entry) { try walkDirectory(child, relativePath: path, displayRoot: displayRoot, depth: depth + 1, descend, visit) }
            case S_IFREG:
                let file = openat(directory, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
                guard file >= 0 else { throw ArchiveError("open", display, errno: errno) }
                defer { close(file) }
                var opened = stat()
                guard fstat(file, &opened) == 0 else { throw ArchiveError("inspect", display, errno: errno) }
                guard (opened.st_mode & S_IFMT) == S_IFREG, opened.st_ino == info.st_ino, opened.st_dev == info.st_dev else {
                    throw ArchiveError("archive", display, errno: 0, reason: "it was replaced while it was being archived")
                }
                try visit(TreeEntry(relativePath: path, kind: .regular, status: opened, fd: file, linkTarget: nil))
            case S_IFLNK:
                var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let length = readlinkat(directory, name, &buffer, buffer.count - 1)
                guard length >= 0 else { throw ArchiveError("read the link", display, errno: errno) }
                let target = buffer[..<length].map { UInt8(bitPattern: $0) }
                try visit(TreeEntry(relativePath: path, kind: .symbolicLink, status: info, fd: -1, linkTarget: target))
            case S_IFIFO:
                try visit(TreeEntry(relativePath: path, kind: .fifo, status: info, fd: -1, linkTarget: nil))
            default:
                try visit(TreeEntry(relativePath: path, kind: .other, status: info, fd: -1, linkTarget: nil))
            }
        }
    }

    /// The names in a directory, sorted by their bytes (an archive's order does not depend on the file system's).
    private static func names(in directory: Int32, path: String) throws(ArchiveError) -> [[UInt8]] {
        let listing = dup(directory)
        guard listing >= 0, let stream = fdopendir(listing) else {
            let code = errno
            throw ArchiveError("list", path, errno: code)
        }
        defer { closedir(stream) }
        var names: [[UInt8]] = []
        errno = 0
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                Array(raw.prefix(while: { $0 != 0 }))
            }
            if name != [0x2E], name != [0x2E, 0x2E] { names.append(name) }
        }
        guard errno == 0 else { throw ArchiveError("list", path, errno: errno) }
        return names.sorted { $0.lexicographicallyPrecedes($1) }
    }
}

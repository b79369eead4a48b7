import Glibc

extension Directory {
    /// How deep `removeTree` descends; deeper trees are left (and reported), since each level
    /// holds a descriptor.
    public static let removalDepthLimit = 256

    /// Removes the entry `name` and, if it is a directory, everything below it, by descriptor:
    /// each level is opened with O_NOFOLLOW relative to its parent, so a link planted anywhere
    /// in the tree is removed as a link and never followed. Returns false when nothing was there.
    @discardableResult
    public func removeTree(_ name: String) throws(FileError) -> Bool {
        guard let info = try entryStatus(name) else { return false }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { return try removeFile(name) }
        return try Self.removeDirectory(name, in: fd, path: child(name), depth: 0)
    }

    /// Removes the directory `name` below `parent` after its entries. One descriptor per level,
    /// read with readdir, whose d_type says what each entry is without a stat (ext4, xfs, btrfs
    /// and tmpfs all fill it in); only DT_UNKNOWN costs an fstatat.
    private static func removeDirectory(_ name: String, in parent: Int32, path: String, depth: Int) throws(FileError) -> Bool {
        guard depth < removalDepthLimit else {
            throw FileError("remove", path, errno: 0, reason: "deeper than \(removalDepthLimit) levels")
        }
        let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 {
            // Gone, or swapped for something else since it was seen: a non-directory is removed as such.
            if errno == ENOENT { return false }
            if errno == ENOTDIR || errno == ELOOP { return unlinkat(parent, name, 0) == 0 || errno == ENOENT }
            throw FileError("open the directory", path, errno: errno)
        }
        guard let stream = fdopendir(fd) else {
            let error = errno
            close(fd)
            throw FileError("list", path, errno: error)
        }
        defer { closedir(stream) }
        // An algorithm may leave a directory without write or search permission for its owner;
        // root's own rights do not depend on that, but an unprivileged daemon's do.
        var info = stat()
        if geteuid() != 0, fstat(fd, &info) == 0, info.st_mode & 0o700 != 0o700 { _ = fchmod(fd, 0o700) }
        // Entries are collected first: unlinking while readdir walks the same stream may skip some.
        var entries: [(name: String, isDirectory: Bool)] = []
        while let entry = readdir(stream) {
            let entryName = withUnsafePointer(to: &entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            guard entryName != ".", entryName != ".." else { continue }
            var isDirectory = Int32(entry.pointee.d_type) == DT_DIR
            if Int32(entry.pointee.d_type) == DT_UNKNOWN {
                var entryInfo = stat()
                isDirectory = fstatat(fd, entryName, &entryInfo, AT_SYMLINK_NOFOLLOW) == 0 && (entryInfo.st_mode & S_IFMT) == S_IFDIR
            }
            entries.append((entryName, isDirectory))
        }
        for entry in entries {
            if entry.isDirectory {
                _ = try removeDirectory(entry.name, in: fd, path: path + "/" + entry.name, depth: depth + 1)
            } else if unlinkat(fd, entry.name, 0) != 0 {
                // A directory that took the name since readdir is removed as one.
                if errno == EISDIR { _ = try removeDirectory(entry.name, in: fd, path: path + "/" + entry.name, depth: depth + 1) }
                else if errno != ENOENT { throw FileError("remove", path + "/" + entry.name, errno: errno) }
            }
        }
        guard unlinkat(parent, name, AT_REMOVEDIR) == 0 || errno == ENOENT else {
            throw FileError("remove the directory", path, errno: errno)
        }
        return true
    }

    /// The names in this directory, without "." and "..".
    public func entryNames() throws(FileError) -> [String] {
        let copy = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard copy >= 0, let stream = fdopendir(copy) else {
            let error = errno
            if copy >= 0 { close(copy) }
            throw FileError("list", path, errno: error)
        }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}

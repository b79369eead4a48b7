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
        try removeEntry(name, depth: 0)
    }

    private func removeEntry(_ name: String, depth: Int) throws(FileError) -> Bool {
        guard let info = try entryStatus(name) else { return false }
        guard (info.st_mode & S_IFMT) == S_IFDIR else { return try removeFile(name) }
        guard depth < Self.removalDepthLimit else {
            throw FileError("remove", child(name), errno: 0, reason: "deeper than \(Self.removalDepthLimit) levels")
        }
        // A directory swapped for something else between the two calls is simply not opened.
        guard let directory = try subdirectory(name) else { return false }
        // An algorithm may leave a directory without write or search permission for its owner;
        // root's own rights do not depend on that, but an unprivileged daemon's do.
        try? directory.setMode(0o700)
        for entry in try directory.entryNames() {
            _ = try directory.removeEntry(entry, depth: depth + 1)
        }
        guard unlinkat(fd, name, AT_REMOVEDIR) == 0 || errno == ENOENT else {
            throw FileError("remove the directory", child(name), errno: errno)
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

public import Foundation

/// Objects as files below a directory, with S3's semantics: `file://` locations (the root is
/// `/`) and local buckets (the root is the bucket's directory). A key is a path below the root;
/// a prefix matches as a string (`data/train` matches `data/train.csv` and `data/train/part-0`);
/// directories and links to directories are not objects, links to files are read as the files.
///
/// It runs with the rights of whoever calls it: in workers and on threads acting as the job's
/// owner (the privilege rule), so it reads and writes only what the owner could.
public struct DirectoryObjectStore: ObjectStore {
    public let root: String

    public init(root: String) {
        self.root = root
    }

    public var name: String { "file://" + (root == "/" ? "" : root) }

    /// The file of `key`. A key with a `.` or `..` segment names no file here: such keys exist in
    /// S3, but a directory cannot hold them without leaving the bucket (`checked(_:)` refuses them).
    public func path(of key: String) -> String { root == "/" ? "/" + key : root + "/" + key }

    /// `key`, refused when a segment is `.` or `..` (it would name a file outside the bucket).
    func checked(_ key: String) throws(StorageError) -> String {
        let segments = key.split(separator: "/", omittingEmptySubsequences: false)
        guard !segments.contains(where: { $0 == "." || $0 == ".." }), !key.utf8.contains(0) else {
            throw StorageError(location: name + "/" + key, message: "the key \(key) has a '.' or '..' segment, which a local bucket cannot hold; rename the object",
                               isClientError: true)
        }
        return key
    }

    public func list(prefix: String) throws(StorageError) -> [StoredObject] {
        let match = path(of: prefix)
        let baseDirectory: String = {
            if match.hasSuffix("/") { return match == "/" ? "/" : String(match.dropLast()) }
            let parent = (match as NSString).deletingLastPathComponent
            return parent.isEmpty ? "/" : parent
        }()
        guard Self.isDirectory(baseDirectory) else {
            throw StorageError(location: match, message: "the location \(match) does not exist (no directory \(baseDirectory))",
                               errno: ENOENT, isClientError: true)
        }
        var objects: [StoredObject] = []
        try walk(baseDirectory, matching: match, into: &objects)
        return objects.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
    }

    private func walk(_ directory: String, matching prefix: String, into objects: inout [StoredObject]) throws(StorageError) {
        guard let handle = opendir(directory) else { throw FileCopy.failure("cannot list", directory, errno) }
        defer { closedir(handle) }
        let rootLength = root == "/" ? 1 : root.utf8.count + 1
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name == "." || name == ".." { continue }
            let path = directory == "/" ? "/" + name : directory + "/" + name
            // Only paths that can still lead to a match are visited.
            guard path.hasPrefix(prefix) || prefix.hasPrefix(path + "/") || (path + "/").hasPrefix(prefix) else { continue }
            var info = stat()
            guard stat(path, &info) == 0 else {
                if errno == ENOENT { continue }
                throw FileCopy.failure("cannot read", path, errno)
            }
            var linkInfo = stat()
            let isLink = lstat(path, &linkInfo) == 0 && (linkInfo.st_mode & S_IFMT) == S_IFLNK
            switch info.st_mode & S_IFMT {
            case S_IFDIR where !isLink:
                try walk(path, matching: prefix, into: &objects)
            case S_IFREG where path.hasPrefix(prefix):
                objects.append(StoredObject(key: String(decoding: path.utf8.dropFirst(rootLength), as: UTF8.self), size: UInt64(info.st_size)))
            default:
                continue
            }
        }
    }

    public func download(_ key: String, to path: String) throws(StorageError) {
        try FileCopy.copy(self.path(of: checked(key)), to: path)
    }

    /// Copied under a temporary name next to the object, synced, and renamed into place; the
    /// object keeps the file's modification time (so that an unchanged file is recognised).
    public func upload(_ path: String, as key: String) throws(StorageError) {
        let target = self.path(of: try checked(key))
        let directory = (target as NSString).deletingLastPathComponent
        try Self.makeDirectories(directory)
        let temporary = directory + "/.trainingd-tmp-\(getpid())-" + (target as NSString).lastPathComponent
        do {
            try FileCopy.copy(path, to: temporary, durable: true)
        } catch {
            unlink(temporary)
            throw error
        }
        FileCopy.copyModificationTime(from: path, to: temporary)
        guard rename(temporary, target) == 0 else {
            let code = errno
            unlink(temporary)
            throw FileCopy.failure("cannot move into place", target, code)
        }
        let parent = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if parent >= 0 {
            fsync(parent)
            close(parent)
        }
    }

    public func delete(_ key: String) throws(StorageError) {
        guard unlink(path(of: try checked(key))) == 0 || errno == ENOENT else { throw FileCopy.failure("cannot remove", path(of: key), errno) }
    }

    public func size(of key: String) throws(StorageError) -> UInt64? {
        var info = stat()
        guard stat(path(of: try checked(key)), &info) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { return nil }
            throw FileCopy.failure("cannot inspect", path(of: key), errno)
        }
        return (info.st_mode & S_IFMT) == S_IFREG ? UInt64(info.st_size) : nil
    }

    public func read(_ key: String, range: ClosedRange<UInt64>) throws(StorageError) -> Data {
        let fd = open(path(of: try checked(key)), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw FileCopy.failure("cannot read", path(of: key), errno) }
        defer { close(fd) }
        return try FileCopy.readFully(fd, at: range.lowerBound, count: range.count, path: path(of: key))
    }

    public func localDirectory(of prefix: String) -> String? {
        guard prefix.isEmpty || prefix.hasSuffix("/") else { return nil }
        let directory = prefix.isEmpty ? root : String(path(of: prefix).dropLast())
        return Self.isDirectory(directory) ? directory : nil
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// mkdir -p (0755, as the umask allows).
    static func makeDirectories(_ path: String) throws(StorageError) {
        var missing: [String] = []
        var current = path
        while !current.isEmpty, current != "/", !isDirectory(current) {
            missing.append(current)
            current = (current as NSString).deletingLastPathComponent
        }
        for directory in missing.reversed() where mkdir(directory, 0o755) != 0 && errno != EEXIST {
            throw FileCopy.failure("cannot create the directory", directory, errno)
        }
    }
}

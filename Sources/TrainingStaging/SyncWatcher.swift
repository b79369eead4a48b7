import Foundation
public import TrainingObjectStore

/// One local directory of a host's volume that is copied to a location while the algorithm runs.
public struct SyncedDirectory: Sendable, Equatable, Hashable, Codable {
    /// The directory on the host (inside the volume).
    public var localDirectory: String
    /// The location's directory: a local path (`file://` locations and local buckets), or an
    /// `s3://` URI of the S3 endpoint.
    public var destination: String
    /// Whether a file deleted locally is deleted at the location too: checkpoints mirror (an old
    /// checkpoint must not come back at a restore); intermediate and TensorBoard output only add.
    public var mirrorsDeletions: Bool

    public init(localDirectory: String, destination: String, mirrorsDeletions: Bool) {
        self.localDirectory = localDirectory
        self.destination = destination
        self.mirrorsDeletions = mirrorsDeletions
    }
}

/// What a sync watcher is given: a host's directories to copy (checkpoints, intermediate output,
/// TensorBoard output), and the keeper status file whose appearance means the algorithm has ended.
public struct SyncWatchRequest: Sendable, Equatable, Codable {
    public var directories: [SyncedDirectory]
    public var algorithmStatusPath: String
    /// How long a file written in place must stay closed, with its writer alive, to count as complete.
    public var settleSeconds: Double
    /// Where `s3://` destinations are served (the S3 endpoint and its credentials).
    public var locations = ObjectLocations()

    public init(directories: [SyncedDirectory], algorithmStatusPath: String, settleSeconds: Double = 1) {
        self.directories = directories
        self.algorithmStatusPath = algorithmStatusPath
        self.settleSeconds = settleSeconds
    }
}

/// Copies a host's directories to their locations while the algorithm runs, and once more when
/// it ends; runs in a worker process with the job owner's rights. One watcher serves every
/// directory of its host (one inotify instance, one process).
///
/// - New and changed files are found with inotify (no periodic scans), and copied through a
///   temporary name, fsync'd and renamed, so a reader of the location never sees half a file.
/// - **Complete files only.** A file renamed into place (the algorithm wrote a temporary file and
///   renamed it, as `os.replace` does) is complete at once. A file written in place is complete
///   once it has stayed closed for `settleSeconds` while its writer lived: a kill mid-write also
///   closes the file, and such a file never replaces the previous complete copy. When the
///   algorithm exits on its own (an exit code, not a signal) every closed file counts.
/// - A file deleted locally is deleted at the location when its directory mirrors deletions
///   (other hosts' files are left alone).
public final class SyncWatcher {
    /// A file of one of the synced directories: the directory's index and the file's relative path.
    struct FileKey: Hashable, Comparable {
        var directory: Int
        var key: String
        static func < (lhs: FileKey, rhs: FileKey) -> Bool { (lhs.directory, lhs.key) < (rhs.directory, rhs.key) }
    }

    private let request: SyncWatchRequest
    private var inotify: Int32 = -1
    /// Watched directories by watch descriptor: which synced directory they belong to, and their path.
    private var watched: [Int32: (directory: Int, path: String)] = [:]
    /// Closed files written in place, with when they were last closed.
    private var pending: [FileKey: Double] = [:]
    public private(set) var copied = 0
    /// Per directory with an `s3://` destination: its store and key prefix.
    private var remoteStores: [Int: (store: any ObjectStore, prefix: String)] = [:]
    /// What was uploaded to a remote destination, by file: its size and modification time then
    /// (objects keep no modification time of ours to compare with).
    private var uploaded: [FileKey: (size: Int, modified: Double)] = [:]

    public init(_ request: SyncWatchRequest) {
        self.request = request
    }

    /// Resolves the `s3://` destinations, and takes a file whose object already has its size
    /// (restored from there, or uploaded before a daemon restart) as uploaded.
    private func connectRemoteDestinations() throws(StagingError) {
        for (index, synced) in request.directories.enumerated() where RemoteSync.isRemote(synced.destination) {
            let remote = try RemoteSync.resolve(synced.destination, request.locations)
            remoteStores[index] = remote
            var sizes: [String: UInt64] = [:]
            do {
                for object in try remote.store.list(prefix: remote.prefix) { sizes[object.key] = object.size }
            } catch {
                throw StagingError(error)
            }
            for file in try localFiles(of: index) {
                if let local = signature(local(file)), sizes[remote.prefix + file.key] == UInt64(local.size) { uploaded[file] = local }
            }
        }
    }

    /// Watches until the algorithm's status file appears, then syncs what is complete and returns.
    public func run() throws(StagingError) {
        inotify = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard inotify >= 0 else { throw .system("watch (inotify_init1)", request.directories.first?.localDirectory ?? "", errno) }
        defer { close(inotify) }
        try connectRemoteDestinations()
        for (index, synced) in request.directories.enumerated() {
            try FileSystem.makeDirectory(synced.localDirectory)
            try watchTree(synced.localDirectory, of: index)
            // What differs from the location already (files written before this watcher started, after a daemon restart).
            for file in try localFiles(of: index) where differs(file) { pending[file] = modificationTime(file) ?? Self.now }
        }
        while true {
            var poller = pollfd(fd: inotify, events: Int16(POLLIN), revents: 0)
            // The status file cannot be watched (its directory is the daemon's): look for it every 25 ms.
            _ = poll(&poller, 1, 25)
            try readEvents()
            if let end = algorithmEnd() {
                try readEvents()
                for (file, closed) in pending.sorted(by: { $0.key < $1.key }) where end.exitedNormally || closed + request.settleSeconds <= end.time {
                    try copy(file)
                }
                return
            }
            let now = Self.now
            for (file, closed) in pending where closed + request.settleSeconds <= now {
                try copy(file)
            }
        }
    }

    static var now: Double { Date().timeIntervalSince1970 }

    private func local(_ file: FileKey) -> String { request.directories[file.directory].localDirectory + "/" + file.key }
    private func remote(_ file: FileKey) -> String { request.directories[file.directory].destination + "/" + file.key }

    /// Whether `path` is the root of another synced directory (nested inside this one): that one syncs it.
    private func belongsElsewhere(_ path: String, than index: Int) -> Bool {
        request.directories.indices.contains { $0 != index && request.directories[$0].localDirectory == path }
    }

    private func watchTree(_ directory: String, of index: Int) throws(StagingError) {
        let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_DELETE_SELF)
        let descriptor = inotify_add_watch(inotify, directory, mask)
        guard descriptor >= 0 else { throw .system("watch", directory, errno) }
        watched[descriptor] = (index, directory)
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
            let path = directory + "/" + entry
            guard FileSystem.isDirectory(path), !belongsElsewhere(path, than: index) else { continue }
            try watchTree(path, of: index)
        }
    }

    private func readEvents() throws(StagingError) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(inotify, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return }
            var offset = 0
            while offset + 16 <= count {
                let (descriptor, mask, length) = buffer.withUnsafeBytes { raw in
                    (raw.load(fromByteOffset: offset, as: Int32.self), raw.load(fromByteOffset: offset + 4, as: UInt32.self),
                     Int(raw.load(fromByteOffset: offset + 12, as: UInt32.self)))
                }
                let nameBytes = buffer[(offset + 16)..<(offset + 16 + length)].prefix { $0 != 0 }
                offset += 16 + length
                try handle(descriptor: descriptor, mask: mask, name: String(decoding: nameBytes, as: UTF8.self))
            }
        }
    }

    private func handle(descriptor: Int32, mask: UInt32, name: String) throws(StagingError) {
        if mask & UInt32(IN_Q_OVERFLOW) != 0 {
            // Events were lost: everything that differs is a candidate again.
            for index in request.directories.indices {
                for file in try localFiles(of: index) where differs(file) { pending[file] = Self.now }
            }
            return
        }
        guard let (index, directory) = watched[descriptor] else { return }
        if mask & UInt32(IN_DELETE_SELF) != 0 {
            watched[descriptor] = nil
            return
        }
        let path = directory + "/" + name
        let root = request.directories[index].localDirectory
        let file = FileKey(directory: index, key: String(path.dropFirst(root.count + 1)))
        if mask & UInt32(IN_ISDIR) != 0 {
            if mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0, FileSystem.isDirectory(path), !belongsElsewhere(path, than: index) {
                try watchTree(path, of: index)
                for inner in try localFiles(of: index, under: path) { pending[inner] = Self.now }
            }
            return
        }
        if name.hasPrefix(".trainingd-tmp") { return }
        if mask & UInt32(IN_CLOSE_WRITE) != 0 {
            pending[file] = Self.now
        } else if mask & UInt32(IN_MOVED_TO) != 0 {
            pending[file] = nil
            try copy(file)  // renamed into place: written completely before
        } else if mask & UInt32(IN_DELETE | IN_MOVED_FROM) != 0 {
            pending[file] = nil
            if request.directories[index].mirrorsDeletions {
                if let remote = remoteStores[index] {
                    uploaded[file] = nil
                    do { try remote.store.delete(remote.prefix + file.key) } catch { throw StagingError(error) }
                } else {
                    unlink(remote(file))
                }
            }
        }
    }

    /// Copies one file through a temporary name; a file that changed meanwhile stays pending.
    private func copy(_ file: FileKey) throws(StagingError) {
        let source = local(file)
        let before = signature(source)
        guard before != nil else {
            pending[file] = nil  // gone meanwhile: its deletion event follows
            return
        }
        if let remote = remoteStores[file.directory] {
            do { try remote.store.upload(source, as: remote.prefix + file.key) } catch { throw StagingError(error) }
            // Changed while it was uploaded: the object may be torn; it is uploaded again once the file settles.
            guard let after = signature(source), after.size == before?.size, after.modified == before?.modified else {
                pending[file] = Self.now
                return
            }
            uploaded[file] = after
            pending[file] = nil
            copied += 1
            return
        }
        let target = remote(file)
        let directory = (target as NSString).deletingLastPathComponent
        let temporary = directory + "/.trainingd-tmp-\(getpid())-" + (file.key as NSString).lastPathComponent
        try FileCopier.copy(source, to: temporary, durable: true)
        FileCopier.copyModificationTime(from: source, to: temporary)
        guard let after = signature(source), after.size == before?.size, after.modified == before?.modified else {
            unlink(temporary)
            pending[file] = Self.now
            return
        }
        guard rename(temporary, target) == 0 else {
            let code = errno
            unlink(temporary)
            throw .system("move into place", target, code)
        }
        let parent = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if parent >= 0 {
            fsync(parent)
            close(parent)
        }
        pending[file] = nil
        copied += 1
    }

    /// When the algorithm ended and how, from its keeper's status file; nil while it runs.
    private func algorithmEnd() -> (time: Double, exitedNormally: Bool)? {
        var info = stat()
        guard stat(request.algorithmStatusPath, &info) == 0 else { return nil }
        let text = (try? String(contentsOfFile: request.algorithmStatusPath, encoding: .utf8)) ?? ""
        let time = Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9
        return (time, text.split(separator: "\n").contains { $0.hasPrefix("exit_code=") })
    }

    /// The files of a synced directory (or of one of its subdirectories), without those of a nested synced directory.
    private func localFiles(of index: Int, under subdirectory: String? = nil) throws(StagingError) -> [FileKey] {
        let root = request.directories[index].localDirectory
        let base = subdirectory ?? root
        guard let enumerator = FileManager.default.enumerator(atPath: base) else { return [] }
        var files: [FileKey] = []
        while let relative = enumerator.nextObject() as? String {
            let path = base + "/" + relative
            if FileSystem.isDirectory(path) {
                if belongsElsewhere(path, than: index) { enumerator.skipDescendants() }
                continue
            }
            guard !(relative as NSString).lastPathComponent.hasPrefix(".trainingd-tmp") else { continue }
            files.append(FileKey(directory: index, key: String(path.dropFirst(root.count + 1))))
        }
        return files
    }

    /// Copies keep their source's modification time, so an unchanged file matches its copy exactly.
    private func differs(_ file: FileKey) -> Bool {
        guard let local = signature(local(file)) else { return false }
        if remoteStores[file.directory] != nil {
            guard let sent = uploaded[file] else { return true }
            return sent.size != local.size || sent.modified != local.modified
        }
        guard let remote = signature(remote(file)) else { return true }
        return local.size != remote.size || local.modified != remote.modified
    }

    private func modificationTime(_ file: FileKey) -> Double? {
        signature(local(file))?.modified
    }

    private func signature(_ path: String) -> (size: Int, modified: Double)? {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return (Int(info.st_size), Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9)
    }
}

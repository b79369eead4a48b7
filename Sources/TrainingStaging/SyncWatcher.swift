import Foundation

/// What a checkpoint watcher is given: a host's local checkpoint directory (CheckpointConfig
/// LocalPath, seen from the host), where to copy it, and the keeper status file whose
/// appearance means the algorithm has ended.
public struct CheckpointWatchRequest: Sendable, Equatable, Codable {
    public var localDirectory: String
    public var destination: String
    public var algorithmStatusPath: String
    /// How long a file written in place must stay closed, with its writer alive, to count as complete.
    public var settleSeconds: Double

    public init(localDirectory: String, destination: String, algorithmStatusPath: String, settleSeconds: Double = 1) {
        self.localDirectory = localDirectory
        self.destination = destination
        self.algorithmStatusPath = algorithmStatusPath
        self.settleSeconds = settleSeconds
    }
}

/// Copies a host's checkpoints to the checkpoint location while the algorithm runs, and once
/// more when it ends; runs in a worker process with the job owner's rights.
///
/// - New and changed files are found with inotify (no periodic scans), and copied through a
///   temporary name, fsync'd and renamed, so a reader of the location never sees half a file.
/// - **Complete checkpoints only.** A file renamed into place (the algorithm wrote a temporary
///   file and renamed it, as `os.replace` does) is complete at once. A file written in place is
///   complete once it has stayed closed for `settleSeconds` while its writer lived: a kill
///   mid-write also closes the file, and such a file never replaces the previous complete copy.
///   When the algorithm exits on its own (an exit code, not a signal) every closed file counts.
/// - A file deleted locally is deleted at the location (other hosts' files are left alone).
public final class CheckpointWatcher {
    private let request: CheckpointWatchRequest
    private var inotify: Int32 = -1
    private var directories: [Int32: String] = [:]
    /// Closed files written in place, by key, with when they were last closed.
    private var pending: [String: Double] = [:]
    public private(set) var copied = 0

    public init(_ request: CheckpointWatchRequest) {
        self.request = request
    }

    /// Watches until the algorithm's status file appears, then syncs what is complete and returns.
    public func run() throws(StagingError) {
        try FileSystem.makeDirectory(request.localDirectory)
        inotify = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard inotify >= 0 else { throw .system("watch (inotify_init1)", request.localDirectory, errno) }
        defer { close(inotify) }
        try watchTree(request.localDirectory)
        // What differs from the location already (files written before this watcher started, after a daemon restart).
        for key in try localKeys() where differs(key) { pending[key] = modificationTime(key) ?? Self.now }
        while true {
            var poller = pollfd(fd: inotify, events: Int16(POLLIN), revents: 0)
            _ = poll(&poller, 1, 100)
            try readEvents()
            if let end = algorithmEnd() {
                try readEvents()
                for (key, closed) in pending.sorted(by: { $0.key < $1.key }) where end.exitedNormally || closed + request.settleSeconds <= end.time {
                    try copy(key)
                }
                return
            }
            let now = Self.now
            for (key, closed) in pending where closed + request.settleSeconds <= now {
                try copy(key)
            }
        }
    }

    static var now: Double { Date().timeIntervalSince1970 }

    private func watchTree(_ directory: String) throws(StagingError) {
        let mask = UInt32(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE | IN_DELETE_SELF)
        let descriptor = inotify_add_watch(inotify, directory, mask)
        guard descriptor >= 0 else { throw .system("watch", directory, errno) }
        directories[descriptor] = directory
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where FileSystem.isDirectory(directory + "/" + entry) {
            try watchTree(directory + "/" + entry)
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
            for key in try localKeys() where differs(key) { pending[key] = Self.now }
            return
        }
        guard let directory = directories[descriptor] else { return }
        if mask & UInt32(IN_DELETE_SELF) != 0 {
            directories[descriptor] = nil
            return
        }
        let path = directory + "/" + name
        let key = String(path.dropFirst(request.localDirectory.count + 1))
        if mask & UInt32(IN_ISDIR) != 0 {
            if mask & UInt32(IN_CREATE | IN_MOVED_TO) != 0, FileSystem.isDirectory(path) {
                try watchTree(path)
                for inner in try localKeys(under: path) { pending[inner] = Self.now }
            }
            return
        }
        if name.hasPrefix(".trainingd-tmp") { return }
        if mask & UInt32(IN_CLOSE_WRITE) != 0 {
            pending[key] = Self.now
        } else if mask & UInt32(IN_MOVED_TO) != 0 {
            pending[key] = nil
            try copy(key)  // renamed into place: written completely before
        } else if mask & UInt32(IN_DELETE | IN_MOVED_FROM) != 0 {
            pending[key] = nil
            unlink(request.destination + "/" + key)
        }
    }

    /// Copies one file through a temporary name; a file that changed meanwhile stays pending.
    private func copy(_ key: String) throws(StagingError) {
        let source = request.localDirectory + "/" + key
        let before = signature(source)
        guard before != nil else {
            pending[key] = nil  // gone meanwhile: its deletion event follows
            return
        }
        let target = request.destination + "/" + key
        let directory = (target as NSString).deletingLastPathComponent
        let temporary = directory + "/.trainingd-tmp-\(getpid())-" + (key as NSString).lastPathComponent
        try FileCopier.copy(source, to: temporary, durable: true)
        FileCopier.copyModificationTime(from: source, to: temporary)
        guard let after = signature(source), after.size == before?.size, after.modified == before?.modified else {
            unlink(temporary)
            pending[key] = Self.now
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
        pending[key] = nil
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

    private func localKeys(under root: String? = nil) throws(StagingError) -> [String] {
        let base = root ?? request.localDirectory
        guard let enumerator = FileManager.default.enumerator(atPath: base) else { return [] }
        var keys: [String] = []
        while let relative = enumerator.nextObject() as? String {
            let path = base + "/" + relative
            guard !FileSystem.isDirectory(path), !(relative as NSString).lastPathComponent.hasPrefix(".trainingd-tmp") else { continue }
            keys.append(String(path.dropFirst(request.localDirectory.count + 1)))
        }
        return keys
    }

    /// Copies keep their source's modification time, so an unchanged file matches its copy exactly.
    private func differs(_ key: String) -> Bool {
        guard let local = signature(request.localDirectory + "/" + key) else { return false }
        guard let remote = signature(request.destination + "/" + key) else { return true }
        return local.size != remote.size || local.modified != remote.modified
    }

    private func modificationTime(_ key: String) -> Double? {
        signature(request.localDirectory + "/" + key)?.modified
    }

    private func signature(_ path: String) -> (size: Int, modified: Double)? {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return (Int(info.st_size), Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9)
    }
}

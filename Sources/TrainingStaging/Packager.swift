import Foundation
public import TrainingArchive

/// Delivers a host's artifacts after its processes ended: `model/` as model.tar.gz and
/// `output/data/` as output.tar.gz (or the files themselves with CompressionType NONE),
/// each written under a temporary name and renamed into place, and the final checkpoint sync.
/// Runs with the job owner's credentials.
public enum Packager {
    /// Every host's `model/` and `output/data/` go into the same archives, merged in host order:
    /// where two hosts have a file of the same path, the lower-numbered host's is kept (algo-1's
    /// before algo-2's), and each file left out is named in the result.
    ///
    /// - Returns: notes for the job's status message (the files left out).
    @discardableResult
    public static func run(_ request: PackagingRequest) throws(StagingError) -> [String] {
        try FileSystem.makeDirectory(request.outputDirectory)
        let volumes = [request.volume] + request.otherVolumes
        var clashes: [String] = []
        if request.compress {
            let written = try writeArchives(of: volumes, in: request.outputDirectory, limits: nil) ?? []
            try publish(written)
            clashes += written.flatMap(\.clashes)
        } else if let remote = request.remoteOutput {
            // NONE on the S3 endpoint: each file uploaded straight from the volume.
            let (store, prefix) = try RemoteSync.resolve(remote, request.locations)
            var files: [(path: String, key: String)] = []
            for (directories, name) in [(volumes.map(\.modelDirectory), "model/"), (volumes.map(\.outputDataDirectory), "data/")] {
                clashes += try mirror(directories) { path, key in files.append((path, prefix + name + key)) }
            }
            try RemoteSync.upload(files, to: store)
        } else {
            clashes += try mirror(volumes.map(\.modelDirectory), to: request.outputDirectory + "/model")
            clashes += try mirror(volumes.map(\.outputDataDirectory), to: request.outputDirectory + "/data")
        }
        if let remote = request.remoteOutput, request.compress {
            // Made in the volume, then uploaded: each object appears whole (multipart for large ones).
            try RemoteSync.upload(directory: request.outputDirectory, to: remote, locations: request.locations)
            try? FileManager.default.removeItem(atPath: request.outputDirectory)
        }
        // With the request's synced directories: intermediate and TensorBoard output the watcher
        // could not copy (it failed, or none ran); what it copied already is left alone.
        try syncCheckpoints(request)
        return clashes.isEmpty ? [] : [Self.clashNote(clashes)]
    }

    /// "left out of the artifacts, as a lower-numbered host has a file of the same name: ...", at most 10 named.
    static func clashNote(_ clashes: [String]) -> String {
        let named = clashes.prefix(10).joined(separator: ", ")
        let more = clashes.count > 10 ? " and \(clashes.count - 10) more" : ""
        return "left out of the artifacts, as a lower-numbered host has a file of the same name: \(named)\(more)"
    }

    /// ``run(_:)`` for small artifacts, bounded whatever the trees do meanwhile: only archives (GZIP),
    /// nothing to sync, and at most `limits` (entries, bytes read) in each archive.
    /// Returns nil, having delivered nothing, when the request is not such a one (any more): then a
    /// worker process does the whole of it.
    public static func runBounded(_ request: PackagingRequest, _ limits: Limits) throws(StagingError) -> [String]? {
        // The limits are enforced while the archives are written, so nothing is measured beforehand.
        // A remote output location is reached over the network: that is a worker's work.
        guard request.compress, request.remoteOutput == nil, syncedTreesAreEmpty(request) else { return nil }
        try FileSystem.makeDirectory(request.outputDirectory)
        let volumes = [request.volume] + request.otherVolumes
        guard let written = try writeArchives(of: volumes, in: request.outputDirectory, limits: limits) else { return nil }
        // Something to sync appeared since it was looked at: the worker copies it (and archives again).
        guard syncedTreesAreEmpty(request) else {
            discard(written)
            return nil
        }
        try publish(written)
        let clashes = written.flatMap(\.clashes)
        return clashes.isEmpty ? [] : [Self.clashNote(clashes)]
    }

    /// Whether the checkpoints and the synced directories hold no file (or do not exist).
    static func syncedTreesAreEmpty(_ request: PackagingRequest) -> Bool {
        var roots = request.syncedDirectories.map(\.localDirectory)
        if let checkpoints = request.checkpointDirectory, request.checkpointDestination != nil { roots.append(checkpoints) }
        for root in roots where FileSystem.isDirectory(root) {
            do {
                try TreeWalker.walk(root) { (entry) throws(ArchiveError) in
                    if entry.kind != .directory { throw ArchiveError("measure", root, errno: 0, reason: "not empty") }
                }
            } catch {
                return false
            }
        }
        return true
    }

    /// How much a packaging may hold to be done without a worker process (``runBounded(_:_:)``).
    public typealias Limits = TarArchive.Limits

    /// Copies the local checkpoints to the checkpoint location, each file atomically, and the other
    /// synced directories. On its own (no artifacts) when a drain interrupts a job: its work so far
    /// must survive, but nothing is published.
    public static func syncCheckpoints(_ request: PackagingRequest) throws(StagingError) {
        if let directory = request.checkpointDirectory, let destination = request.checkpointDestination, FileSystem.isDirectory(directory) {
            if RemoteSync.isRemote(destination) {
                // No deletions here, as the local mirror makes none: every host of a job syncs to
                // the same location, and one host's missing files are another's checkpoints. The
                // sync watcher deletes what a host deleted while it ran.
                try RemoteSync.upload(directory: directory, to: destination, locations: request.locations)
            } else {
                try mirror(directory, to: destination)
            }
        }
        for synced in request.syncedDirectories {
            if RemoteSync.isRemote(synced.destination) {
                try RemoteSync.upload(directory: synced.localDirectory, to: synced.destination, locations: request.locations)
            } else {
                try mirrorChanged(synced.localDirectory, to: synced.destination)
            }
        }
    }

    /// Like ``mirror(_:to:)``, but leaves alone a file whose copy has its size and modification
    /// time (copies keep the source's, as the sync watcher's do).
    static func mirrorChanged(_ source: String, to destination: String) throws(StagingError) {
        guard FileSystem.isDirectory(source) else { return }
        for object in try LocalObjects.list(prefix: source.hasSuffix("/") ? source : source + "/") {
            let target = destination + "/" + object.key
            guard signature(object.path) != signature(target) || signature(target) == nil else { continue }
            let temporary = (target as NSString).deletingLastPathComponent + "/.trainingd-tmp-\(getpid())-" + (object.key as NSString).lastPathComponent
            try FileCopier.copy(object.path, to: temporary)
            FileCopier.copyModificationTime(from: object.path, to: temporary)
            guard rename(temporary, target) == 0 else {
                let code = errno
                unlink(temporary)
                throw .system("move into place", target, code)
            }
        }
    }

    private static func signature(_ path: String) -> [Int]? {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        return [Int(info.st_size), Int(info.st_mtim.tv_sec), Int(info.st_mtim.tv_nsec)]
    }

    /// An archive written under its temporary name: not yet durable, not yet in place.
    struct WrittenArchive {
        let fd: Int32
        let temporary: String
        let destination: String
        let clashes: [String]
    }

    /// model.tar.gz of every host's `model/` and output.tar.gz of their `output/data/`, written
    /// (``writeArchive(_:to:limits:)``) and left for ``publish(_:)``; nil when `limits` are given
    /// and a tree passes them (nothing is left behind then).
    static func writeArchives(of volumes: [HostVolume], in directory: String, limits: TarArchive.Limits?) throws(StagingError) -> [WrittenArchive]? {
        var written: [WrittenArchive] = []
        do throws(StagingError) {
            for (trees, name) in [(volumes.map(\.modelDirectory), "model.tar.gz"), (volumes.map(\.outputDataDirectory), "output.tar.gz")] {
                guard let archive = try writeArchive(trees, to: directory + "/" + name, limits: limits) else {
                    discard(written)
                    return nil
                }
                written.append(archive)
            }
        } catch {
            discard(written)
            throw error
        }
        return written
    }

    /// The merged archive of several hosts' directories (``TarArchive``: links archived as links, never
    /// followed; the first host's files win), compressed on every core, under a temporary name next
    /// to `destination`. Nil (and nothing left) when `limits` are given and the trees pass them.
    static func writeArchive(_ directories: [String], to destination: String, limits: TarArchive.Limits?) throws(StagingError) -> WrittenArchive? {
        try FileSystem.makeDirectory(directories[0])
        let present = [directories[0]] + directories.dropFirst().filter(FileSystem.isDirectory)
        let temporary = destination + ".tmp-\(getpid())"
        // A leftover of an earlier attempt (or anything planted there) is replaced, never written through.
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .system("create", temporary, errno) }
        do throws(ArchiveError) {
            let clashes = try TarArchive.writeGzip(directories: present, limits: limits, to: fd).clashes
            return WrittenArchive(fd: fd, temporary: temporary, destination: destination, clashes: clashes)
        } catch where error.reason == TarArchive.beyondLimits {
            close(fd)
            unlink(temporary)
            return nil
        } catch {
            close(fd)
            unlink(temporary)
            let blame: StagingError.Code = error.errorNumber == 0 || [EACCES, ENOENT, ENOSPC, EDQUOT, ELOOP].contains(error.errorNumber)
                ? .client : .platform
            throw StagingError(blame, "cannot archive \(present.joined(separator: ", ")): \(error)", path: error.path.isEmpty ? temporary : error.path,
                               errno: error.errorNumber == 0 ? nil : error.errorNumber)
        }
    }

    /// Makes the archives durable, then renames each into place. All are written before any is
    /// synced: the first sync's journal commit carries the others' data too (ext4's ordered mode),
    /// so their own syncs find little left to do. The job is Completed only once its artifacts
    /// are: a crash after a rename must not leave an empty model.tar.gz.
    static func publish(_ archives: [WrittenArchive]) throws(StagingError) {
        for archive in archives where fdatasync(archive.fd) != 0 {
            let code = errno
            discard(archives)
            throw .system("write", archive.temporary, code)
        }
        for archive in archives { close(archive.fd) }
        for (index, archive) in archives.enumerated() where rename(archive.temporary, archive.destination) != 0 {
            let code = errno
            for left in archives[index...] { unlink(left.temporary) }
            throw .system("move into place", archive.destination, code)
        }
    }

    /// Closes and removes archives that will not be published.
    static func discard(_ archives: [WrittenArchive]) {
        for archive in archives {
            close(archive.fd)
            unlink(archive.temporary)
        }
    }

    /// ``mirror(_:to:)`` of several hosts' directories into one destination: a key an earlier
    /// directory delivered is not overwritten by a later one (returned as a clash instead).
    static func mirror(_ sources: [String], to destination: String) throws(StagingError) -> [String] {
        try mirror(sources) { (path, key) throws(StagingError) in
            let target = destination + "/" + key
            let temporary = target + ".tmp-\(getpid())"
            try FileCopier.copy(path, to: temporary)
            guard rename(temporary, target) == 0 else {
                let code = errno
                unlink(temporary)
                throw .system("move into place", target, code)
            }
        }
    }

    /// The merge of ``mirror(_:to:)``: `deliver(path, key)` for each file kept, in host order;
    /// returns the clashes left out.
    static func mirror(_ sources: [String], deliver: (String, String) throws(StagingError) -> Void) throws(StagingError) -> [String] {
        var deliveredFiles: Set<String> = []
        var deliveredDirectories: Set<String> = []
        var clashes: [String] = []
        for source in sources where FileSystem.isDirectory(source) {
            for object in try LocalObjects.list(prefix: source.hasSuffix("/") ? source : source + "/") {
                // A clash: the same key, a key that is a directory of one delivered, or one inside a delivered file.
                let ancestors = object.key.split(separator: "/").dropLast().indices.map { index in
                    object.key.split(separator: "/")[...index].joined(separator: "/")
                }
                if deliveredFiles.contains(object.key) || deliveredDirectories.contains(object.key)
                    || ancestors.contains(where: deliveredFiles.contains) {
                    clashes.append(source + ": " + object.key)
                    continue
                }
                deliveredFiles.insert(object.key)
                deliveredDirectories.formUnion(ancestors)
                try deliver(object.path, object.key)
            }
        }
        return clashes
    }

    /// Copies every file under `source` to the same key under `destination` (atomic per file).
    static func mirror(_ source: String, to destination: String) throws(StagingError) {
        guard FileSystem.isDirectory(source) else { return }
        for object in try LocalObjects.list(prefix: source.hasSuffix("/") ? source : source + "/") {
            let target = destination + "/" + object.key
            let temporary = target + ".tmp-\(getpid())"
            try FileCopier.copy(object.path, to: temporary)
            guard rename(temporary, target) == 0 else { throw .system("move into place", target, errno) }
        }
    }
}

extension TarArchive.Limits {
    /// A handful of small files: archived in well under a millisecond.
    public static let inProcess = TarArchive.Limits(entries: 64, bytes: 1 << 20)
}

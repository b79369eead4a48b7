import Foundation

/// Delivers a host's artifacts after its processes ended: `model/` as model.tar.gz and
/// `output/data/` as output.tar.gz (or the files themselves with CompressionType NONE),
/// each written under a temporary name and renamed into place, and the final checkpoint sync.
/// Runs with the job owner's credentials.
public enum Packager {
    public static func run(_ request: PackagingRequest) throws(StagingError) {
        try FileSystem.makeDirectory(request.outputDirectory)
        let volume = request.volume
        if request.compress {
            try archive(volume.modelDirectory, to: request.outputDirectory + "/model.tar.gz")
            try archive(volume.outputDataDirectory, to: request.outputDirectory + "/output.tar.gz")
        } else {
            try mirror(volume.modelDirectory, to: request.outputDirectory + "/model")
            try mirror(volume.outputDataDirectory, to: request.outputDirectory + "/data")
        }
        // With the request's synced directories: intermediate and TensorBoard output the watcher
        // could not copy (it failed, or none ran); what it copied already is left alone.
        try syncCheckpoints(request)
    }

    /// Copies the local checkpoints to the checkpoint location, each file atomically, and the other
    /// synced directories. On its own (no artifacts) when a drain interrupts a job: its work so far
    /// must survive, but nothing is published.
    public static func syncCheckpoints(_ request: PackagingRequest) throws(StagingError) {
        if let directory = request.checkpointDirectory, let destination = request.checkpointDestination, FileSystem.isDirectory(directory) {
            try mirror(directory, to: destination)
        }
        for synced in request.syncedDirectories {
            try mirrorChanged(synced.localDirectory, to: synced.destination)
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

    /// A gzip'd tar of a directory's contents. GNU tar archives symlinks as symlinks and never follows them.
    static func archive(_ directory: String, to destination: String) throws(StagingError) {
        try FileSystem.makeDirectory(directory)
        let temporary = destination + ".tmp-\(getpid())"
        let status = try Tool.run(["tar", "--create", "--gzip", "--file", temporary, "--directory", directory, "--numeric-owner", "."])
        guard status == 0 else {
            unlink(temporary)
            throw StagingError(.platform, "tar could not archive \(directory) (exit status \(status))", path: directory)
        }
        guard rename(temporary, destination) == 0 else {
            let code = errno
            unlink(temporary)
            throw .system("move into place", destination, code)
        }
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

/// Runs a short-lived tool (tar) and waits for that one child.
enum Tool {
    static func run(_ arguments: [String]) throws(StagingError) -> Int32 {
        var pid: pid_t = 0
        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let result = posix_spawnp(&pid, arguments[0], nil, nil, argv, environ)
        guard result == 0 else { throw .system("run", arguments[0], result, blame: .platform) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw .system("wait for", arguments[0], errno, blame: .platform) }
        }
        // WIFEXITED / WEXITSTATUS are macros Swift cannot import.
        return (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }
}

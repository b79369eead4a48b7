import Foundation
import TrainingCore

/// Prepares one host's volume: directories, config files, File-mode copies and the
/// checkpoint restore. Runs in a worker process with the job owner's credentials,
/// so it can read and write only what that user could.
public enum Stager {
    public static func run(_ request: StagingRequest) throws(StagingError) -> UInt64 {
        try prepareVolume(request)
        return try transfer(request)
    }

    /// The directories, config files and FIFOs of a fresh volume: the daemon does this on a thread
    /// acting as the owner (`JobFiles.prepareAttempt`), so everything is the owner's from the start.
    public static func prepareVolume(_ request: StagingRequest) throws(StagingError) {
        let volume = request.volume
        try volume.create(channels: request.copiedChannels.map(\.name) + request.mountPoints)
        if !request.pipeChannels.isEmpty { try FileSystem.makeDirectory(volume.dataDirectory) }
        for (name, contents) in request.configFiles.sorted(by: { $0.key < $1.key }) {
            // Written once into a fresh volume nobody can enter yet: no temporary name needed, and no
            // fsync (after a crash the next attempt builds a new volume; the job's state is in SQLite).
            try FileSystem.writeNew(contents, to: volume.configDirectory + "/" + name)
        }
        for channel in request.pipeChannels {
            let fifo = volume.dataDirectory + "/" + channel + "_0"
            guard mkfifo(fifo, 0o600) == 0 else { throw .system("create the FIFO", fifo, errno) }
        }
    }

    /// The part that touches the owner's data: access checks, File-mode copies, the checkpoint restore.
    public static func transfer(_ request: StagingRequest) throws(StagingError) -> UInt64 {
        let volume = request.volume
        for directory in request.readableDirectories where access(directory, R_OK | X_OK) != 0 {
            throw .system("read the data directory", directory, errno)
        }
        var plans: [(ChannelPlan, [LocalObject])] = []
        var remotePlans: [(ChannelPlan, RemoteObjects)] = []
        for plan in request.copiedChannels {
            switch plan.source {
            case .remotePrefix, .remoteManifest: remotePlans.append((plan, try RemoteObjects.of(plan, locations: request.locations)))
            default: plans.append((plan, try objects(of: plan, buckets: request.locations.buckets)))
            }
        }
        let total = plans.reduce(UInt64(0)) { $0 + $1.1.reduce(0) { $0 + $1.size } }
            + remotePlans.reduce(UInt64(0)) { $0 + $1.1.objects.reduce(0) { $0 + $1.size } }
        let available = try FileSystem.availableBytes(at: volume.root)
        guard total <= available else {
            throw StagingError(.client, "the File-mode channels hold \(total) bytes but the volume at \(volume.root) has only \(available) bytes free; free space, use FastFile mode, or shard the data", path: volume.root, errno: ENOSPC)
        }
        for (plan, objects) in plans {
            for object in objects {
                try FileCopier.copy(object.path, to: volume.channelDirectory(plan.name) + "/" + object.key)
            }
        }
        for (plan, remote) in remotePlans {
            try remote.download(into: volume.channelDirectory(plan.name))
        }
        for mount in request.awaitedMounts {
            try RemoteObjects.awaitMount(mount, locations: request.locations, timeout: mountTimeout)
        }
        if let directory = request.checkpointDirectory, request.checkpointSource != nil || request.remoteCheckpointSource != nil {
            // As on a fresh instance, LocalPath starts as exactly the checkpoint location: a file an earlier
            // attempt left half-written (killed mid-write, never synced) must not look like a checkpoint.
            try? FileManager.default.removeItem(atPath: directory)
            try FileSystem.makeDirectory(directory)
            if let source = request.remoteCheckpointSource {
                try RemoteObjects.checkpoints(at: source, locations: request.locations).download(into: directory)
            }
            // A checkpoint location that does not exist yet is a first run, not an error.
            if let source = request.checkpointSource, FileSystem.isDirectory(source) {
                for object in try LocalObjects.list(prefix: source.hasSuffix("/") ? source : source + "/")
                where !(object.key as NSString).lastPathComponent.hasPrefix(".trainingd-tmp") {
                    try FileCopier.copy(object.path, to: directory + "/" + object.key)
                    FileCopier.copyModificationTime(from: object.path, to: directory + "/" + object.key)
                }
            }
        }
        return total
    }

    /// How long a FastFile mount may take to come up (rclone checks nothing before it mounts).
    static let mountTimeout = 30.0

    static func objects(of plan: ChannelPlan, buckets: LocalBuckets) throws(StagingError) -> [LocalObject] {
        try LocalObjects.objects(of: plan.source, plan.distribution, rank: plan.rank, hostCount: plan.hostCount, buckets: buckets)
    }
}

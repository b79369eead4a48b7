import Dispatch
import Foundation
import TrainingFiles
import TrainingStaging
import TrainingVolumes

/// A job's files under `<jobs>/<job>/`, laid out so that the daemon (root) never works by path
/// inside a directory a job user can write (docs/architecture.md, the privilege rule):
///
/// | path | owner, mode | what |
/// |---|---|---|
/// | `<job>/` | daemon, 0711 | only the daemon adds or removes entries |
/// | `<job>/.work/` | daemon, 0711 | keeper status files, keeper and worker logs, worker requests and results |
/// | `<job>/<host>/` | job owner, 0700 | the volume bound at /opt/ml, made afresh for each attempt |
///
/// A worker's request and result are files the daemon creates in `.work` and gives to the owner
/// by descriptor: the worker can read and write them, never replace them.
struct JobFiles: Sendable {
    let jobsRoot: String
    /// Where formatted volume images are kept, one per size (`SizedVolume`): a directory of the
    /// daemon's state, made when first needed.
    var volumeTemplates: String = ""
    /// Each attempt's `<jobs>/<job>/` is one of these, renamed: making a directory in the jobs
    /// directory is the slow part of a start on ext4 (`SpareDirectories`).
    let jobDirectories: SpareDirectories
    /// The jobs directory, opened once (the first time it opens) and held for the daemon's life:
    /// every job's files are reached from it by descriptor, without walking its path again.
    private let opened = OpenedDirectory()
    /// The daemon's own uid: owner of everything here but the volumes.
    let daemonUID: uid_t = geteuid()
    /// Where discarded trees are removed, off the supervisor's queue (a volume can be large).
    private static let removals = DispatchQueue(label: "trainingd.removals", qos: .utility)

    /// Prefix of the name a discarded job directory has while it is being removed.
    static let discardedPrefix = ".discarded-"

    init(jobsRoot: String, volumeTemplates: String = "") {
        self.jobsRoot = jobsRoot
        self.volumeTemplates = volumeTemplates
        jobDirectories = SpareDirectories(in: jobsRoot, skeleton: Self.spareSkeleton)
    }

    /// What a spare job directory holds ahead: `.work` and the first host's volume tree, ten
    /// directories a start no longer makes (most jobs have one host; others make the rest). Until
    /// taken (and given their modes, 0711 and 0700) `.work` and the volume admit only the daemon.
    static let spareSkeleton: [(path: String, mode: UInt32)] = {
        let firstHost = ClusterLayout.hostName(1)
        return [(".work", 0o700), (firstHost, 0o700)] + HostVolume.standardDirectories.map { (firstHost + "/" + $0, 0o755) }
    }()

    func jobDirectory(_ job: String) -> String { jobsRoot + "/" + job }
    func workDirectory(_ job: String) -> String { jobDirectory(job) + "/.work" }

    /// Lays down a new attempt's directory: what an earlier attempt (or an older trainingd)
    /// left is moved aside and removed in the background; then `.work`, the hosts file and each
    /// host's volume. A volume is created by the daemon (0700), given to the owner by descriptor,
    /// and filled (directories, config files, FIFOs) on this thread acting as the owner
    /// (`FileSystemIdentity`), so everything in it is the owner's from the start, with no chown
    /// pass over paths, and nothing there is created with the daemon's rights (the privilege rule).
    /// `identity` is nil when the daemon runs as the owner itself (or is not root).
    /// `jobs/<job>/hosts`: the job's /etc/hosts (`HostNetwork`), bound read-only into every host.
    static let hostsFileName = "hosts"

    /// `.work/container-<host>/`: a container's writable layer (`upper`), overlayfs's `work`,
    /// the `root` its root is mounted on and `layers` (where the keeper stages the image's layers), in the algorithm's mount namespace only. 0700 and
    /// the daemon's, so the job reaches its writable layer only through its own root; made afresh
    /// with every attempt and removed with the job's directory.
    static func containerDirectoryName(host: String) -> String { "container-" + host }

    /// `volumeBytes`: each volume a file system of that size (`SizedVolume`), or nil for a plain
    /// directory. Returns the notes of hosts whose volume could not be sized (they get a directory).
    @discardableResult
    func prepareAttempt(job: String, plans: [HostLaunchPlan], identity: FileSystemIdentity?, hostsFile: String,
                        volumeBytes: UInt64? = nil) throws(FileError) -> [String] {
        var notes: [String] = []
        let jobs = try jobsDirectory()
        if try jobs.entryStatus(job) != nil { try discard(job, in: jobs) }
        let directory = try jobDirectories.makeSubdirectory(job, mode: 0o711)
        let work = try Self.subdirectory(".work", of: directory, mode: 0o711)
        for plan in plans where plan.container != nil {
            let container = try work.makeSubdirectory(Self.containerDirectoryName(host: plan.host.name), mode: 0o700)
            _ = try container.makeSubdirectory("upper", mode: 0o755)
            _ = try container.makeSubdirectory("work", mode: 0o700)
            _ = try container.makeSubdirectory("root", mode: 0o755)
            _ = try container.makeSubdirectory("layers", mode: 0o700)
        }
        // The daemon's, readable by all (the keeper opens bind sources with the owner's rights). Not
        // synced: every attempt writes it afresh, and after a crash the next attempt does.
        try directory.createFile(Self.hostsFileName, contents: Array(hostsFile.utf8), mode: 0o644, owner: nil, durable: false)
        for plan in plans {
            var volume = try Self.subdirectory(plan.host.name, of: directory, mode: 0o700)
            if let volumeBytes {
                do {
                    volume = try SizedVolume.mount(host: plan.host.name, in: directory, work: work, bytes: volumeBytes,
                                                   templates: try templatesDirectory())
                    try volume.setMode(0o700)
                } catch {
                    notes.append("VolumeSizeInGB is not enforced on \(plan.host.name) (\(error))")
                }
            }
            let asOwner = identity.flatMap { $0.uid == daemonUID ? nil : $0 }
            if let asOwner {
                // The spare's tree first: nobody but the daemon can enter the volume until it is the owner's.
                for relative in HostVolume.standardDirectories.reversed() {
                    try volume.setOwner(ofEntry: relative, uid: asOwner.uid, gid: asOwner.gid)
                }
                try volume.setOwner(uid: asOwner.uid, gid: asOwner.gid)
            }
            do {
                // By path below the volume: every directory on the way is the daemon's and not
                // writable by anyone else, and the volume itself admits only its owner.
                if let asOwner {
                    try asOwner.perform { () throws -> Void in try Stager.prepareVolume(plan.staging) }
                } else {
                    try Stager.prepareVolume(plan.staging)
                }
            } catch let error as StagingError {
                throw FileError("prepare the volume", plan.volume.root, errno: error.errno ?? 0, reason: error.message)
            } catch let error as FileError {
                throw error
            } catch {
                throw FileError("prepare the volume", plan.volume.root, errno: 0, reason: "\(error)")
            }
        }
        return notes
    }

    /// `name` in a directory just taken from the spares: the skeleton's (given `mode`), or made
    /// when the spare had none.
    static func subdirectory(_ name: String, of directory: Directory, mode: UInt32) throws(FileError) -> Directory {
        guard let made = try directory.subdirectory(name) else { return try directory.makeSubdirectory(name, mode: mode) }
        try made.setMode(mode)
        return made
    }

    /// `.work` of a job, taken back if an older trainingd left it (or the job's directory) to the owner.
    func work(_ job: String) throws(FileError) -> Directory {
        let jobs = try jobsDirectory()
        guard let directory = try jobs.subdirectory(job) else {
            throw FileError("open the directory", jobDirectory(job), errno: ENOENT)
        }
        try claim(directory)
        if let work = try directory.subdirectory(".work"), try isDaemons(work) { return work }
        // Not ours (or not a directory): move it aside with the rest of what the owner could touch.
        if try directory.entryStatus(".work") != nil { try directory.rename(".work", to: ".work-" + Self.uniqueSuffix()) }
        return try directory.makeSubdirectory(".work", mode: 0o711)
    }

    /// Lays down a worker's files in `.work`, both 0600 and the worker's user's: its request, and
    /// the empty file it writes its result into (it cannot create files in `.work`).
    func createWorkerFiles(job: String, request: (name: String, contents: [UInt8]), resultName: String,
                           worker: (uid: uid_t, gid: gid_t)) throws(FileError)
    {
        let work = try work(job)
        try work.createFile(request.name, contents: request.contents, mode: 0o600, owner: worker)
        try work.createFile(resultName, contents: [], mode: 0o600, owner: worker)
    }

    /// A worker's result: a regular file of the worker's user, at most 1 MiB.
    func readWorkerResult(job: String, name: String, worker uid: uid_t) throws(FileError) -> [UInt8] {
        try work(job).readRegularFile(name, owner: uid, limit: 1 << 20)
    }

    /// A file the algorithm wrote in a host's volume (`output/failure`): a regular file of the
    /// job's owner below the volume, reached without following any link, at most `limit` bytes.
    func readVolumeFile(job: String, host: String, _ relative: String, owner uid: uid_t, limit: Int) throws(FileError)
        -> [UInt8]
    {
        let jobs = try jobsDirectory()
        guard let directory = try jobs.subdirectory(job), let volume = try directory.subdirectory(host) else {
            throw FileError("open", jobDirectory(job) + "/" + host, errno: ENOENT)
        }
        return try volume.readRegularFile(relative, owner: uid, limit: limit)
    }

    /// Moves a job's directory (its volumes included) aside at once and removes it in the background.
    func removeJob(_ job: String) throws(FileError) {
        let jobs = try jobsDirectory()
        guard try jobs.entryStatus(job) != nil else { return }
        try discard(job, in: jobs)
    }

    /// Removes what an interrupted removal left (`.discarded-*`), at start.
    func removeDiscarded() {
        guard let jobs = try? jobsDirectory(), let names = try? jobs.entryNames() else { return }
        for name in names where name.hasPrefix(Self.discardedPrefix) {
            Mounts.detachAll(in: jobsRoot + "/" + name + "/.work")
            Mounts.detachAll(in: jobsRoot + "/" + name)  // sized volumes
            Self.removals.async { _ = try? jobs.removeTree(name) }
        }
    }

    /// Renames `job` out of the way at once (so a new attempt can start), then removes it in the background.
    private func discard(_ job: String, in jobs: Directory) throws(FileError) {
        // FastFile mounts and sized volumes go first: the removal must not walk into a remote data
        // set, and a volume's file system goes with its loop device once detached.
        detachMounts(job)
        Mounts.detachAll(in: jobDirectory(job))
        let aside = Self.discardedPrefix + job + "-" + Self.uniqueSuffix()
        try jobs.rename(job, to: aside)
        Self.removals.async { _ = try? jobs.removeTree(aside) }
    }

    /// Detaches the FastFile mounts of a job (in its `.work`, the daemon's own directory); their
    /// rclone processes then exit. Idempotent: an ended job, a discard and a restart all call it.
    func detachMounts(_ job: String) {
        for failure in Mounts.detachAll(in: workDirectory(job)) {
            FileHandle.standardError.write(Data("trainingd: \(failure)\n".utf8))
        }
    }

    /// Makes a job directory an older trainingd gave to the job's owner the daemon's again (by descriptor).
    private func claim(_ directory: Directory) throws(FileError) {
        guard try !isDaemons(directory) else { return }
        try directory.setOwner(uid: daemonUID, gid: getegid())
        try directory.setMode(0o711)
    }

    private func isDaemons(_ directory: Directory) throws(FileError) -> Bool {
        let info = try directory.status()
        return info.st_uid == daemonUID && info.st_mode & 0o022 == 0
    }

    /// The volume templates' directory (0700, the daemon's), made when first needed.
    private func templatesDirectory() throws(FileError) -> Directory {
        if mkdir(volumeTemplates, 0o700) != 0, errno != EEXIST { throw FileError("create the directory", volumeTemplates, errno: errno) }
        let directory = try Directory.open(volumeTemplates)
        let info = try directory.status()
        guard info.st_uid == daemonUID, info.st_mode & 0o077 == 0 else {
            throw FileError("use", volumeTemplates, errno: EPERM, reason: "\(volumeTemplates) must be the daemon's own directory, mode 0700")
        }
        return directory
    }

    /// The jobs directory by descriptor (``opened``).
    private func jobsDirectory() throws(FileError) -> Directory {
        try opened.directory { () throws(FileError) in try Directory.open(jobsRoot, followingLinks: true) }
    }

    private static func uniqueSuffix() -> String { String(UUID().uuidString.prefix(8)).lowercased() }
}

/// A directory opened on first use and kept.
private final class OpenedDirectory: @unchecked Sendable {
    // @unchecked: `cached` is read and written under `lock` only.
    private let lock = NSLock()
    private var cached: Directory?

    func directory(_ open: () throws(FileError) -> Directory) throws(FileError) -> Directory {
        lock.lock()
        defer { lock.unlock() }
        if let cached { return cached }
        let directory = try open()
        cached = directory
        return directory
    }
}

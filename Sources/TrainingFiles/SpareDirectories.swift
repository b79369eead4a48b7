import CTrainingShim
public import Dispatch
import Glibc
import Synchronization

/// Empty subdirectories of one directory, made ahead of need, so that making a new entry there
/// is a rename rather than an inode allocation.
///
/// The daemon's jobs and logs directories carry ext4's top-directory flag
/// (``Directory/markAsTopOfHierarchy()``): every subdirectory made there goes through the Orlov
/// allocator's search of all block groups for the emptiest one, 0.3-0.9 ms on a 250 GB disk,
/// twice on every job's start. The spares take that search off the start path: they are made on a
/// queue of their own some time after one is used (`refillDelay`), and a start renames one
/// (RENAME_NOREPLACE) and gives it its mode. With none ready (a burst), a start makes its
/// directory itself, as before.
///
/// A spare may hold a `skeleton`: subdirectories every use needs (a job's volume tree), made
/// with it, the daemon's, for the taker to give away; each is one more inode allocation
/// off the start path (20-40 us each on this machine's ext4 without a journal, whose allocator
/// steps over every recently deleted inode of the group).
///
/// A spare is `.spare-<random>`, 0700 and the daemon's, never an entry anybody else can use; one a
/// crash left is removed by ``start()``. The names cannot be a job's (those begin with a letter or
/// a digit).
public final class SpareDirectories: Sendable {
    public static let namePrefix = ".spare-"

    private let parentPath: String
    private let keep: Int
    /// Relative paths made in each spare, parents first, with their modes.
    private let skeleton: [(path: String, mode: UInt32)]
    /// How long after a spare is taken its replacement is made: the search costs 0.5-2 ms of
    /// kernel CPU, and made at once it competed, on two cores, with the rest of the start that
    /// took the spare (the keeper's exec of the algorithm, a few ms later), which gained nothing.
    private let refillDelay: DispatchTimeInterval
    private let queue = DispatchQueue(label: "trainingd.spare-directories", qos: .utility)
    private let state = Mutex(State())

    private struct State: ~Copyable {
        var parent: Directory?
        /// Made and not yet taken, each held open: the descriptor is what a taker gets.
        var ready: [(name: String, fd: Int32)] = []
        /// A refill is queued or running.
        var refilling = false
    }

    /// Keeps up to `keep` spares in `parentPath`, each with the `skeleton` directories (relative,
    /// parents first; their modes as the umask leaves them); nothing is made until ``start()`` or the first use.
    public init(in parentPath: String, keep: Int = 4, refillDelay: DispatchTimeInterval = .milliseconds(25),
                skeleton: [(path: String, mode: UInt32)] = []) {
        self.parentPath = parentPath
        self.keep = keep
        self.skeleton = skeleton
        self.refillDelay = refillDelay
    }

    deinit {
        state.withLock { state in
            for spare in state.ready { close(spare.fd) }
        }
    }

    /// Removes the spares an earlier run left (a crash between making and using them), then
    /// makes the first ones, both on the spares' queue. The spares this one made (a start before
    /// this call refills too) are kept.
    public func start() {
        queue.async { [self] in
            if let parent = try? parentDirectory(), let names = try? parent.entryNames() {
                let ours = Set(state.withLock { $0.ready.map(\.name) })
                for name in names where name.hasPrefix(Self.namePrefix) && !ours.contains(name) { _ = try? parent.removeTree(name) }
            }
            state.withLock { $0.refilling = true }
            refill()
        }
    }

    /// Like ``Directory/makeSubdirectory(_:mode:)`` in the parent: creates `name` with exactly
    /// `mode` and opens it; EEXIST when the name is taken (the spare is kept for the next one).
    /// It holds the skeleton when a spare was ready, and is empty when none was: the taker makes
    /// what is missing.
    public func makeSubdirectory(_ name: String, mode: UInt32) throws(FileError) -> Directory {
        let parent = try parentDirectory()
        defer { refillSoon() }
        guard let spare = state.withLock({ $0.ready.popLast() }) else {
            return try parent.makeSubdirectory(name, mode: mode)
        }
        guard ctshim_rename_noreplace(parent.fd, spare.name, parent.fd, name) == 0 else {
            let failure = errno
            if failure == EEXIST {
                state.withLock { $0.ready.append(spare) }
                throw FileError("create the directory", parent.child(name), errno: failure)
            }
            // The spare is gone or unusable (removed by hand, say): the directory is made as
            // without one, and a spare still there is left to the next start().
            close(spare.fd)
            return try parent.makeSubdirectory(name, mode: mode)
        }
        let directory = Directory(fd: spare.fd, path: parent.child(name))
        try directory.setMode(mode)
        return directory
    }

    /// How many spares are ready now (for tests and diagnostics).
    public var readyCount: Int { state.withLock { $0.ready.count } }

    /// Waits until what the spares' queue was given has run (a refill made its spares); for tests.
    public func waitForRefill() { queue.sync {} }

    private func refillSoon() {
        let needed = state.withLock { state -> Bool in
            guard !state.refilling, state.ready.count < keep else { return false }
            state.refilling = true
            return true
        }
        if needed { queue.asyncAfter(deadline: .now() + refillDelay) { [self] in refill() } }
    }

    /// On the spares' queue: makes spares until `keep` are ready. A failure (a full disk, a
    /// read-only file system) stops the refill; the next use tries again.
    private func refill() {
        defer { state.withLock { $0.refilling = false } }
        guard let parent = try? parentDirectory() else { return }
        while state.withLock({ $0.ready.count < keep }) {
            let name = Self.namePrefix + String(UInt64.random(in: 0 ... .max), radix: 16)
            guard mkdirat(parent.fd, name, 0o700) == 0 else { return }
            let fd = openat(parent.fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else {
                _ = unlinkat(parent.fd, name, AT_REMOVEDIR)
                return
            }
            // By the spare's descriptor, inside a directory only the daemon can enter.
            guard skeleton.allSatisfy({ mkdirat(fd, $0.path, $0.mode) == 0 }) else {
                close(fd)
                _ = try? parent.removeTree(name)
                return
            }
            state.withLock { $0.ready.append((name, fd)) }
        }
    }

    /// The parent directory by descriptor, opened on first use (it may be a link the
    /// administrator made, to a larger disk) and kept.
    private func parentDirectory() throws(FileError) -> Directory {
        let result = state.withLock { state -> Result<Directory, FileError> in
            if let parent = state.parent { return .success(parent) }
            do throws(FileError) {
                let parent = try Directory.open(parentPath, followingLinks: true)
                state.parent = parent
                return .success(parent)
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}

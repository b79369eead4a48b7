import CSQLite
import Foundation

/// The daemon's durable state: jobs, their status transitions and the spool
/// claims, in one SQLite file on the system libsqlite3.
///
/// A value of this type always has the current schema: its initializer
/// configures the connection and runs the migrations. Writes are methods named
/// for what happened (``recordSubmission(_:)``, ``recordTransition(job:to:message:at:)``),
/// each one transaction on the single writer connection; reads use a separate
/// read-only connection and see a consistent snapshot (WAL lets them run while
/// a write is in progress). All methods block on disk I/O: call them off the
/// daemon's event queue.
public final class JobStore: Sendable {
    /// The database file.
    public let path: String
    private let writer: GuardedConnection
    private let reader: GuardedConnection

    /// Opens the database at `path`, creating it if needed, and brings its schema up to date.
    ///
    /// The directory must exist; creating it (and choosing its permissions) is the caller's job.
    /// The file itself, and its -wal and -shm files, are made 0600 and the caller's own, whatever
    /// the umask or an older version left: the database holds every job's Environment.
    /// - Parameter busyTimeoutMilliseconds: how long a statement waits for another process's
    ///   lock before failing with `busy`. Only a second daemon, or an operator's `sqlite3`
    ///   shell, can hold one; the daemon's own threads wait on the store's locks instead.
    /// - Throws: ``StoreError`` `cannotOpen`, `corrupt` (not a database), `busy`
    ///   (another process holds it), `schemaTooNew`, ...
    public init(path: String, busyTimeoutMilliseconds: Int = 5_000) throws(StoreError) {
        self.path = path
        try PrivateFiles.secureDatabase(at: path)
        let writer = try SQLiteConnection(path: path, readOnly: false)
        try writer.execute(
            "PRAGMA busy_timeout = \(busyTimeoutMilliseconds)", action: "configure the job database")
        // WAL: readers never block the writer, and a commit is one append to the log.
        let mode = try writer.query("PRAGMA journal_mode = WAL", action: "switch the job database to WAL") {
            row throws(StoreError) in row.text(0)
        }.first
        guard mode?.lowercased() == "wal" else {
            // SQLite keeps the old mode where WAL is impossible (e.g. a network file system).
            throw StoreError(
                .io, action: "switch the job database to WAL",
                message: "the file system refused write-ahead logging (journal mode stays '\(mode ?? "?")');"
                    + " keep the state directory on a local file system", path: path)
        }
        // Durability: with WAL, synchronous=NORMAL makes a commit durable against
        // a crash of the process (the log is in the kernel's page cache once
        // COMMIT returns), which is the failure trainingd must survive; a power
        // loss may lose the last commits but never corrupts the file, and the
        // jobs die with the machine anyway. Before the daemon acts outside the
        // database on a commit (answers CreateTrainingJob with an ARN, moves an
        // accepted spool file on), that commit is made durable: written with
        // FULL (``write(_:durable:_:)``), or followed by ``syncLog()`` once the
        // job has had its chance to start. Once per job, so fsync costs nothing there.
        try writer.execute("PRAGMA synchronous = NORMAL", action: "configure the job database")
        try writer.execute("PRAGMA foreign_keys = ON", action: "configure the job database")
        try Migrations.migrate(writer)

        // Opened after the migrations so that it never sees an older schema.
        let reader = try SQLiteConnection(path: path, readOnly: true)
        try reader.execute(
            "PRAGMA busy_timeout = \(busyTimeoutMilliseconds)", action: "configure the job database")
        self.writer = GuardedConnection(writer)
        self.reader = GuardedConnection(reader)
    }

    /// The wall clock in epoch seconds: the time of spool bookkeeping the caller does not date itself.
    public static var now: Double { Date().timeIntervalSince1970 }

    /// Runs `body` in one write transaction.
    /// - Parameter durable: sync the log to disk at commit (`synchronous=FULL`), for
    ///   commits the daemon acts upon outside the database.
    func write<T>(
        _ action: String, durable: Bool = false, _ body: (SQLiteConnection) throws(StoreError) -> T
    ) throws(StoreError) -> T {
        try writer.withConnection { db throws(StoreError) in
            if durable { try db.execute("PRAGMA synchronous = FULL", action: action) }
            defer { if durable { try? db.execute("PRAGMA synchronous = NORMAL", action: action) } }
            return try db.transaction(immediate: true, action: action) { () throws(StoreError) in try body(db) }
        }
    }

    /// Makes every commit so far durable against a power loss, as `durable: true` would have at
    /// each: one fdatasync of the write-ahead log (every commit's frames are in it, written,
    /// once COMMIT returns). For a commit made without it whose effects outside the database
    /// were held back until now: a job may start at once, and its spool file moves, or its
    /// CreateTrainingJob is answered, after this. Touches no lock: it may run beside writes.
    public func syncLog() throws(StoreError) {
        let log = path + "-wal"
        let fd = open(log, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 && errno == ENOENT {
            // No log (nothing written since it was last folded in): a checkpoint syncs what there is.
            try writer.withConnection { db throws(StoreError) in try db.execute("PRAGMA wal_checkpoint(FULL)", action: "sync the job database") }
            return
        }
        guard fd >= 0 else { throw StoreError(.io, action: "sync the job database", message: String(cString: strerror(errno)), path: log) }
        defer { close(fd) }
        guard fdatasync(fd) == 0 else {
            throw StoreError(.io, action: "sync the job database", message: "fdatasync: \(String(cString: strerror(errno)))", path: log)
        }
    }

    /// Runs `body` in one read transaction on the read-only connection: every
    /// query inside sees the same snapshot.
    func read<T>(_ action: String, _ body: (SQLiteConnection) throws(StoreError) -> T) throws(StoreError) -> T {
        try reader.withConnection { db throws(StoreError) in
            try db.transaction(immediate: false, action: action) { () throws(StoreError) in try body(db) }
        }
    }

    /// A pragma's value as text, read on the writer connection (for diagnostics and tests).
    func pragma(_ name: String) throws(StoreError) -> String? {
        try writer.withConnection { db throws(StoreError) in
            try db.query("PRAGMA \(name)", action: "read PRAGMA \(name)") { row throws(StoreError) in row.text(0) }
                .first
        }
    }

    /// The schema version of the file (`PRAGMA user_version`).
    func schemaVersion() throws(StoreError) -> Int64 {
        try writer.withConnection { db throws(StoreError) in try Migrations.userVersion(db) }
    }
}

/// One connection behind a lock: SQLite connections must not be used from two
/// threads at once. (`Synchronization.Mutex` would do, but needs macOS 15 and
/// the package still declares macOS 14.) `@unchecked` is sound because the
/// connection is private and only reached through the lock.
final class GuardedConnection: @unchecked Sendable {
    private let lock = NSLock()
    private let connection: SQLiteConnection

    init(_ connection: SQLiteConnection) { self.connection = connection }

    func withConnection<T>(_ body: (SQLiteConnection) throws(StoreError) -> T) throws(StoreError) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(connection)
    }
}

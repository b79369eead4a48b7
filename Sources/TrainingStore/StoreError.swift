/// A failure of the job store: what went wrong, what SQLite said, which file,
/// and (in ``description``) what the operator can do about it.
///
/// Compare ``code`` to decide what to do (`jobExists` becomes SageMaker's
/// `ResourceInUse`, `notFound` its "Requested resource not found."); codes are
/// static members rather than enum cases so that new ones do not break callers.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case jobExists, notFound, conflict, invalidArgument, constraint
            case busy, cannotOpen, readOnly, corrupt, full, io, schemaTooNew, `internal`
        }

        private let base: Base
        private init(_ base: Base) { self.base = base }

        public var description: String { base.rawValue }

        /// A job of that name already exists (SageMaker's `ResourceInUse`).
        public static let jobExists = Code(.jobExists)
        /// No job (or spool claim) matches.
        public static let notFound = Code(.notFound)
        /// The row exists but is in a state that forbids the change (an ended job, a finished claim).
        public static let conflict = Code(.conflict)
        /// The caller passed a value the store cannot keep (a bad page token, a non-finite metric).
        public static let invalidArgument = Code(.invalidArgument)
        /// The schema refused the data: a CHECK, NOT NULL or foreign key failed. A trainingd bug.
        public static let constraint = Code(.constraint)
        /// Another process holds the database lock for longer than the busy timeout.
        public static let busy = Code(.busy)
        /// The file cannot be opened or created.
        public static let cannotOpen = Code(.cannotOpen)
        /// The file (or its directory) is not writable.
        public static let readOnly = Code(.readOnly)
        /// The file is damaged or is not a trainingd database.
        public static let corrupt = Code(.corrupt)
        /// The file system is full.
        public static let full = Code(.full)
        /// The operating system reported an I/O error.
        public static let io = Code(.io)
        /// The database was written by a newer trainingd.
        public static let schemaTooNew = Code(.schemaTooNew)
        /// Anything else SQLite reports; a trainingd bug or misuse.
        public static let `internal` = Code(.internal)
    }

    /// The kind of failure; compare it with the static codes.
    public var code: Code
    /// What the store was doing, e.g. "record the transition of job 7".
    public var action: String
    /// SQLite's extended result code, when the failure came from SQLite.
    public var sqliteCode: Int32?
    /// SQLite's own message (`sqlite3_errmsg`), or the store's detail.
    public var message: String
    /// The database file.
    public var path: String

    /// A store error; `action` reads after "Could not" ("record job 'x'").
    public init(_ code: Code, action: String, message: String, path: String, sqliteCode: Int32? = nil) {
        self.code = code
        self.action = action
        self.message = message
        self.path = path
        self.sqliteCode = sqliteCode
    }

    /// One line for a log or a client: what failed, why, and what to do next.
    public var description: String {
        let sqlite = sqliteCode.map { " (SQLite \($0))" } ?? ""
        let what = "Could not \(action): \(message)\(sqlite)."
        return advice.isEmpty ? what : "\(what) \(advice)"
    }

    /// Whether the same write may succeed later without anyone changing the data: the disk
    /// was full or failed, the process ran out of descriptors or memory, another process held
    /// the lock. A caller that must not lose its input (the spool) keeps it and retries.
    public var isTransient: Bool {
        if code == .full || code == .io || code == .busy || code == .cannotOpen { return true }
        // SQLITE_NOMEM (7) maps to `internal`, but is the process's state, not the data's.
        return sqliteCode.map { $0 & 0xff == 7 } ?? false
    }

    /// What an operator can do about it; empty where the caller is the one to act.
    public var advice: String {
        switch code {
        case .jobExists:
            return "Choose another TrainingJobName, or delete the old job once it has ended."
        case .busy:
            return "The job database \(path) is locked by another process: is another trainingd running"
                + " with the same state directory? Stop it, or give this daemon its own state directory."
        case .cannotOpen, .readOnly:
            return "Check that the directory of \(path) exists and that the daemon's user can read and write"
                + " it and the files \(path), \(path)-wal and \(path)-shm."
        case .corrupt:
            return "\(path) is damaged or is not a trainingd database. Stop the daemon and move the file"
                + " (with its -wal and -shm files) aside: restore it from a backup, or let the daemon start"
                + " an empty one (`sqlite3 FILE .recover` may rescue rows)."
        case .full:
            return "Free space on the file system that holds \(path), then retry."
        case .io:
            return "The disk holding \(path) reported an error; check the kernel log (dmesg) and the disk."
        case .schemaTooNew:
            return "Run the newer trainingd that wrote \(path), or restore a backup made by this version."
        case .constraint, .internal:
            return "This is a trainingd bug; please report it with this message."
        default:
            return ""
        }
    }
}

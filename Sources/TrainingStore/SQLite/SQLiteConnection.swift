import CSQLite

/// A value bound to a statement parameter.
enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)

    static func optional(_ value: Int64?) -> SQLValue { value.map(SQLValue.integer) ?? .null }
    static func optional(_ value: Double?) -> SQLValue { value.map(SQLValue.real) ?? .null }
    static func optional(_ value: String?) -> SQLValue { value.map(SQLValue.text) ?? .null }
}

/// One open SQLite connection. Not thread-safe by itself: ``JobStore`` keeps
/// each connection behind its own lock, which is why the connection is opened
/// with `SQLITE_OPEN_NOMUTEX` (SQLite's own mutex would only be taken twice).
final class SQLiteConnection {
    let path: String
    private(set) var handle: OpaquePointer?
    /// Compiled statements by their SQL, reused: parsing was a sixth of the daemon's CPU per job.
    /// Bounded (queries built from filters vary); a statement in use is never handed out twice.
    private var cachedStatements: [String: Statement] = [:]
    private var statementsInUse: Set<String> = []
    static let statementCacheLimit = 128

    /// Opens (and, unless `readOnly`, creates) the database file.
    init(path: String, readOnly: Bool) throws(StoreError) {
        self.path = path
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        handle = db
        guard rc == SQLITE_OK else {
            // sqlite3_open_v2 hands back a handle even on failure; it carries the message.
            let error = self.error(rc, "open the job database")
            sqlite3_close_v2(db)
            handle = nil
            throw error
        }
        // Extended codes tell a UNIQUE violation from a CHECK failure.
        sqlite3_extended_result_codes(db, 1)
    }

    deinit {
        cachedStatements.removeAll()
        // close_v2 defers the close until every statement is finalized, so a
        // statement outliving its connection cannot crash.
        sqlite3_close_v2(handle)
    }

    /// Runs one or more statements without results (pragmas, migrations).
    func execute(_ sql: String, action: String) throws(StoreError) {
        var message: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &message)
        defer { sqlite3_free(message) }
        guard rc == SQLITE_OK else {
            throw error(rc, action, message: message.map { String(cString: $0) })
        }
    }

    /// Compiles one statement.
    func prepare(_ sql: String, action: String) throws(StoreError) -> Statement {
        var statement: OpaquePointer?
        let rc = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw error(rc, action) }
        return Statement(statement, connection: self, action: action)
    }

    /// Runs `body` with the compiled statement for `sql`, from the cache when it is there and free,
    /// bound to `values`; the statement is reset (and its bindings cleared) afterwards.
    private func withStatement<T>(_ sql: String, _ values: [SQLValue], action: String,
                                  _ body: (Statement) throws(StoreError) -> T) throws(StoreError) -> T {
        let reusable = !statementsInUse.contains(sql)
        let statement: Statement
        if reusable, let cached = cachedStatements[sql] {
            statement = cached
        } else {
            statement = try prepare(sql, action: action)
            if reusable {
                if cachedStatements.count >= Self.statementCacheLimit { cachedStatements.removeAll() }
                cachedStatements[sql] = statement
            }
        }
        if reusable { statementsInUse.insert(sql) }
        statement.action = action
        defer {
            statement.reset()
            if reusable { statementsInUse.remove(sql) }
        }
        try statement.bind(values)
        return try body(statement)
    }

    /// Runs a statement that returns no rows; answers how many rows it changed.
    @discardableResult
    func run(_ sql: String, _ values: [SQLValue] = [], action: String) throws(StoreError) -> Int {
        try withStatement(sql, values, action: action) { (statement) throws(StoreError) in
            while try statement.step() {}
            return Int(sqlite3_changes(handle))
        }
    }

    /// Runs a query and maps every row.
    func query<T>(
        _ sql: String, _ values: [SQLValue] = [], action: String,
        row: (Statement) throws(StoreError) -> T
    ) throws(StoreError) -> [T] {
        try withStatement(sql, values, action: action) { (statement) throws(StoreError) in
            var rows: [T] = []
            while try statement.step() { rows.append(try row(statement)) }
            return rows
        }
    }

    /// The first column of the first row, as an integer.
    func scalar(_ sql: String, _ values: [SQLValue] = [], action: String) throws(StoreError) -> Int64? {
        try query(sql, values, action: action) { row throws(StoreError) in row.optionalInt64(0) }.first ?? nil
    }

    var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Runs `body` in one transaction: committed if it returns, rolled back if it throws.
    ///
    /// Writers use `IMMEDIATE` so that the write lock is taken at `BEGIN`: a
    /// deferred transaction that reads first and then writes can fail with
    /// SQLITE_BUSY without waiting when another connection wrote in between.
    func transaction<T>(immediate: Bool, action: String, _ body: () throws(StoreError) -> T) throws(StoreError) -> T {
        try run(immediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED", action: action)
        do {
            let result = try body()
            try run("COMMIT", action: action)
            return result
        } catch {
            // A failed COMMIT may already have ended the transaction; ROLLBACK then fails harmlessly.
            _ = sqlite3_exec(handle, "ROLLBACK", nil, nil, nil)
            throw error
        }
    }

    /// A ``StoreError`` for result code `rc`, with SQLite's current message unless one is given.
    func error(_ rc: Int32, _ action: String, message: String? = nil) -> StoreError {
        let extended = handle.map { sqlite3_extended_errcode($0) } ?? rc
        let code = (extended & 0xff) == (rc & 0xff) ? extended : rc
        let text =
            message ?? handle.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) }
            ?? String(cString: sqlite3_errstr(rc))
        return StoreError(Self.storeCode(for: code), action: action, message: text, path: path, sqliteCode: code)
    }

    /// Maps a SQLite result code to the store's codes.
    static func storeCode(for rc: Int32) -> StoreError.Code {
        switch rc & 0xff {
        case SQLITE_BUSY, SQLITE_LOCKED: return .busy
        case SQLITE_CANTOPEN, SQLITE_PERM, SQLITE_AUTH: return .cannotOpen
        case SQLITE_READONLY: return .readOnly
        case SQLITE_CORRUPT, SQLITE_NOTADB: return .corrupt
        case SQLITE_FULL: return .full
        case SQLITE_IOERR: return .io
        case SQLITE_CONSTRAINT: return .constraint
        default: return .internal
        }
    }
}

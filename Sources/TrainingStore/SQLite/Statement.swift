import CSQLite

/// A compiled statement: bind values, step through rows, read columns.
/// Finalized when the last reference goes away.
final class Statement {
    private let handle: OpaquePointer
    /// Unowned: the connection caches its statements, and outlives them (it finalizes them first).
    private unowned let connection: SQLiteConnection
    /// What errors say was being done: set by each user of a cached statement.
    var action: String

    /// SQLite copies text bound with SQLITE_TRANSIENT before the call returns, so
    /// the Swift string's temporary buffer may go away. The macro is not imported.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    init(_ handle: OpaquePointer, connection: SQLiteConnection, action: String) {
        self.handle = handle
        self.connection = connection
        self.action = action
    }

    deinit { sqlite3_finalize(handle) }

    /// Binds `values` to parameters 1, 2, ... in order.
    func bind(_ values: [SQLValue]) throws(StoreError) {
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let rc: Int32
            switch value {
            case .null: rc = sqlite3_bind_null(handle, index)
            case .integer(let number): rc = sqlite3_bind_int64(handle, index, number)
            case .real(let number): rc = sqlite3_bind_double(handle, index, number)
            // An explicit byte count keeps any NUL inside the text.
            case .text(let text): rc = sqlite3_bind_text(handle, index, text, Int32(text.utf8.count), Self.transient)
            }
            guard rc == SQLITE_OK else { throw connection.error(rc, action) }
        }
    }

    /// Makes the statement ready to run again, with no values bound.
    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    /// Advances to the next row; false when the statement is done.
    func step() throws(StoreError) -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw connection.error(rc, action)
        }
    }

    func isNull(_ column: Int32) -> Bool { sqlite3_column_type(handle, column) == SQLITE_NULL }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    func optionalInt64(_ column: Int32) -> Int64? { isNull(column) ? nil : int64(column) }

    func double(_ column: Int32) -> Double { sqlite3_column_double(handle, column) }

    func optionalDouble(_ column: Int32) -> Double? { isNull(column) ? nil : double(column) }

    func text(_ column: Int32) -> String {
        guard let bytes = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    func optionalText(_ column: Int32) -> String? { isNull(column) ? nil : text(column) }
}

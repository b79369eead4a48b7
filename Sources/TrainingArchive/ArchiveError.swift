import Glibc

/// An archive that could not be written, with the path it was about, what was being done and errno.
public struct ArchiveError: Error, Sendable, CustomStringConvertible {
    /// What was being done, as a verb phrase: "read", "write", "compress".
    public var operation: String
    /// The file or directory concerned; empty for the archive itself.
    public var path: String
    /// The errno, or 0 when a check refused the file.
    public var errorNumber: Int32
    /// What went wrong when it was not a system call's failure.
    public var reason: String?

    public init(_ operation: String, _ path: String, errno errorNumber: Int32, reason: String? = nil) {
        self.operation = operation
        self.path = path
        self.errorNumber = errorNumber
        self.reason = reason
    }

    public var description: String {
        let cause = reason ?? String(cString: strerror(errorNumber))
        return path.isEmpty ? "cannot \(operation) the archive: \(cause)" : "cannot \(operation) \(path): \(cause)"
    }
}

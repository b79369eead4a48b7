import Glibc

/// A file operation that failed, with the path (for messages), what was being done and errno.
public struct FileError: Error, Sendable, CustomStringConvertible {
    /// What was being done, as a verb phrase: "open the directory", "remove".
    public var operation: String
    /// The path the operation was about, for people (the operation itself used descriptors).
    public var path: String
    /// The errno, or 0 when a check (owner, type, size) refused the file.
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
        return "cannot \(operation) \(path): \(cause)"
    }
}

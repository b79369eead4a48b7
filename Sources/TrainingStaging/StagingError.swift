import Foundation
public import TrainingObjectStore

/// Why staging, packaging or a volume operation failed: what was being done, to which path, and the errno.
public struct StagingError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable, Codable {
        /// The data or the destination is not usable as given (missing, unreadable, no space): a ClientError.
        case client
        /// Something on the host failed that is not the job's fault: an InternalServerError.
        case platform
    }

    public var code: Code
    public var message: String
    public var path: String?
    public var errno: Int32?

    public init(_ code: Code, _ message: String, path: String? = nil, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.errno = errno
    }

    /// An error for a failed system call on `path`, in words a user can act on.
    static func system(_ action: String, _ path: String, _ code: Int32, blame: Code? = nil) -> StagingError {
        let reason = String(cString: strerror(code))
        let blamed = blame ?? ([EACCES, EPERM, ENOENT, ENOTDIR, ENOSPC, EDQUOT, EROFS, ELOOP].contains(code) ? .client : .platform)
        return StagingError(blamed, "cannot \(action) \(path): \(reason)", path: path, errno: code)
    }

    /// A store's failure as staging's: the owner's to fix (ClientError) or the platform's.
    public init(_ error: StorageError) {
        self.init(error.isClientError ? .client : .platform, error.message, path: error.location, errno: error.errno == 0 ? nil : error.errno)
    }

    public var description: String { message }
}

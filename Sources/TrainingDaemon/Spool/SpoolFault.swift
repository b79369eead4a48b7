import Foundation
import TrainingCore

/// Why a spool file could not be dealt with. Only `unusable` is the file's fault and leads to
/// its rejection; `deferred` is the daemon's or the system's state (out of descriptors,
/// memory or disk, a failing disk, a database that cannot be written), and the file is kept
/// and tried again: a valid definition is never refused because the moment was bad.
enum SpoolFault: Error, CustomStringConvertible {
    /// Try the same file again later; the text says what failed, for the log.
    case deferred(String)
    /// The file itself is bad (a symbolic link, a FIFO, too large...): the issue for its report.
    case unusable(ValidationIssue)

    var description: String {
        switch self {
        case .deferred(let reason): reason
        case .unusable(let issue): issue.message
        }
    }

    /// A failure of `operation` on `path` with `code`: deferred when the same call may work
    /// later without anyone touching the file, unusable otherwise.
    static func system(_ operation: String, _ path: String, _ code: Int32) -> SpoolFault {
        let text = "cannot \(operation) \(path): \(String(cString: strerror(code)))"
        return isTransient(code) ? .deferred(text) : .unusable(ValidationIssue(path: "", code: .unreadable, message: text))
    }

    /// Errors that say something about this process or machine at this moment, not about the file.
    static func isTransient(_ code: Int32) -> Bool {
        [EMFILE, ENFILE, ENOMEM, EIO, EAGAIN, EINTR, ENOBUFS, ENOSPC, EDQUOT].contains(code)
    }
}

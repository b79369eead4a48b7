import Foundation
import TrainingCore
import TrainingStore

/// How an algorithm's failure is reported: SageMaker's FailureReason, and the details it cannot hold.
enum FailureReport {
    /// SageMaker's FailureReason maximum, in characters (Unicode scalars, as the API counts them).
    static let reasonLimit = 1024
    /// How many of the log's last lines the details keep, and how many bytes of the log's end are read for them.
    static let logTailLines = 20
    static let logTailBytes = 16 * 1024

    /// `AlgorithmError: <failure text>, exit code: N` within ``reasonLimit``: the failure text is
    /// SageMaker's first 1,024 characters of the file, cut further so that the exit code always fits.
    static func algorithmErrorReason(failureText: String, exitCode: Int32) -> String {
        let prefix = FailureKind.algorithmError.rawValue + ": "
        let suffix = ", exit code: \(exitCode)"
        let room = reasonLimit - prefix.unicodeScalars.count - suffix.unicodeScalars.count
        var text = String.UnicodeScalarView(failureText.unicodeScalars.prefix(reasonLimit))
        if text.count > room { text = String.UnicodeScalarView(text.prefix(room)) }
        return prefix + String(text) + suffix
    }

    /// The failure file's text, trimmed; nil when it is empty.
    static func failureText(_ bytes: [UInt8]) -> String? {
        let text = String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return text.isEmpty ? nil : text
    }

    /// The last ``logTailLines`` lines of a host's log (in the daemon's own logs directory), read
    /// from the end and bounded in bytes. The log is opened with O_NOFOLLOW and O_NONBLOCK and
    /// believed only as a regular file, as the log readers of the control API do.
    static func logTail(_ path: String, lines: Int = logTailLines, bytes limit: Int = logTailBytes) -> [String] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard descriptor >= 0 else { return [] }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return [] }
        let size = Int(info.st_size)
        let start = max(0, size - limit)
        var buffer = [UInt8](repeating: 0, count: size - start)
        var filled = 0
        while filled < buffer.count {
            let count = buffer.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + filled, $0.count - filled, off_t(start + filled)) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            filled += count
        }
        var all = String(decoding: buffer[..<filled], as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if all.last == "" { all.removeLast() }
        // A read that starts mid-file starts mid-line: that partial line is left out.
        if start > 0, !all.isEmpty { all.removeFirst() }
        return Array(all.suffix(lines))
    }
}

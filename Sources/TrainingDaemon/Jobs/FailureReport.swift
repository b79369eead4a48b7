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
    /// from the end and bounded in bytes, through ``LogFile`` as the control API's readers do.
    static func logTail(_ path: String, lines: Int = logTailLines, bytes limit: Int = logTailBytes) -> [String] {
        ((try? LogFile.open(path)) ?? nil)?.lastLines(lines, bytes: limit) ?? []
    }
}

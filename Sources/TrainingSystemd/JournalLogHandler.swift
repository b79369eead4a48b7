import CSystemd
import Glibc
public import Logging

/// A swift-log backend that writes structured records to the journal with sd_journal_sendv(3)
/// (the variadic sd_journal_send cannot be called from Swift).
///
/// Each record carries MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, the code location, and every
/// metadata value as a field of its own: `job` becomes `TRAININGD_JOB`, `host` `TRAININGD_HOST`,
/// so `journalctl -u trainingd TRAININGD_JOB=name` shows one job's records.
public struct JournalLogHandler: SharedThresholdHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public let threshold: LogThreshold
    private let identifier: String

    public init(identifier: String, threshold: LogThreshold) {
        self.identifier = identifier
        self.threshold = threshold
    }

    public func log(event: LogEvent) {
        let metadata = metadata(of: event)
        // libsystemd drops a record silently when the socket is missing (journald stopped), so look first.
        if access(Self.socketPath, F_OK) == 0, Self.send(Self.fields(event: event, identifier: identifier, metadata: metadata)) >= 0 {
            return
        }
        // The journal cannot take it: stderr, which systemd also reads, keeps the record as a plain line.
        StderrLogHandler.write(StderrLogHandler.line(identifier: identifier, level: event.level, message: "\(event.message)", metadata: metadata))
    }

    /// The record's `KEY=value` fields, in the order sent.
    static func fields(event: LogEvent, identifier: String, metadata: Logger.Metadata) -> [String] {
        var fields = [
            "MESSAGE=\(event.message)",
            "PRIORITY=\(event.level.syslogPriority)",
            "SYSLOG_IDENTIFIER=\(identifier)",
            "CODE_FILE=\(event.file)",
            "CODE_LINE=\(event.line)",
            "CODE_FUNC=\(event.function)",
        ]
        for (key, value) in metadata.sorted(by: { $0.key < $1.key }) {
            fields.append("\(journalFieldName(key))=\(value)")
        }
        return fields
    }

    /// Journal field names are upper-case letters, digits and underscores, not starting with `_`
    /// (reserved for trusted fields) or a digit; ours are prefixed so they never clash with systemd's.
    static func journalFieldName(_ key: String) -> String {
        let cleaned = key.uppercased().unicodeScalars.map { scalar -> Character in
            ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) ? Character(scalar) : "_"
        }
        return "TRAININGD_" + String(cleaned)
    }

    static let socketPath = "/run/systemd/journal/socket"

    /// sd_journal_sendv's result: negative errno when the journal could not take the record.
    static func send(_ fields: [String]) -> Int32 {
        let buffers = fields.map { Array($0.utf8) }
        var pointers: [UnsafeMutablePointer<UInt8>] = []
        defer { pointers.forEach { $0.deallocate() } }
        var vectors = buffers.map { bytes -> iovec in
            let pointer = UnsafeMutablePointer<UInt8>.allocate(capacity: max(bytes.count, 1))
            pointer.initialize(from: bytes, count: bytes.count)
            pointers.append(pointer)
            return iovec(iov_base: UnsafeMutableRawPointer(pointer), iov_len: bytes.count)
        }
        return sd_journal_sendv(&vectors, Int32(vectors.count))
    }
}

extension Logger.Level {
    /// syslog(3) priorities, as the journal's PRIORITY field wants them.
    var syslogPriority: Int {
        switch self {
        case .trace, .debug: return 7
        case .info: return 6
        case .notice: return 5
        case .warning: return 4
        case .error: return 3
        case .critical: return 2
        }
    }
}

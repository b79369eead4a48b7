import Glibc
public import Logging

/// A swift-log backend for standard error when it is not the journal: one line per record,
/// `trainingd: <level>: <message> key=value ...`, written with a single write(2) so lines from
/// different threads do not interleave.
public struct StderrLogHandler: SharedThresholdHandler {
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?
    public let threshold: LogThreshold
    private let identifier: String

    public init(identifier: String, threshold: LogThreshold) {
        self.identifier = identifier
        self.threshold = threshold
    }

    public func log(event: LogEvent) {
        Self.write(Self.line(identifier: identifier, level: event.level, message: "\(event.message)", metadata: metadata(of: event)))
    }

    static func write(_ line: String) {
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { buffer in _ = Glibc.write(STDERR_FILENO, buffer.baseAddress, buffer.count) }
    }

    static func line(identifier: String, level: Logger.Level, message: String, metadata: Logger.Metadata) -> String {
        let context = metadata.sorted(by: { $0.key < $1.key }).map { " \($0.key)=\($0.value)" }.joined()
        return "\(identifier): \(level): \(message)\(context)\n"
    }
}

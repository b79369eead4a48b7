/// What a failed job's FailureReason leaves out: the algorithm's whole failure file and the last
/// lines of its log. DescribeTrainingJob shows them as `TrainingdFailureDetails`.
public struct FailureDetails: Sendable, Equatable {
    /// The most of /opt/ml/output/failure that is kept.
    public static let failureFileLimit = 64 * 1024

    /// The failure file's text (at most ``failureFileLimit`` bytes of UTF-8), when the algorithm wrote one.
    public var failureFile: String?
    /// The last lines of the failed host's log, oldest first.
    public var logTail: [String]

    public init(failureFile: String?, logTail: [String]) {
        self.failureFile = failureFile.map(Self.bounded)
        self.logTail = logTail
    }

    /// At most ``failureFileLimit`` bytes, cut at a character boundary.
    static func bounded(_ text: String) -> String {
        guard text.utf8.count > failureFileLimit else { return text }
        var end = text.utf8.index(text.utf8.startIndex, offsetBy: failureFileLimit)
        while end.samePosition(in: text) == nil { end = text.utf8.index(before: end) }
        return String(text[..<end])
    }
}

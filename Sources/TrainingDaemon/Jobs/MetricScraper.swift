import Foundation
import TrainingCore
import TrainingStore

/// Applies a job's MetricDefinitions to its log lines: the first capture group is the value.
struct MetricScraper {
    private let definitions: [(name: String, regex: NSRegularExpression)]
    private(set) var latest: [String: FinalMetric] = [:]
    /// Every value of every metric, in log order.
    private(set) var series: [String: [FinalMetric]] = [:]

    init(_ definitions: [MetricDefinition]) {
        self.definitions = definitions.compactMap { definition in
            (try? NSRegularExpression(pattern: definition.regex)).map { (definition.name, $0) }
        }
    }

    var isEmpty: Bool { definitions.isEmpty }

    /// Reads one keeper log line (`<ISO 8601 time> <out|err> <text>`).
    mutating func scan(logLine: Substring) {
        let parts = logLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3 else { return }
        scan(text: String(parts[2]), at: Self.parseTime(parts[0]) ?? Date().timeIntervalSince1970)
    }

    mutating func scan(text: String, at time: Double) {
        let range = NSRange(text.startIndex..., in: text)
        for (name, regex) in definitions {
            guard let match = regex.firstMatch(in: text, range: range), match.numberOfRanges > 1,
                let valueRange = Range(match.range(at: 1), in: text), let value = Double(text[valueRange])
            else { continue }
            let point = FinalMetric(metricName: name, value: value, timestamp: time)
            latest[name] = point
            series[name, default: []].append(point)
        }
    }

    /// Every log file of a host, oldest (rotated) part first, a page at a time; a log that is not
    /// a regular file (a planted link or FIFO) is not read.
    mutating func scan(logFile path: String) {
        try? LogFile.forEachLine(ofLog: path) { scan(logLine: Substring($0)) }
    }

    var finalMetrics: [FinalMetric] { latest.values.sorted { $0.metricName < $1.metricName } }

    // ISO8601DateFormatter is documented as thread-safe; it is only read after creation.
    nonisolated(unsafe) private static let formatter: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()

    static func parseTime(_ text: Substring) -> Double? {
        formatter.date(from: String(text))?.timeIntervalSince1970
    }
}

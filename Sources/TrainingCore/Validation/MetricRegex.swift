import Foundation

/// Metric regexes are matched against log lines with ICU's engine (NSRegularExpression),
/// whose syntax is close to the Python `re` patterns SageMaker users write.
public enum MetricRegex {
    /// Why `pattern` cannot be used as a metric regex, or nil when it can.
    public static func problem(with pattern: String) -> String? {
        do {
            let regex = try NSRegularExpression(pattern: pattern)
            return regex.numberOfCaptureGroups >= 1 ? nil : "it needs a capture group around the value, e.g. loss=([0-9.]+)"
        } catch {
            return "it does not compile"
        }
    }
}

/// Why a configuration file cannot be used: which file, which key, and what to do.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case unreadable
        case syntax
        case unknownKey
        case badValue
        case algorithm
    }

    public var code: Code
    public var file: String
    /// The key as `section.key` (`jobs.stop_grace_period_seconds`), or nil for the file as a whole.
    public var key: String?
    public var message: String

    public init(_ code: Code, file: String, key: String? = nil, _ message: String) {
        self.code = code
        self.file = file
        self.key = key
        self.message = message
    }

    public var description: String {
        if let key { return "\(file): \(key): \(message)" }
        return "\(file): \(message)"
    }
}

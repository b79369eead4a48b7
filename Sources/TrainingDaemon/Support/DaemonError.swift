import Foundation

/// Why the daemon cannot start or go on, with the path and errno involved and what to do.
public struct DaemonError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case configuration
        case alreadyRunning
        case filesystem
        case database
        case socketPath
        case runtime
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    static func system(_ action: String, _ path: String, _ errno: Int32) -> DaemonError {
        DaemonError(.filesystem, "cannot \(action) \(path): \(String(cString: strerror(errno)))")
    }

    public var description: String { message }
}

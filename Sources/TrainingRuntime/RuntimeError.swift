import Glibc

/// An error of the process runtime: what failed, on which path, with which errno, and what to do next.
public struct RuntimeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure. New codes may be added: switch over it with a `default`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidSpec, keeperNotFound, spawnFailed, pidfdFailed, signalFailed, statusUnreadable
        }
        private let base: Base

        /// The launch spec cannot be passed to the keeper as it is.
        public static let invalidSpec = Code(base: .invalidSpec)
        /// No executable `trainingd-keeper` where it was looked for.
        public static let keeperNotFound = Code(base: .keeperNotFound)
        /// posix_spawn of the keeper failed.
        public static let spawnFailed = Code(base: .spawnFailed)
        /// The keeper was spawned but no pidfd could be opened for it (it has been killed).
        public static let pidfdFailed = Code(base: .pidfdFailed)
        /// A signal could not be delivered to the keeper.
        public static let signalFailed = Code(base: .signalFailed)
        /// The keeper ended without a readable status file.
        public static let statusUnreadable = Code(base: .statusUnreadable)

        /// The code's name, such as `keeperNotFound`.
        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// The file or program concerned, if any.
    public var path: String?
    /// The system error number, if a system call failed.
    public var errorNumber: Int32?
    /// What happened and what to do about it.
    public var message: String

    /// Creates an error; `message` should say what to do next.
    public init(_ code: Code, path: String? = nil, errorNumber: Int32? = nil, message: String) {
        self.code = code
        self.path = path
        self.errorNumber = errorNumber
        self.message = message
    }

    /// The code, the message, the path and the errno with its text.
    public var description: String {
        var text = "\(code): \(message)"
        if let path { text += " [path: \(path)]" }
        if let errorNumber { text += " [errno \(errorNumber): \(String(cString: strerror(errorNumber)))]" }
        return text
    }
}

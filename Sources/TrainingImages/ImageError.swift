/// Why the local image store could not answer.
public struct ImageError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable {
        /// The image tool could not be run, failed, or printed what it should not.
        case toolFailed
        /// The store uses a storage driver whose layers trainingd cannot stack (not overlay).
        case unsupportedStorage
    }

    public var kind: Kind
    public var message: String
    public var path: String?

    public init(_ kind: Kind, message: String, path: String? = nil) {
        self.kind = kind
        self.message = message
        self.path = path
    }

    public var description: String { message }
}

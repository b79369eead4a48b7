/// One reason a definition is refused, with the field it concerns.
public struct ValidationIssue: Error, Sendable, Equatable, Hashable, Codable {
    /// What kind of rule was broken; stable, for tools that match on it.
    public enum Code: String, Sendable, Codable, CaseIterable {
        case unreadable
        case tooLarge
        case syntax
        case duplicateKey
        case notAnObject
        case unknownMember
        case missingMember
        case wrongType
        case length
        case pattern
        case enumValue
        case range
        case conflict
        case notUnique
        case unsupported
        /// A check that depends on the daemon's configuration (images, algorithms, file systems).
        case site
        case resourceInUse
        /// More than this machine can give the job (SageMaker's ResourceLimitExceeded).
        case resourceLimitExceeded
        /// The submitter may not ask for this (a raised priority without being an administrator).
        case accessDenied
    }

    /// The field in ``FieldPath`` style; empty for the document as a whole.
    public var path: String
    public var code: Code
    /// The full sentence shown to users.
    public var message: String

    public init(path: FieldPath, code: Code, message: String) {
        self.path = path.description
        self.code = code
        self.message = message
    }

    public init(path: String, code: Code, message: String) {
        self.path = path
        self.code = code
        self.message = message
    }

    /// SageMaker's sentence for a broken constraint:
    /// `Value 'x' at 'path' failed to satisfy constraint: Member must ...`.
    static func constraint(_ value: JSONValue?, at path: FieldPath, _ code: Code, _ rule: String) -> ValidationIssue {
        ValidationIssue(
            path: path, code: code,
            message: "Value \(quote(value)) at '\(path)' failed to satisfy constraint: \(rule)")
    }

    /// A value as SageMaker quotes it; long values are shortened so that messages stay readable.
    static func quote(_ value: JSONValue?) -> String {
        guard let value else { return "null" }
        let text: String
        switch value {
        case .null: return "null"
        case .string(let string): text = string
        default: text = value.serialized()
        }
        let limit = 100
        guard text.count > limit else { return "'\(text)'" }
        return "'\(text.prefix(limit))...' (\(text.count) characters)"
    }
}

/// The outcome of validating one definition: the schema of `jobctl validate --json`
/// and of the spool's `<file>.error.json`.
public struct ValidationReport: Sendable, Equatable, Codable {
    /// The file (or `-` for standard input) the definition came from.
    public var file: String?
    public var valid: Bool
    /// The API error type a request with these issues gets: `ValidationException`, or `ResourceInUse`.
    public var errorType: String?
    /// All issues in one SageMaker-style sentence: `2 validation errors detected: ...; ...`.
    public var message: String?
    public var errors: [ValidationIssue]

    public init(file: String?, issues: [ValidationIssue]) {
        self.file = file
        self.valid = issues.isEmpty
        self.errors = issues
        self.errorType = issues.isEmpty ? nil
            : issues.contains { $0.code == .resourceInUse } ? "ResourceInUse"
            : issues.contains { $0.code == .accessDenied } ? "AccessDeniedException"
            : issues.contains { $0.code == .resourceLimitExceeded } ? "ResourceLimitExceeded" : "ValidationException"
        self.message = issues.isEmpty ? nil : Self.summary(of: issues)
    }

    /// `1 validation error detected: <message>` / `N validation errors detected: <m1>; <m2>`.
    public static func summary(of issues: [ValidationIssue]) -> String {
        let count = issues.count
        return "\(count) validation error\(count == 1 ? "" : "s") detected: "
            + issues.map(\.message).joined(separator: "; ")
    }

    /// The report as JSON text, one line, no escaped slashes.
    public func jsonText(pretty: Bool = false) -> String {
        var members: [JSONValue.Member] = []
        if let file { members.append(.init("file", .string(file))) }
        members.append(.init("valid", .bool(valid)))
        if let errorType { members.append(.init("errorType", .string(errorType))) }
        if let message { members.append(.init("message", .string(message))) }
        members.append(.init("errors", .array(errors.map {
            .object([.init("path", .string($0.path)), .init("code", .string($0.code.rawValue)), .init("message", .string($0.message))])
        })))
        return JSONValue.object(members).serialized(pretty ? .pretty : .compact)
    }
}

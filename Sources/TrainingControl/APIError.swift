import TrainingCore

/// An error answer of the control API: SageMaker's `{"__type": ..., "message": ...}`, with HTTP 400
/// (or the status of a connection-level limit, ``Kind/httpStatus``).
public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The `__type` values trainingd answers with.
    public enum Kind: String, Sendable, CaseIterable {
        case validation = "ValidationException"
        case resourceInUse = "ResourceInUse"
        case resourceNotFound = "ResourceNotFound"
        case resourceLimitExceeded = "ResourceLimitExceeded"
        case accessDenied = "AccessDeniedException"
        case serialization = "SerializationException"
        case unknownOperation = "UnknownOperationException"
        case internalFailure = "InternalFailure"
        /// The daemon is at a limit (connections, request bodies in flight): retry later.
        case throttling = "ThrottlingException"
        /// A request was begun but not finished within the idle timeout.
        case requestTimeout = "RequestTimeoutException"
        /// A request body over the size cap, refused without being read.
        case requestTooLarge = "RequestEntityTooLargeException"
        /// The TCP API's refusals of a request's signature, as AWS answers them.
        case missingAuthenticationToken = "MissingAuthenticationTokenException"
        case incompleteSignature = "IncompleteSignatureException"
        case invalidSignature = "InvalidSignatureException"
        case unrecognizedClient = "UnrecognizedClientException"
        /// CloudWatch Logs' own names (its operations answer with these, not SageMaker's).
        case invalidParameter = "InvalidParameterException"
        case logsResourceNotFound = "ResourceNotFoundException"

        /// The HTTP status the error is answered with: 400 except for the connection-level limits.
        public var httpStatus: Int {
            switch self {
            case .throttling: 503
            case .requestTimeout: 408
            case .requestTooLarge: 413
            default: 400
            }
        }
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// DescribeTrainingJob's answer for an unknown name, as SageMaker words it.
    public static func notFound(_ name: String) -> APIError {
        APIError(.validation, "Requested resource not found. (no training job named \(name))")
    }

    public var description: String { "\(kind.rawValue): \(message)" }

    /// The JSON body.
    public var body: String {
        var text = "{\"__type\":"
        JSONValue.writeString(kind.rawValue, into: &text)
        text += ",\"message\":"
        JSONValue.writeString(message, into: &text)
        return text + "}"
    }

    /// Reads an error body; nil when it is not one.
    public init?(body: [UInt8]) {
        guard let document = try? StrictJSONParser.parse(body), let type = document["__type"]?.stringValue else { return nil }
        kind = Kind(rawValue: type) ?? .internalFailure
        message = document["message"]?.stringValue ?? type
    }
}

import Foundation
import TrainingControl
import TrainingCore

/// Who is calling, from the socket's SO_PEERCRED.
struct Peer: Sendable, Equatable {
    var pid: Int32
    var uid: UInt32
    var gid: UInt32
}

/// One request of the control API, as the HTTP layer hands it over.
struct APIRequest: Sendable {
    var target: String
    var body: [UInt8]
    var peer: Peer
}

/// What a handler answers.
enum APIResponse: Sendable {
    case json(JSONValue)
    case error(APIError)
    /// A chunked stream: the producer calls `write` for each piece and `finish` once.
    case stream(@Sendable (_ write: @escaping @Sendable ([UInt8]) -> Void, _ finish: @escaping @Sendable () -> Void) -> Void)
}

extension APIRequest {
    /// The body as a JSON object, or the SerializationException SageMaker answers for a malformed one.
    func document() throws(APIError) -> JSONValue {
        if body.isEmpty { return .object([]) }
        let document: JSONValue
        do {
            document = try StrictJSONParser.parse(body)
        } catch {
            throw APIError(.serialization, "the request body is not valid JSON: \(error)")
        }
        guard case .object = document else {
            throw APIError(.serialization, "the request body must be a JSON object, not \(document.typeName == "array" ? "an" : "a") \(document.typeName)")
        }
        return document
    }

    /// A required string member, with SageMaker's message when it is missing.
    func string(_ member: String, in document: JSONValue) throws(APIError) -> String {
        guard let value = document[member] else {
            throw APIError(.validation, "1 validation error detected: Value null at '\(FieldPath(stringLiteral: member))' failed to satisfy constraint: Member must not be null")
        }
        guard let text = value.stringValue else {
            throw APIError(.validation, "1 validation error detected: Value at '\(FieldPath(stringLiteral: member))' failed to satisfy constraint: Member must be a string")
        }
        return text
    }
}

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
    /// A chunked stream, produced into the sink it is given.
    case stream(@Sendable (StreamSink) -> Void)
}

/// Where a streaming answer goes: its chunks, its end, and word that the client went away,
/// so that producers stop (and unsubscribe) instead of writing into a closed connection.
final class StreamSink: @unchecked Sendable {
    private let lock = NSLock()
    private var cancelHandlers: [@Sendable () -> Void] = []
    private var cancelled = false
    /// Writes a chunk; the closure, when given, runs once the chunk has left the daemon (or failed).
    private let writeChunk: @Sendable ([UInt8], (@Sendable () -> Void)?) -> Void
    private let end: @Sendable () -> Void

    init(write: @escaping @Sendable ([UInt8], (@Sendable () -> Void)?) -> Void, finish: @escaping @Sendable () -> Void) {
        writeChunk = write
        end = finish
    }

    func write(_ bytes: [UInt8]) { if !isCancelled { writeChunk(bytes, nil) } }

    /// Writes a chunk and calls `written` once it is on the socket (at once if the client has gone):
    /// a producer that writes its next chunk only then keeps one chunk in memory, however slow the reader.
    func write(_ bytes: [UInt8], then written: @escaping @Sendable () -> Void) {
        if isCancelled { return written() }
        writeChunk(bytes, written)
    }
    func finish() { if !isCancelled { end() } }

    var isCancelled: Bool { lock.withLock { cancelled } }

    /// Runs `handler` when the client goes away (at once if it already has).
    func onCancel(_ handler: @escaping @Sendable () -> Void) {
        let runNow = lock.withLock { () -> Bool in
            if cancelled { return true }
            cancelHandlers.append(handler)
            return false
        }
        if runNow { handler() }
    }

    func cancel() {
        let handlers = lock.withLock { () -> [@Sendable () -> Void] in
            guard !cancelled else { return [] }
            cancelled = true
            defer { cancelHandlers = [] }
            return cancelHandlers
        }
        handlers.forEach { $0() }
    }
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

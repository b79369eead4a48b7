import Foundation
public import TrainingCore

/// Why a call to the daemon failed.
public enum ClientError: Error, Sendable, CustomStringConvertible {
    /// Nothing answers at the socket path.
    case unreachable(path: String, errno: Int32)
    /// The daemon answered with an API error.
    case api(APIError)
    /// The daemon accepted the connection but did not answer in time.
    case noAnswer(path: String, seconds: Double)
    /// The answer was not HTTP or JSON as expected.
    case protocolError(String)

    public var description: String {
        switch self {
        case .unreachable(let path, let code):
            return "cannot connect to trainingd at \(path) (\(String(cString: strerror(code)))); is the daemon running? "
                + "Start it with `trainingd --root DIR` (then use jobctl --root DIR) or `systemctl start trainingd`, "
                + "or point jobctl at its socket with --socket or TRAININGD_SOCKET"
        case .noAnswer(let path, let seconds):
            return "trainingd at \(path) accepted the connection but did not answer within \(Int(seconds)) s; it may still be "
                + "starting (socket activation) or be stuck: see `systemctl status trainingd` or its log"
        case .api(let error): return error.description
        case .protocolError(let message): return "unexpected answer from trainingd: \(message)"
        }
    }
}

/// A small HTTP/1.1 client for the control socket: one connection per call, `Connection: close`.
/// It needs no event loop, so `jobctl` stays a plain synchronous program.
public struct ControlClient: Sendable {
    public let socketPath: String
    /// Seconds a request-response call waits for the answer (streams wait as long as they run).
    public var answerTimeout: Double

    public init(socketPath: String, answerTimeout: Double = 60) {
        self.socketPath = socketPath
        self.answerTimeout = answerTimeout
    }

    /// Calls an operation and returns its JSON answer.
    public func call(_ operation: Operation, _ body: JSONValue = .object([])) throws(ClientError) -> JSONValue {
        let connection = try Connection(path: socketPath, receiveTimeout: answerTimeout)
        defer { connection.close() }
        var reader = ResponseReader(connection: connection)
        let head = try send(request(operation, body), on: connection, thenRead: &reader)
        let payload = try reader.readBody(head)
        if head.status != 200 {
            throw .api(APIError(body: payload) ?? APIError(.internalFailure, "HTTP \(head.status): \(String(decoding: payload, as: UTF8.self))"))
        }
        if payload.isEmpty { return .object([]) }
        do {
            return try StrictJSONParser.parse(payload)
        } catch {
            throw .protocolError("the body is not JSON (\(error))")
        }
    }

    /// Calls a streaming operation and hands each line to `onLine` until the stream ends
    /// or `onLine` returns false.
    public func stream(_ operation: Operation, _ body: JSONValue, onLine: (String) -> Bool) throws(ClientError) {
        let connection = try Connection(path: socketPath)
        defer { connection.close() }
        var reader = ResponseReader(connection: connection)
        let head = try send(request(operation, body), on: connection, thenRead: &reader)
        if head.status != 200 {
            let payload = try reader.readBody(head)
            throw .api(APIError(body: payload) ?? APIError(.internalFailure, "HTTP \(head.status)"))
        }
        var pending: [UInt8] = []
        while let chunk = try reader.nextChunk(head) {
            pending += chunk
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                if !onLine(line) { return }
            }
        }
        if !pending.isEmpty { _ = onLine(String(decoding: pending, as: UTF8.self)) }
    }

    /// Sends a request and reads the answer's head. The daemon may answer before it has read the
    /// request (over its connection cap, or a body over the size cap) and close: then the send
    /// breaks, but the answer that says why is there to read, and is worth more than "broken pipe".
    private func send(_ bytes: [UInt8], on connection: Connection, thenRead reader: inout ResponseReader) throws(ClientError) -> ResponseReader.Head {
        var sendFailure: ClientError?
        do {
            try connection.send(bytes)
        } catch {
            sendFailure = error
        }
        do {
            return try reader.readHead()
        } catch {
            throw sendFailure ?? error
        }
    }

    private func request(_ operation: Operation, _ body: JSONValue) -> [UInt8] {
        let payload = Array(body.serialized().utf8)
        let head = "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: \(Operation.contentType)\r\n"
            + "X-Amz-Target: \(operation.rawValue)\r\nContent-Length: \(payload.count)\r\nConnection: close\r\n\r\n"
        return Array(head.utf8) + payload
    }
}

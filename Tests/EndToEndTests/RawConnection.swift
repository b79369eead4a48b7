import Foundation

/// A bare AF_UNIX connection to the control socket, for tests that must hold connections open,
/// send half a request, or read an answer without the client's parsing. Every read is bounded.
final class RawConnection {
    private let descriptor: Int32
    /// Bytes received and not yet taken.
    private(set) var received: [UInt8] = []
    private(set) var sawEOF = false

    init(path: String) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EMFILE) }
        let descriptor = self.descriptor
        let result = withUnixAddress(path) { connect(descriptor, $0, $1) }
        guard result == 0 else {
            close(descriptor)
            throw POSIXError(.ECONNREFUSED)
        }
    }

    deinit { close(descriptor) }

    /// Sends `text` (false when the daemon has already closed the connection).
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0, errno == EINTR { continue }
            if sent <= 0 { return false }
            offset += sent
        }
        return true
    }

    @discardableResult
    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Reads what arrives within `seconds` (stopping early at EOF or once `until` holds).
    func read(for seconds: Double, until: ([UInt8]) -> Bool = { _ in false }) {
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        while !sawEOF, !until(received) {
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { return }
            var waiting = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&waiting, 1, Int32(max(1, left * 1000))) > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count < 0, errno == EINTR || errno == EAGAIN { continue }
            if count <= 0 {
                sawEOF = true
            } else {
                received += buffer[..<count]
            }
        }
    }

    /// Reads to EOF within `seconds`, handing each piece to `each` instead of keeping it; whether EOF came.
    func stream(within seconds: Double, _ each: (ArraySlice<UInt8>) -> Void) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 256 * 1024)
        while deadline.timeIntervalSinceNow > 0 {
            var waiting = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
            guard poll(&waiting, 1, 200) > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count < 0, errno == EINTR || errno == EAGAIN { continue }
            if count <= 0 { return true }
            each(buffer[..<count])
        }
        return false
    }

    /// Waits up to `seconds` for the daemon to close the connection; whether it did.
    func waitForEOF(_ seconds: Double) -> Bool {
        read(for: seconds)
        return sawEOF
    }

    /// One whole response with a Content-Length (read within `seconds`): its status and body.
    func response(within seconds: Double) -> (status: Int, body: String)? {
        read(for: seconds) { bytes in Self.parse(bytes) != nil }
        guard let (status, body, length) = Self.parse(received) else { return nil }
        received.removeFirst(length)
        return (status, body)
    }

    var text: String { String(decoding: received, as: UTF8.self) }

    func discard() { received = [] }

    private static func parse(_ bytes: [UInt8]) -> (Int, String, Int)? {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard bytes.count >= 4, let end = (0...(bytes.count - 4)).first(where: { bytes[$0..<($0 + 4)].elementsEqual(separator) }) else { return nil }
        let head = String(decoding: bytes[..<end], as: UTF8.self)
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        let lengthLine = head.components(separatedBy: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
        let length = lengthLine.flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
        guard bytes.count >= end + 4 + length else { return nil }
        return (status, String(decoding: bytes[(end + 4)..<(end + 4 + length)], as: UTF8.self), end + 4 + length)
    }

    /// A keep-alive awsJson1_1 request.
    static func request(_ target: String, _ body: String) -> String {
        "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-amz-json-1.1\r\nX-Amz-Target: \(target)\r\n"
            + "Content-Length: \(body.utf8.count)\r\n\r\n" + body
    }
}

import Foundation

/// A connected AF_UNIX stream socket.
final class Connection: @unchecked Sendable {
    private let descriptor: Int32
    private let path: String
    private let receiveTimeout: Double?

    /// `receiveTimeout`: seconds of silence after which a read fails with `.noAnswer` (nil: wait forever).
    init(path: String, receiveTimeout: Double? = nil) throws(ClientError) {
        self.path = path
        self.receiveTimeout = receiveTimeout
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw .unreachable(path: path, errno: errno) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            Glibc.close(fd)
            throw .unreachable(path: path, errno: ENAMETOOLONG)
        }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            buffer.copyBytes(from: bytes)
            buffer[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            let code = errno
            Glibc.close(fd)
            throw .unreachable(path: path, errno: code)
        }
        if let receiveTimeout {
            var limit = timeval(tv_sec: Int(receiveTimeout), tv_usec: Int((receiveTimeout - receiveTimeout.rounded(.down)) * 1_000_000))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        }
        descriptor = fd
    }

    func send(_ bytes: [UInt8]) throws(ClientError) {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0 {
                if errno == EINTR { continue }
                throw .protocolError("the connection broke while sending (\(String(cString: strerror(errno))))")
            }
            offset += sent
        }
    }

    /// Up to `count` bytes; empty at end of stream.
    func receive(_ count: Int = 64 * 1024) throws(ClientError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        while true {
            let received = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if received < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK, let receiveTimeout {
                    throw .noAnswer(path: path, seconds: receiveTimeout)
                }
                throw .protocolError("the connection broke while receiving (\(String(cString: strerror(errno))))")
            }
            return Array(buffer[..<received])
        }
    }

    func close() {
        Glibc.close(descriptor)
    }
}

/// Reads an HTTP/1.1 response: the head, then a body of Content-Length bytes, chunked, or up to EOF.
struct ResponseReader {
    struct Head {
        var status: Int
        var contentLength: Int?
        var chunked: Bool
    }

    let connection: Connection
    private var buffer: [UInt8] = []
    private var finished = false

    init(connection: Connection) {
        self.connection = connection
    }

    private mutating func fill() throws(ClientError) -> Bool {
        let bytes = try connection.receive()
        if bytes.isEmpty { return false }
        buffer += bytes
        return true
    }

    mutating func readHead() throws(ClientError) -> Head {
        let separator: [UInt8] = [13, 10, 13, 10]
        while true {
            if let range = firstRange(of: separator) {
                let text = String(decoding: buffer[..<range], as: UTF8.self)
                buffer.removeSubrange(..<(range + 4))
                let lines = text.components(separatedBy: "\r\n")
                let parts = lines.first?.split(separator: " ") ?? []
                guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
                    throw .protocolError("not an HTTP response: \(lines.first ?? "")")
                }
                var head = Head(status: status, contentLength: nil, chunked: false)
                for line in lines.dropFirst() {
                    let pair = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                    guard pair.count == 2 else { continue }
                    switch pair[0].lowercased() {
                    case "content-length": head.contentLength = Int(pair[1])
                    case "transfer-encoding": head.chunked = pair[1].lowercased().contains("chunked")
                    default: break
                    }
                }
                return head
            }
            guard try fill() else { throw .protocolError("the daemon closed the connection before answering") }
        }
    }

    mutating func readBody(_ head: Head) throws(ClientError) -> [UInt8] {
        if head.chunked {
            var body: [UInt8] = []
            while let chunk = try nextChunk(head) { body += chunk }
            return body
        }
        if let length = head.contentLength {
            while buffer.count < length {
                guard try fill() else { throw .protocolError("the body ended after \(buffer.count) of \(length) bytes") }
            }
            return Array(buffer.prefix(length))
        }
        while try fill() {}
        return buffer
    }

    /// The next chunk of a chunked body (or the next bytes of another body); nil at the end.
    mutating func nextChunk(_ head: Head) throws(ClientError) -> [UInt8]? {
        guard !finished else { return nil }
        guard head.chunked else {
            finished = true
            let body = try readBody(head)
            return body.isEmpty ? nil : body
        }
        while true {
            if let lineEnd = firstRange(of: [13, 10]) {
                let sizeText = String(decoding: buffer[..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
                guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else {
                    throw .protocolError("bad chunk size '\(sizeText)'")
                }
                while buffer.count < lineEnd + 2 + size + 2 {
                    guard try fill() else { throw .protocolError("the stream ended inside a chunk") }
                }
                let chunk = Array(buffer[(lineEnd + 2)..<(lineEnd + 2 + size)])
                buffer.removeSubrange(..<(lineEnd + 2 + size + 2))
                if size == 0 {
                    finished = true
                    return nil
                }
                return chunk
            }
            guard try fill() else {
                finished = true
                return nil
            }
        }
    }

    private func firstRange(of pattern: [UInt8]) -> Int? {
        guard buffer.count >= pattern.count else { return nil }
        for index in 0...(buffer.count - pattern.count) where buffer[index..<(index + pattern.count)].elementsEqual(pattern) {
            return index
        }
        return nil
    }
}

import Foundation

/// A stand-in for trainingd on a temporary control socket: answers each operation (by its
/// X-Amz-Target) with a canned JSON body and records the requests, so that jobctl's rendering can be
/// tested on answers the real daemon would take long to produce, or does not send yet.
final class FakeDaemon: @unchecked Sendable {
    let socketPath: String
    private let listener: Int32
    private let answers: [String: String]
    private let lock = NSLock()
    private var received: [(target: String, body: String)] = []
    private var stopped = false

    /// `answers`: operation (`SageMaker.DescribeTrainingJob`) to its JSON answer.
    init(answers: [String: String]) throws {
        self.answers = answers
        socketPath = "/tmp/jc-fake-" + String(UUID().uuidString.prefix(8)).lowercased() + ".sock"
        listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            let bytes = Array(socketPath.utf8)
            buffer.copyBytes(from: bytes)
            buffer[bytes.count] = 0
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(listener, 8) == 0 else { throw POSIXError(.EADDRINUSE) }
        Thread { [self] in serve() }.start()
    }

    deinit {
        lock.withLock { stopped = true }
        close(listener)
        unlink(socketPath)
    }

    /// The requests answered so far: target and body.
    var requests: [(target: String, body: String)] { lock.withLock { received } }

    private func serve() {
        while !lock.withLock({ stopped }) {
            // Bounded waits, so that the thread notices the end of the test.
            var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 200) > 0 else { continue }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { return }
            answer(connection)
            close(connection)
        }
    }

    private func answer(_ connection: Int32) {
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let text = String(decoding: request, as: UTF8.self)
            if let headEnd = text.range(of: "\r\n\r\n") {
                let head = String(text[..<headEnd.lowerBound])
                let length = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
                let body = String(text[headEnd.upperBound...])
                if body.utf8.count >= length {
                    let target = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("x-amz-target:") }
                        .map { $0.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces) } ?? ""
                    lock.withLock { received.append((target, body)) }
                    respond(connection, answers[target] ?? "{}")
                    return
                }
            }
            let count = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return }
            request += buffer[..<count]
        }
    }

    private func respond(_ connection: Int32, _ body: String) {
        let bytes = Array(("HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: "
            + "\(body.utf8.count)\r\nConnection: close\r\n\r\n" + body).utf8)
        _ = bytes.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }
}

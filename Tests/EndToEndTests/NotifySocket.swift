import Foundation

/// A datagram socket standing in for systemd's notify socket: the daemon under test gets its
/// path as NOTIFY_SOCKET, and the test reads every sd_notify message it sends, in order.
final class NotifySocket: @unchecked Sendable {
    let path: String
    private let descriptor: Int32
    private(set) var messages: [String] = []

    init(path: String) throws {
        self.path = path
        unlink(path)
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard descriptor >= 0 else { throw POSIXError(.EIO) }
        let descriptor = self.descriptor
        let bound = withUnixAddress(path) { bind(descriptor, $0, $1) }
        guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit {
        close(descriptor)
        unlink(path)
    }

    /// Reads messages for up to `seconds`, stopping early once `until` holds for the one just read.
    @discardableResult
    func collect(for seconds: Double, until: (String) -> Bool = { _ in false }) -> [String] {
        let deadline = Date().addingTimeInterval(seconds)
        var fresh: [String] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while Date() < deadline {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { continue }
            let message = String(decoding: buffer[..<count], as: UTF8.self)
            fresh.append(message)
            messages.append(message)
            if until(message) { break }
        }
        return fresh
    }

    /// The first assignment's key of each message ("READY", "STATUS", "WATCHDOG", ...).
    static func kind(_ message: String) -> String {
        String(message.prefix { $0 != "=" })
    }

    /// The value of `key` in a message, if it has that assignment.
    static func value(_ key: String, in message: String) -> String? {
        message.split(separator: "\n").first { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
    }
}

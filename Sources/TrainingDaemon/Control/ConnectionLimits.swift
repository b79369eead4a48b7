import Foundation
import Logging
import TrainingConfig
import TrainingControl

/// What bounds the control socket's use of descriptors and memory: how many connections at
/// once, how long one may stay silent, and how many request-body bytes may be buffered.
struct ConnectionLimits: Sendable {
    /// The definition size cap, plus room for the request's own members.
    static let bodyLimit = 4 * 1024 * 1024 + 64 * 1024
    /// Request bodies buffered by all connections together: without it, 1024 connections each
    /// halfway through a 4 MiB body would hold 2 GiB.
    static let totalBodyBudget = 256 * 1024 * 1024
    /// Descriptors kept for the daemon's own use: the database, inotify, pidfds and pipes of
    /// running jobs, files being staged or read, and connections being turned away.
    static let reservedDescriptors = 256
    /// A connection's socket, plus the log file a FollowLogs or GetLogs answer holds open.
    static let descriptorsPerConnection = 2

    var maxConnections: Int
    var idleTimeoutSeconds: Int

    /// The configured limits, with the connection cap lowered (and a warning logged) when the
    /// descriptor limit, once raised to its hard limit, cannot hold that many connections.
    static func effective(for configuration: DaemonConfiguration, logger: Logger) -> ConnectionLimits {
        let descriptors = raiseDescriptorLimit()
        let affordable = max(1, (descriptors - reservedDescriptors) / descriptorsPerConnection)
        var cap = configuration.maxConnections
        if cap > affordable {
            logger.warning("""
                [control] max_connections is \(cap), but the open-file limit (RLIMIT_NOFILE) of \(descriptors) \
                holds only \(affordable) connections beside the daemon's own \(reservedDescriptors) descriptors; \
                serving at most \(affordable). Raise LimitNOFILE= in the unit (or ulimit -Hn) to serve more.
                """)
            cap = affordable
        }
        return ConnectionLimits(maxConnections: cap, idleTimeoutSeconds: configuration.idleTimeoutSeconds)
    }

    /// Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit in force.
    static func raiseDescriptorLimit() -> Int {
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return 1024 }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(resource, &raised) == 0 { limit = raised }
        }
        return Int(min(limit.rlim_cur, rlim_t(Int32.max)))
    }

    /// The answer to a connection over the cap.
    var overCapacity: APIError {
        APIError(.throttling, """
            trainingd is serving its maximum of \(maxConnections) connections ([control] max_connections); \
            retry shortly, or raise max_connections in the configuration and restart trainingd
            """)
    }

    var idleRequest: APIError {
        APIError(.requestTimeout, """
            the request was not completed within \(idleTimeoutSeconds) s ([control] idle_timeout_seconds); \
            send the whole request (head and Content-Length bytes of body) without pausing
            """)
    }

    static var bodyTooLarge: APIError {
        APIError(.requestTooLarge, "the request body is larger than \(bodyLimit) bytes; definitions are limited to 4 MiB (4194304 bytes)")
    }

    static var bodyBudgetExhausted: APIError {
        APIError(.throttling, "trainingd is receiving \(totalBodyBudget / (1024 * 1024)) MiB of request bodies at once, its limit; retry shortly")
    }
}

/// A count shared by every connection (the cap, the body budget), taken and given back under a lock.
final class SharedAllowance: @unchecked Sendable {
    private let lock = NSLock()
    private let limit: Int
    private var used = 0

    init(limit: Int) {
        self.limit = limit
    }

    /// Takes `amount` if it fits under the limit.
    func take(_ amount: Int = 1) -> Bool {
        lock.withLock {
            guard used + amount <= limit else { return false }
            used += amount
            return true
        }
    }

    func giveBack(_ amount: Int = 1) {
        lock.withLock { used = max(0, used - amount) }
    }

    var inUse: Int { lock.withLock { used } }
}

/// An error answer as raw HTTP/1.1 bytes, for connections that are closed without going
/// through the HTTP pipeline (over the cap, or a request that stalled halfway).
func rawErrorResponse(_ error: APIError) -> [UInt8] {
    let body = Array(error.body.utf8)
    let reason: String
    switch error.kind.httpStatus {
    case 408: reason = "Request Timeout"
    case 413: reason = "Payload Too Large"
    case 503: reason = "Service Unavailable"
    default: reason = "Bad Request"
    }
    let head = "HTTP/1.1 \(error.kind.httpStatus) \(reason)\r\nContent-Type: \(Operation.contentType)\r\n"
        + "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n"
    return Array(head.utf8) + body
}

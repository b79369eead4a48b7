import CSystemd
import Glibc

/// Tells the service manager how the daemon is doing, through sd_notify(3).
///
/// Every message is a no-op when the process was not started with `NOTIFY_SOCKET` (not under
/// systemd, or `Type=` is not `notify`), so callers never need to ask first.
public struct ServiceNotifier: Sendable {
    public init() {}

    /// Whether a service manager listens (`NOTIFY_SOCKET` is set).
    public var isSupervised: Bool { getenv("NOTIFY_SOCKET") != nil }

    /// The interval within which systemd expects `WATCHDOG=1` (`WATCHDOG_USEC`), when it asks for pings.
    public var watchdogInterval: Duration? {
        var microseconds: UInt64 = 0
        guard sd_watchdog_enabled(0, &microseconds) > 0, microseconds > 0 else { return nil }
        return .microseconds(Int64(clamping: microseconds))
    }

    /// Sends one notification; returns the negative errno of a failed send (0 when nobody listens).
    @discardableResult
    public func send(_ message: ServiceNotification) -> Int32 {
        sd_notify(0, message.text)
    }
}

/// One sd_notify message: newline-separated `KEY=VALUE` assignments.
public struct ServiceNotification: Sendable, Equatable, CustomStringConvertible {
    public let text: String
    public var description: String { text }

    init(_ assignments: [String]) {
        text = assignments.joined(separator: "\n")
    }

    /// Startup is complete; `STATUS` rides along so that `systemctl status` shows it at once.
    public static func ready(status: String) -> Self { Self(["READY=1", statusLine(status)]) }

    /// A new one-line summary for `systemctl status`.
    public static func status(_ status: String) -> Self { Self([statusLine(status)]) }

    /// The watchdog keep-alive.
    public static let watchdog = Self(["WATCHDOG=1"])

    /// A configuration reload begins; `READY=1` ends it. systemd ≥ 253 requires MONOTONIC_USEC
    /// (CLOCK_MONOTONIC) to match the reload to its request; older versions ignore it.
    public static func reloading(monotonicMicroseconds: UInt64 = monotonicNow()) -> Self {
        Self(["RELOADING=1", "MONOTONIC_USEC=\(monotonicMicroseconds)"])
    }

    /// Shutdown begins.
    public static func stopping(status: String) -> Self { Self(["STOPPING=1", statusLine(status)]) }

    /// Pushes systemd's stop (or start) timeout to at least `seconds` from now.
    public static func extendTimeout(seconds: Double, status: String) -> Self {
        Self(["EXTEND_TIMEOUT_USEC=\(UInt64(max(0, seconds) * 1_000_000))", statusLine(status)])
    }

    /// STATUS is a single line: a newline would start a new assignment.
    static func statusLine(_ status: String) -> String {
        "STATUS=" + status.split(whereSeparator: \.isNewline).joined(separator: " ")
    }

    public static func monotonicNow() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
    }
}

/// A TCP address to listen on: `host:port` or `[v6]:port`, the host given as numbers (a name
/// would be resolved at each start, and could resolve elsewhere).
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public static func parse(_ text: String) -> Result<ListenAddress, ListenAddressError> {
        let host: Substring, port: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                return .failure(ListenAddressError("must be [v6-address]:port, like \"[::1]:8470\""))
            }
            host = text[text.index(after: text.startIndex)..<close]
            port = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                return .failure(ListenAddressError("must be address:port, like \"127.0.0.1:8470\""))
            }
            host = text[..<colon]
            port = text[text.index(after: colon)...]
        }
        guard let number = Int(port), (1...65535).contains(number) else {
            return .failure(ListenAddressError("the port of \(text) must be a number from 1 to 65535"))
        }
        let address = ListenAddress(host: String(host), port: number)
        guard address.isIPv4 || address.isIPv6 else {
            return .failure(ListenAddressError("the host of \(text) must be an IP address (like 127.0.0.1 or [::1]), not a name"))
        }
        return .success(address)
    }

    var isIPv4: Bool {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
    }

    var isIPv6: Bool { host.contains(":") && host.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." } }

    /// 127.0.0.0/8 or ::1.
    public var isLoopback: Bool { isIPv4 ? host.hasPrefix("127.") : host == "::1" }

    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

public struct ListenAddressError: Error, Sendable, Equatable {
    public var reason: String
    init(_ reason: String) { self.reason = reason }
}

/// How ``JSONValue/serialized(_:)`` lays out its text.
public struct JSONLayout: Sendable, Equatable {
    /// Members of every object sorted by key (byte order), as the training toolkit's `SM_*` values are.
    public var sortedKeys: Bool
    /// Two-space indentation with one member per line; otherwise compact.
    public var pretty: Bool

    public init(sortedKeys: Bool = false, pretty: Bool = false) {
        self.sortedKeys = sortedKeys
        self.pretty = pretty
    }

    public static let compact = JSONLayout()
    public static let compactSorted = JSONLayout(sortedKeys: true)
    public static let pretty = JSONLayout(pretty: true)
}

extension JSONValue {
    /// The value as JSON text. `/` is never escaped, non-ASCII text is written as UTF-8.
    public func serialized(_ layout: JSONLayout = .compact) -> String {
        // Written as UTF-8 bytes and made a String once: appending to a String scalar by scalar
        // cost a job's start about 0.1 ms of the daemon's time (its SM_* environment and config files).
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(into: &out, layout: layout, indent: 0)
        return String(decoding: out, as: UTF8.self)
    }

    private func write(into out: inout [UInt8], layout: JSONLayout, indent: Int) {
        switch self {
        case .null: out += "null".utf8
        case .bool(let value): out += (value ? "true" : "false").utf8
        case .integer(let value): out += String(value).utf8
        case .double(let value): out += Self.format(value).utf8
        case .string(let value): Self.writeString(value, into: &out)
        case .array(let items):
            if items.isEmpty {
                out += "[]".utf8
                return
            }
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                Self.newline(&out, layout: layout, indent: indent + 1)
                item.write(into: &out, layout: layout, indent: indent + 1)
            }
            Self.newline(&out, layout: layout, indent: indent)
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            if members.isEmpty {
                out += "{}".utf8
                return
            }
            let ordered = layout.sortedKeys ? members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) } : members
            out.append(UInt8(ascii: "{"))
            for (index, member) in ordered.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                Self.newline(&out, layout: layout, indent: indent + 1)
                Self.writeString(member.key, into: &out)
                out += (layout.pretty ? ": " : ":").utf8
                member.value.write(into: &out, layout: layout, indent: indent + 1)
            }
            Self.newline(&out, layout: layout, indent: indent)
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func newline(_ out: inout [UInt8], layout: JSONLayout, indent: Int) {
        guard layout.pretty else { return }
        out.append(UInt8(ascii: "\n"))
        out += repeatElement(UInt8(ascii: " "), count: 2 * indent)
    }

    private static func format(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    /// `value` as a JSON string literal, quotes included, appended to `out`.
    public static func writeString(_ value: String, into out: inout String) {
        var bytes: [UInt8] = []
        writeString(value, into: &bytes)
        out += String(decoding: bytes, as: UTF8.self)
    }

    /// `value` as a JSON string literal in UTF-8: runs of bytes that need no escape are copied whole.
    static func writeString(_ value: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { bytes in
            var runStart = 0
            for (index, byte) in bytes.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                out += bytes[runStart..<index]
                runStart = index + 1
                switch byte {
                case UInt8(ascii: "\""): out += #"\""#.utf8
                case UInt8(ascii: "\\"): out += #"\\"#.utf8
                case UInt8(ascii: "\n"): out += #"\n"#.utf8
                case UInt8(ascii: "\r"): out += #"\r"#.utf8
                case UInt8(ascii: "\t"): out += #"\t"#.utf8
                case 0x08: out += #"\b"#.utf8
                case 0x0C: out += #"\f"#.utf8
                default:
                    let hex = String(byte, radix: 16)
                    out += ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).utf8
                }
            }
            out += bytes[runStart...]
        }
        out.append(UInt8(ascii: "\""))
    }
}

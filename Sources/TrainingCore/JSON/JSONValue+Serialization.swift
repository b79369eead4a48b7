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
        var out = ""
        write(into: &out, layout: layout, indent: 0)
        return out
    }

    private func write(into out: inout String, layout: JSONLayout, indent: Int) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .integer(let value): out += String(value)
        case .double(let value): out += Self.format(value)
        case .string(let value): Self.writeString(value, into: &out)
        case .array(let items):
            if items.isEmpty {
                out += "[]"
                return
            }
            out += "["
            for (index, item) in items.enumerated() {
                if index > 0 { out += "," }
                Self.newline(&out, layout: layout, indent: indent + 1)
                item.write(into: &out, layout: layout, indent: indent + 1)
            }
            Self.newline(&out, layout: layout, indent: indent)
            out += "]"
        case .object(let members):
            if members.isEmpty {
                out += "{}"
                return
            }
            let ordered = layout.sortedKeys ? members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) } : members
            out += "{"
            for (index, member) in ordered.enumerated() {
                if index > 0 { out += "," }
                Self.newline(&out, layout: layout, indent: indent + 1)
                Self.writeString(member.key, into: &out)
                out += layout.pretty ? ": " : ":"
                member.value.write(into: &out, layout: layout, indent: indent + 1)
            }
            Self.newline(&out, layout: layout, indent: indent)
            out += "}"
        }
    }

    private static func newline(_ out: inout String, layout: JSONLayout, indent: Int) {
        guard layout.pretty else { return }
        out += "\n" + String(repeating: "  ", count: indent)
    }

    private static func format(_ value: Double) -> String {
        guard value.isFinite else { return "null" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }

    public static func writeString(_ value: String, into out: inout String) {
        out += "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}

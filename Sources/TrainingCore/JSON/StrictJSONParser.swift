/// A JSON parser (RFC 8259) that refuses what Foundation's accepts silently:
/// duplicate keys, invalid UTF-8, lone surrogates, trailing content and
/// unbounded nesting. Every error carries a line, a column and, for duplicate
/// keys, the field path in the style of ``FieldPath``.
public struct StrictJSONParser {
    /// Deepest nesting accepted; a definition needs fewer than ten levels.
    public static let maximumDepth = 64

    private let bytes: [UInt8]
    private var offset = 0
    private var line = 1
    private var lineStart = 0
    private var path = FieldPath()

    /// Parses one JSON document.
    public static func parse(_ bytes: [UInt8]) throws(JSONSyntaxError) -> JSONValue {
        var parser = StrictJSONParser(bytes: bytes)
        return try parser.parseDocument()
    }

    private init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    private mutating func parseDocument() throws(JSONSyntaxError) -> JSONValue {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            throw error("the file starts with a UTF-8 byte order mark; save it without one")
        }
        skipWhitespace()
        guard offset < bytes.count else { throw error("the document is empty; expected a JSON object") }
        let value = try parseValue(depth: 0)
        skipWhitespace()
        guard offset == bytes.count else {
            throw error("unexpected \(describeCurrent()) after the end of the JSON document")
        }
        return value
    }

    private mutating func parseValue(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        guard depth < Self.maximumDepth else {
            throw error("nesting deeper than \(Self.maximumDepth) levels")
        }
        guard offset < bytes.count else { throw error("unexpected end of input; the document is truncated") }
        switch bytes[offset] {
        case UInt8(ascii: "{"): return try parseObject(depth: depth)
        case UInt8(ascii: "["): return try parseArray(depth: depth)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): return try parseLiteral("true", .bool(true))
        case UInt8(ascii: "f"): return try parseLiteral("false", .bool(false))
        case UInt8(ascii: "n"): return try parseLiteral("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("unexpected \(describeCurrent()); expected a JSON value")
        }
    }

    private mutating func parseObject(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        offset += 1
        var members: [JSONValue.Member] = []
        var seen: [String: Int] = [:]
        skipWhitespace()
        if peek(UInt8(ascii: "}")) {
            offset += 1
            return .object([])
        }
        while true {
            skipWhitespace()
            guard peek(UInt8(ascii: "\"")) else {
                throw error("unexpected \(describeCurrent()); expected a member name in double quotes")
            }
            let keyLine = line
            let keyColumn = offset - lineStart + 1
            let key = try parseString()
            if let firstLine = seen[key] {
                throw JSONSyntaxError(
                    message: "duplicate key '\(key)' in \(path.isEmpty ? "the top-level object" : "'\(path)'")"
                        + " (first on line \(firstLine)); a member may appear only once",
                    line: keyLine, column: keyColumn, path: path.appending(member: key))
            }
            seen[key] = keyLine
            skipWhitespace()
            try expect(UInt8(ascii: ":"), "':' after the member name")
            skipWhitespace()
            path.append(member: key)
            let value = try parseValue(depth: depth + 1)
            path.removeLast()
            members.append(JSONValue.Member(key, value))
            skipWhitespace()
            if peek(UInt8(ascii: ",")) {
                offset += 1
                continue
            }
            try expect(UInt8(ascii: "}"), "',' or '}' after a member")
            return .object(members)
        }
    }

    private mutating func parseArray(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        offset += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if peek(UInt8(ascii: "]")) {
            offset += 1
            return .array([])
        }
        while true {
            skipWhitespace()
            path.append(index: items.count)
            items.append(try parseValue(depth: depth + 1))
            path.removeLast()
            skipWhitespace()
            if peek(UInt8(ascii: ",")) {
                offset += 1
                continue
            }
            try expect(UInt8(ascii: "]"), "',' or ']' after an array item")
            return .array(items)
        }
    }

    private mutating func parseLiteral(_ word: String, _ value: JSONValue) throws(JSONSyntaxError) -> JSONValue {
        let utf8 = Array(word.utf8)
        guard bytes.count - offset >= utf8.count, Array(bytes[offset..<offset + utf8.count]) == utf8 else {
            throw error("unexpected \(describeCurrent()); expected a JSON value")
        }
        offset += utf8.count
        return value
    }

    private mutating func parseNumber() throws(JSONSyntaxError) -> JSONValue {
        let start = offset
        var isInteger = true
        if peek(UInt8(ascii: "-")) { offset += 1 }
        if peek(UInt8(ascii: "0")) {
            offset += 1
            if let next = current, isDigit(next) { throw error("numbers may not have leading zeros") }
        } else {
            guard try consumeDigits() > 0 else { throw error("a '-' must be followed by digits") }
        }
        if peek(UInt8(ascii: ".")) {
            isInteger = false
            offset += 1
            guard try consumeDigits() > 0 else { throw error("a decimal point must be followed by digits") }
        }
        if peek(UInt8(ascii: "e")) || peek(UInt8(ascii: "E")) {
            isInteger = false
            offset += 1
            if peek(UInt8(ascii: "+")) || peek(UInt8(ascii: "-")) { offset += 1 }
            guard try consumeDigits() > 0 else { throw error("an exponent must have digits") }
        }
        let text = String(decoding: bytes[start..<offset], as: UTF8.self)
        if isInteger, let value = Int64(text) { return .integer(value) }
        guard let value = Double(text), value.isFinite else {
            throw JSONSyntaxError(message: "number \(text) is out of range", line: line, column: start - lineStart + 1)
        }
        return .double(value)
    }

    private mutating func consumeDigits() throws(JSONSyntaxError) -> Int {
        var count = 0
        while let byte = current, isDigit(byte) {
            offset += 1
            count += 1
        }
        return count
    }

    private mutating func parseString() throws(JSONSyntaxError) -> String {
        offset += 1
        var scalars = String.UnicodeScalarView()
        while true {
            guard let byte = current else { throw error("unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                offset += 1
                return String(scalars)
            case UInt8(ascii: "\\"):
                offset += 1
                scalars.append(try parseEscape())
            case 0..<0x20:
                throw error("control character U+\(hex4(UInt32(byte))) in a string must be escaped")
            case 0..<0x80:
                scalars.append(Unicode.Scalar(byte))
                offset += 1
            default:
                scalars.append(try parseUTF8Sequence())
            }
        }
    }

    private mutating func parseEscape() throws(JSONSyntaxError) -> Unicode.Scalar {
        guard let byte = current else { throw error("unterminated escape sequence") }
        offset += 1
        switch byte {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let first = try parseHex4()
            if (0xD800...0xDBFF).contains(first) {
                guard peek(UInt8(ascii: "\\")), offset + 1 < bytes.count, bytes[offset + 1] == UInt8(ascii: "u") else {
                    throw error("lone high surrogate \\u\(hex4(first)) is not valid Unicode")
                }
                offset += 2
                let second = try parseHex4()
                guard (0xDC00...0xDFFF).contains(second) else {
                    throw error("high surrogate \\u\(hex4(first)) is not followed by a low surrogate")
                }
                return Unicode.Scalar(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))!
            }
            guard let scalar = Unicode.Scalar(first) else {
                throw error("lone low surrogate \\u\(hex4(first)) is not valid Unicode")
            }
            return scalar
        default:
            offset -= 1
            throw error("invalid escape '\\\(describeByte(byte))'")
        }
    }

    private mutating func parseHex4() throws(JSONSyntaxError) -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            guard let byte = current, let digit = hexValue(byte) else {
                throw error("\\u must be followed by four hexadecimal digits")
            }
            value = value << 4 | digit
            offset += 1
        }
        return value
    }

    /// Decodes one multi-byte UTF-8 sequence, rejecting overlong forms and surrogates.
    private mutating func parseUTF8Sequence() throws(JSONSyntaxError) -> Unicode.Scalar {
        let lead = bytes[offset]
        let length: Int
        var value: UInt32
        switch lead {
        case 0xC2...0xDF: length = 2; value = UInt32(lead & 0x1F)
        case 0xE0...0xEF: length = 3; value = UInt32(lead & 0x0F)
        case 0xF0...0xF4: length = 4; value = UInt32(lead & 0x07)
        default: throw invalidUTF8()
        }
        guard offset + length <= bytes.count else { throw invalidUTF8() }
        for index in 1..<length {
            let continuation = bytes[offset + index]
            guard continuation & 0xC0 == 0x80 else { throw invalidUTF8() }
            value = value << 6 | UInt32(continuation & 0x3F)
        }
        let minimum: UInt32 = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000
        guard value >= minimum, value <= 0x10FFFF, let scalar = Unicode.Scalar(value) else { throw invalidUTF8() }
        offset += length
        return scalar
    }

    private func invalidUTF8() -> JSONSyntaxError {
        JSONSyntaxError(
            message: "invalid UTF-8 (byte 0x\(String(bytes[offset], radix: 16, uppercase: true)) at offset \(offset));"
                + " definitions must be UTF-8 text",
            line: line, column: offset - lineStart + 1)
    }

    private mutating func skipWhitespace() {
        while let byte = current {
            switch byte {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"): offset += 1
            case UInt8(ascii: "\n"):
                offset += 1
                line += 1
                lineStart = offset
            default: return
            }
        }
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws(JSONSyntaxError) {
        guard peek(byte) else { throw error("unexpected \(describeCurrent()); expected \(what)") }
        offset += 1
    }

    private var current: UInt8? { offset < bytes.count ? bytes[offset] : nil }
    private func peek(_ byte: UInt8) -> Bool { current == byte }
    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(byte - UInt8(ascii: "A") + 10)
        default: return nil
        }
    }

    private func hex4(_ value: UInt32) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - text.count)) + text
    }

    private func describeCurrent() -> String {
        guard let byte = current else { return "end of input" }
        return "character '\(describeByte(byte))'"
    }

    private func describeByte(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16, uppercase: true)
    }

    private func error(_ message: String) -> JSONSyntaxError {
        JSONSyntaxError(message: message, line: line, column: offset - lineStart + 1)
    }
}

/// Why a document is not acceptable JSON, and where.
public struct JSONSyntaxError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var line: Int
    public var column: Int
    /// For a duplicate key, the path of the repeated member.
    public var path: FieldPath?

    public init(message: String, line: Int, column: Int, path: FieldPath? = nil) {
        self.message = message
        self.line = line
        self.column = column
        self.path = path
    }

    public var description: String { "line \(line), column \(column): \(message)" }
}

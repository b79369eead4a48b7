/// A location of data or artifacts: SageMaker's `s3://bucket/key` and
/// `https://host/path`, and, locally, `file:///absolute/path`.
public enum StorageURI: Sendable, Equatable, CustomStringConvertible {
    case s3(bucket: String, key: String)
    case https(host: String, path: String)
    /// A local path, percent-decoded. It keeps a trailing `/` when the URI had one,
    /// since S3 semantics treat the path as a string prefix.
    case file(path: String)

    /// Parses `text`, or returns nil when it is neither an S3 URI (SageMaker's
    /// pattern `^(https|s3)://([^/]+)/?(.*)$`) nor a `file://` URI with an
    /// absolute, validly percent-encoded path free of NUL bytes.
    public static func parse(_ text: String) -> StorageURI? {
        if text.hasPrefix("file://") {
            let encoded = text.dropFirst("file://".count)
            guard encoded.hasPrefix("/"), let path = percentDecode(Substring(encoded)), !path.contains("\0") else {
                return nil
            }
            return .file(path: path)
        }
        for scheme in ["s3://", "https://"] where text.hasPrefix(scheme) {
            let rest = text.dropFirst(scheme.count)
            let host = rest.prefix { $0 != "/" }
            guard !host.isEmpty else { return nil }
            var key = rest.dropFirst(host.count)
            if key.hasPrefix("/") { key = key.dropFirst() }
            return scheme == "s3://" ? .s3(bucket: String(host), key: String(key)) : .https(host: String(host), path: String(key))
        }
        return nil
    }

    public var description: String {
        switch self {
        case .s3(let bucket, let key): return "s3://\(bucket)/\(key)"
        case .https(let host, let path): return "https://\(host)/\(path)"
        case .file(let path): return "file://\(path)"
        }
    }

    public var localPath: String? {
        if case .file(let path) = self { return path }
        return nil
    }

    /// `%41` -> `A`; nil when an escape is malformed or the bytes are not UTF-8.
    static func percentDecode(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexDigit), let low = iterator.next().flatMap(hexDigit) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}

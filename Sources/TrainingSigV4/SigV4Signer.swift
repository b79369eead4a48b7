import Crypto
public import Foundation

/// AWS credentials: an access key, its secret, and a session token for temporary ones.
public struct AWSCredentials: Sendable, Hashable, Codable {
    public var accessKeyID: String
    public var secretAccessKey: String
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }
}

/// AWS Signature Version 4 (the `Authorization` header form), as AWS's documentation and its
/// published test suite define it; `SigV4Tests` checks it against that suite's vectors.
///
/// The caller builds the request with every header it will send, `host` and `x-amz-date` among
/// them (and `x-amz-security-token` with temporary credentials: ``headers(for:date:)`` adds the
/// last two), and signs exactly that. Paths are given decoded and encoded here once per segment,
/// as S3 requires (no dot-segment normalization: an S3 key is a string).
public struct SigV4Signer: Sendable {
    public var credentials: AWSCredentials
    public var region: String
    public var service: String

    public init(credentials: AWSCredentials, region: String, service: String) {
        self.credentials = credentials
        self.region = region
        self.service = service
    }

    /// What is signed.
    public struct Request: Sendable {
        public var method: String
        /// The decoded path, from its leading `/`.
        public var path: String
        /// Decoded query parameters, in any order.
        public var query: [(name: String, value: String)]
        /// Every header sent, in any order and case; repeated names are joined as HTTP joins them.
        public var headers: [(name: String, value: String)]
        /// Hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`.
        public var payloadHash: String

        public init(method: String, path: String, query: [(name: String, value: String)] = [], headers: [(name: String, value: String)],
                    payloadHash: String) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.payloadHash = payloadHash
        }
    }

    /// The hex SHA-256 of an empty body.
    public static let emptyPayloadHash = hexSHA256(Data())

    /// `x-amz-date` (and `x-amz-security-token` with a session token) for a request made at `date`.
    public func headers(date: Date) -> [(name: String, value: String)] {
        var headers = [(name: "x-amz-date", value: Self.timestamp(date))]
        if let token = credentials.sessionToken { headers.append((name: "x-amz-security-token", value: token)) }
        return headers
    }

    /// The canonical request, and the signed headers' names (`a;b;c`).
    public func canonicalRequest(_ request: Request) -> (text: String, signedHeaders: String) {
        let path = request.path.split(separator: "/", omittingEmptySubsequences: false)
            .map { Self.uriEncode(String($0)) }.joined(separator: "/")
        let encoded: [(name: String, value: String)] = request.query.map { (name: Self.uriEncode($0.name), value: Self.uriEncode($0.value)) }
        let sorted = encoded.sorted { (a: (name: String, value: String), b: (name: String, value: String)) -> Bool in
            a.name == b.name ? a.value < b.value : a.name < b.name
        }
        let query = sorted.map { $0.name + "=" + $0.value }.joined(separator: "&")
        var byName: [String: [String]] = [:]
        for header in request.headers {
            byName[header.name.lowercased(), default: []].append(Self.trimmed(header.value))
        }
        let names = byName.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(byName[$0]!.joined(separator: ","))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let text = [request.method, path.isEmpty ? "/" : path, query, canonicalHeaders, signedHeaders, request.payloadHash]
            .joined(separator: "\n")
        return (text, signedHeaders)
    }

    public func credentialScope(date: Date) -> String {
        "\(Self.dateStamp(date))/\(region)/\(service)/aws4_request"
    }

    public func stringToSign(canonicalRequest: String, date: Date) -> String {
        ["AWS4-HMAC-SHA256", Self.timestamp(date), credentialScope(date: date), Self.hexSHA256(Data(canonicalRequest.utf8))]
            .joined(separator: "\n")
    }

    /// The `Authorization` header's value for `request`, made at `date`.
    public func authorization(_ request: Request, date: Date) -> String {
        "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(credentialScope(date: date)), "
            + "SignedHeaders=\(canonicalRequest(request).signedHeaders), Signature=\(signature(request, date: date))"
    }

    /// The hex signature of `request`, made at `date` (what ``SigV4Verifier`` compares).
    public func signature(_ request: Request, date: Date) -> String {
        let key = Self.signingKey(secret: credentials.secretAccessKey, dateStamp: Self.dateStamp(date), region: region, service: service)
        let text = stringToSign(canonicalRequest: canonicalRequest(request).text, date: date)
        return Self.hex(Data(HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: key)))
    }

    /// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
    static func signingKey(secret: String, dateStamp: String, region: String, service: String) -> SymmetricKey {
        var key = SymmetricKey(data: Data(("AWS4" + secret).utf8))
        for part in [dateStamp, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return key
    }

    /// RFC 3986 percent-encoding of everything but the unreserved characters, `/` included.
    public static func uriEncode(_ text: String) -> String {
        var encoded = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                encoded += String(format: "%%%02X", byte)
            }
        }
        return encoded
    }

    /// Leading and trailing spaces removed, runs of spaces inside made one.
    static func trimmed(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    public static func timestamp(_ date: Date) -> String { format(date, "yyyyMMdd'T'HHmmss'Z'") }
    static func dateStamp(_ date: Date) -> String { format(date, "yyyyMMdd") }

    private static func format(_ date: Date, _ pattern: String) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = pattern
        return formatter.string(from: date)
    }

    public static func hexSHA256(_ data: Data) -> String { hex(Data(SHA256.hash(data: data))) }

    static func hex(_ data: Data) -> String { data.map { String(format: "%02x", $0) }.joined() }
}

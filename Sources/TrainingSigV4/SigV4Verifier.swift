import Crypto
public import Foundation

/// Checks AWS Signature Version 4 `Authorization` headers as AWS's JSON services do: the same
/// canonical request as ``SigV4Signer`` (one code path signs and verifies), the credential scope's
/// date, region and service, and a clock skew of at most five minutes, so that a request captured
/// on the wire cannot be replayed later. Refusals carry AWS's error types and wording.
public struct SigV4Verifier: Sendable {
    /// Why a request was refused, as AWS names it (`__type`).
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public enum Kind: String, Sendable {
            case missingAuthenticationToken = "MissingAuthenticationTokenException"
            case incompleteSignature = "IncompleteSignatureException"
            case invalidSignature = "InvalidSignatureException"
            case unrecognizedClient = "UnrecognizedClientException"
        }

        public var kind: Kind
        public var message: String

        public init(_ kind: Kind, _ message: String) {
            self.kind = kind
            self.message = message
        }

        public var description: String { "\(kind.rawValue): \(message)" }
    }

    /// Who signed a request that passed.
    public struct Signer: Sendable, Equatable {
        public var accessKeyID: String
        public var service: String
    }

    /// The region requests must be scoped to.
    public var region: String
    /// The services a request may be signed for (`sagemaker`, `logs`).
    public var services: Set<String>
    /// The largest difference between a request's time and the verifier's clock.
    public var maximumSkew: TimeInterval

    public init(region: String, services: Set<String>, maximumSkew: TimeInterval = 300) {
        self.region = region
        self.services = services
        self.maximumSkew = maximumSkew
    }

    /// Verifies one request. `target` is the HTTP request-target as received (`/`, `/?a=b`);
    /// `headers` are every header received; `secret` gives an access key's secret, nil for a key
    /// that is not known.
    public func verify(method: String, target: String, headers: [(name: String, value: String)], body: [UInt8], now: Date,
                       secret: (String) -> String?) throws(Refusal) -> Signer
    {
        func header(_ name: String) -> String? {
            let values = headers.filter { $0.name.lowercased() == name }.map(\.value)
            return values.isEmpty ? nil : values.joined(separator: ",")
        }
        let (rawPath, query) = Self.split(target)
        guard let authorization = header("authorization") else {
            if query.contains(where: { $0.name == "X-Amz-Algorithm" }) {
                throw Refusal(.incompleteSignature, "trainingd accepts signatures in the Authorization header only, not presigned query strings")
            }
            throw Refusal(.missingAuthenticationToken, "Missing Authentication Token: every request must be signed with AWS Signature Version 4 (an access key of trainingd's credentials file)")
        }
        let parsed = try Self.parse(authorization)
        let scope = parsed.credential.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard scope.count == 5, scope[4] == "aws4_request", !scope[0].isEmpty else {
            throw Refusal(.incompleteSignature, "Credential must be KEY/DATE/REGION/SERVICE/aws4_request, not '\(parsed.credential)'")
        }
        let (accessKeyID, dateStamp, scopeRegion, service) = (scope[0], scope[1], scope[2], scope[3])
        guard let stamp = header("x-amz-date") else {
            throw Refusal(.incompleteSignature, "Authorization header requires existence of a 'X-Amz-Date' header")
        }
        guard let date = Self.parseTimestamp(stamp) else {
            throw Refusal(.incompleteSignature, "X-Amz-Date must be in the ISO 8601 basic format yyyyMMdd'T'HHmmss'Z', not '\(stamp)'")
        }
        let signedNames = parsed.signedHeaders.split(separator: ";").map(String.init)
        guard signedNames.contains("host") else {
            throw Refusal(.incompleteSignature, "SignedHeaders must include host")
        }
        guard signedNames.contains("x-amz-date") else {
            throw Refusal(.incompleteSignature, "SignedHeaders must include x-amz-date")
        }
        guard dateStamp == String(stamp.prefix(8)) else {
            throw Refusal(.invalidSignature, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '\(dateStamp)' != '\(stamp.prefix(8))'")
        }
        guard scopeRegion == region else {
            throw Refusal(.invalidSignature, "Credential should be scoped to a valid region, not '\(scopeRegion)': trainingd's region is '\(region)' (set AWS_REGION=\(region) or region_name='\(region)')")
        }
        guard services.contains(service) else {
            throw Refusal(.invalidSignature, "Credential should be scoped to correct service: one of \(services.sorted().map { "'\($0)'" }.joined(separator: ", ")), not '\(service)'")
        }
        if now.timeIntervalSince(date) > maximumSkew {
            let earliest = SigV4Signer.timestamp(now.addingTimeInterval(-maximumSkew))
            throw Refusal(.invalidSignature, "Signature expired: \(stamp) is now earlier than \(earliest) (\(SigV4Signer.timestamp(now)) - \(Int(maximumSkew / 60)) min.)")
        }
        if date.timeIntervalSince(now) > maximumSkew {
            let latest = SigV4Signer.timestamp(now.addingTimeInterval(maximumSkew))
            throw Refusal(.invalidSignature, "Signature not yet current: \(stamp) is still later than \(latest) (\(SigV4Signer.timestamp(now)) + \(Int(maximumSkew / 60)) min.)")
        }
        if header("x-amz-security-token") != nil {
            throw Refusal(.unrecognizedClient, "The security token included in the request is invalid: trainingd issues no session tokens; sign with an access key of its credentials file")
        }
        guard let secretKey = secret(accessKeyID) else {
            throw Refusal(.unrecognizedClient, "The security token included in the request is invalid: access key \(accessKeyID) is not in trainingd's credentials file")
        }
        var signedHeaders: [(name: String, value: String)] = []
        for name in signedNames {
            guard let value = header(name) else {
                throw Refusal(.incompleteSignature, "SignedHeaders names \(name), which the request does not have")
            }
            signedHeaders.append((name: name, value: value))
        }
        // The path as sent, encoded once more: non-S3 services sign the encoded path (botocore does the same).
        let request = SigV4Signer.Request(method: method, path: rawPath, query: query, headers: signedHeaders,
                                          payloadHash: SigV4Signer.hexSHA256(Data(body)))
        let signer = SigV4Signer(credentials: AWSCredentials(accessKeyID: accessKeyID, secretAccessKey: secretKey), region: scopeRegion, service: service)
        let expected = signer.signature(request, date: date)
        guard Self.constantTimeEqual(expected, parsed.signature.lowercased()) else {
            throw Refusal(.invalidSignature, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
        }
        return Signer(accessKeyID: accessKeyID, service: service)
    }

    /// The three parts of `AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`.
    static func parse(_ authorization: String) throws(Refusal) -> (credential: String, signedHeaders: String, signature: String) {
        let algorithm = "AWS4-HMAC-SHA256"
        guard authorization.hasPrefix(algorithm + " ") else {
            throw Refusal(.incompleteSignature, "Authorization header must begin with \(algorithm) (Signature Version 4)")
        }
        var parts: [String: String] = [:]
        for item in authorization.dropFirst(algorithm.count + 1).split(separator: ",") {
            let pair = item.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1).map(String.init)
            if pair.count == 2 { parts[pair[0]] = pair[1] }
        }
        let missing = ["Credential", "SignedHeaders", "Signature"].filter { (parts[$0] ?? "").isEmpty }
        guard missing.isEmpty else {
            throw Refusal(.incompleteSignature, missing.map { "Authorization header requires '\($0)' parameter." }.joined(separator: " "))
        }
        return (parts["Credential"]!, parts["SignedHeaders"]!, parts["Signature"]!)
    }

    /// The path and the decoded query parameters of a request-target.
    static func split(_ target: String) -> (path: String, query: [(name: String, value: String)]) {
        guard let mark = target.firstIndex(of: "?") else { return (target.isEmpty ? "/" : target, []) }
        let path = String(target[..<mark])
        let query = target[target.index(after: mark)...].split(separator: "&").map { item -> (name: String, value: String) in
            let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { String($0).removingPercentEncoding ?? String($0) }
            return (name: pair[0], value: pair.count > 1 ? pair[1] : "")
        }
        return (path.isEmpty ? "/" : path, query)
    }

    /// `yyyyMMdd'T'HHmmss'Z'` in UTC.
    static func parseTimestamp(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count == 16, bytes[8] == UInt8(ascii: "T"), bytes[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int32? { Int32(String(decoding: bytes[range], as: UTF8.self)) }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8), let hour = number(9..<11),
              let minute = number(11..<13), let second = number(13..<15), (1...12).contains(month), (1...31).contains(day),
              hour < 24, minute < 60, second < 61 else { return nil }
        var fields = tm()
        fields.tm_year = year - 1900
        fields.tm_mon = month - 1
        fields.tm_mday = day
        fields.tm_hour = hour
        fields.tm_min = minute
        fields.tm_sec = second
        return Date(timeIntervalSince1970: TimeInterval(timegm(&fields)))
    }

    /// Compares two signatures in time that depends on their length only.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let left = Array(a.utf8), right = Array(b.utf8)
        guard left.count == right.count else { return false }
        var difference: UInt8 = 0
        for index in left.indices { difference |= left[index] ^ right[index] }
        return difference == 0
    }
}

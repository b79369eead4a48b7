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

    /// The region requests are scoped to, and others also accepted (the S3 endpoint's, which a
    /// job's environment names).
    public var region: String
    public var otherRegions: Set<String>
    /// The services a request may be signed for (`sagemaker`, `logs`).
    public var services: Set<String>
    /// The largest difference between a request's time and the verifier's clock.
    public var maximumSkew: TimeInterval

    public init(region: String, otherRegions: Set<String> = [], services: Set<String>, maximumSkew: TimeInterval = 300) {
        self.region = region
        self.otherRegions = otherRegions
        self.services = services
        self.maximumSkew = maximumSkew
    }

    /// The most headers a request may have, and the most it may sign: botocore sends about ten
    /// and signs about six. Without a bound, a request of many repeated headers would cost the
    /// verifier time quadratic in its size.
    public static let maximumHeaders = 64
    public static let maximumSignedHeaders = 32

    /// The checks that need no body: the Authorization header's form, the scope (date, region,
    /// service), the time, and that the key is known. The HTTP layer runs them on a request's
    /// head, so that an unsigned request is refused before its body is read. Returns the key's
    /// secret and the parts the full check needs.
    public func preflight(headers: [(name: String, value: String)], target: String, now: Date,
                          secret: (String) -> String?) throws(Refusal) -> Preflight
    {
        guard headers.count <= Self.maximumHeaders else {
            throw Refusal(.incompleteSignature, "the request has \(headers.count) headers; trainingd accepts at most \(Self.maximumHeaders)")
        }
        var byName: [String: [String]] = [:]
        for header in headers { byName[header.name.lowercased(), default: []].append(header.value) }
        let (_, query) = Self.split(target)
        guard let authorizations = byName["authorization"] else {
            if query.contains(where: { $0.name == "X-Amz-Algorithm" }) {
                throw Refusal(.incompleteSignature, "trainingd accepts signatures in the Authorization header only, not presigned query strings")
            }
            throw Refusal(.missingAuthenticationToken, "Missing Authentication Token: every request must be signed with AWS Signature Version 4 (an access key of trainingd's credentials file)")
        }
        guard authorizations.count == 1 else { throw Refusal(.incompleteSignature, "the request has more than one Authorization header") }
        let parsed = try Self.parse(authorizations[0])
        let scope = parsed.credential.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard scope.count == 5, scope[4] == "aws4_request", !scope[0].isEmpty else {
            throw Refusal(.incompleteSignature, "Credential must be KEY/DATE/REGION/SERVICE/aws4_request, not '\(parsed.credential)'")
        }
        let (accessKeyID, dateStamp, scopeRegion, service) = (scope[0], scope[1], scope[2], scope[3])
        guard let stamps = byName["x-amz-date"], stamps.count == 1 else {
            throw Refusal(.incompleteSignature, "Authorization header requires existence of one 'X-Amz-Date' header")
        }
        let stamp = stamps[0]
        guard let date = Self.parseTimestamp(stamp) else {
            throw Refusal(.incompleteSignature, "X-Amz-Date must be in the ISO 8601 basic format yyyyMMdd'T'HHmmss'Z', not '\(stamp)'")
        }
        let signedNames = parsed.signedHeaders.split(separator: ";", omittingEmptySubsequences: false).map(String.init)
        // As the signer writes them: lowercase, sorted, each once; anything else is not a signature of this request.
        guard signedNames.count <= Self.maximumSignedHeaders, signedNames == signedNames.map({ $0.lowercased() }),
              zip(signedNames, signedNames.dropFirst()).allSatisfy({ $0 < $1 }), !signedNames.contains("")
        else {
            throw Refusal(.incompleteSignature, "SignedHeaders must be at most \(Self.maximumSignedHeaders) distinct lowercase header names in sorted order, separated by ';'")
        }
        // The operation is signed, not just the body: otherwise a captured request could be sent again as another one.
        for required in ["host", "x-amz-date"] + (byName["x-amz-target"] != nil ? ["x-amz-target"] : []) where !signedNames.contains(required) {
            throw Refusal(.incompleteSignature, "SignedHeaders must include \(required)")
        }
        if let targets = byName["x-amz-target"], targets.count > 1 {
            throw Refusal(.incompleteSignature, "the request has more than one X-Amz-Target header")
        }
        guard dateStamp == String(stamp.prefix(8)) else {
            throw Refusal(.invalidSignature, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '\(dateStamp)' != '\(stamp.prefix(8))'")
        }
        guard scopeRegion == region || otherRegions.contains(scopeRegion) else {
            let others = otherRegions.subtracting([region]).sorted()
            throw Refusal(.invalidSignature, "Credential should be scoped to a valid region, not '\(scopeRegion)': trainingd's region is '\(region)' (set AWS_REGION=\(region) or region_name='\(region)')"
                + (others.isEmpty ? "" : "; it also accepts \(others.joined(separator: ", "))"))
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
        if byName["x-amz-security-token"] != nil {
            throw Refusal(.unrecognizedClient, "The security token included in the request is invalid: trainingd issues no session tokens; sign with an access key of its credentials file")
        }
        guard let secretKey = secret(accessKeyID) else {
            throw Refusal(.unrecognizedClient, "The security token included in the request is invalid: access key \(accessKeyID) is not in trainingd's credentials file")
        }
        var signedHeaders: [(name: String, value: String)] = []
        for name in signedNames {
            guard let values = byName[name] else {
                throw Refusal(.incompleteSignature, "SignedHeaders names \(name), which the request does not have")
            }
            signedHeaders.append((name: name, value: values.joined(separator: ",")))
        }
        return Preflight(signer: Signer(accessKeyID: accessKeyID, service: service), secret: secretKey, region: scopeRegion, date: date,
                         signedHeaders: signedHeaders, signature: parsed.signature.lowercased())
    }

    /// What ``preflight(headers:target:now:secret:)`` found, for ``verify(_:method:target:body:)``.
    public struct Preflight: Sendable {
        public var signer: Signer
        var secret: String
        var region: String
        var date: Date
        var signedHeaders: [(name: String, value: String)]
        var signature: String
    }

    /// The signature's check, once the body is there.
    public func verify(_ preflight: Preflight, method: String, target: String, body: [UInt8]) throws(Refusal) -> Signer {
        // The path as sent, encoded once more: non-S3 services sign the encoded path (botocore does the same).
        let (rawPath, query) = Self.split(target)
        let request = SigV4Signer.Request(method: method, path: rawPath, query: query, headers: preflight.signedHeaders,
                                          payloadHash: SigV4Signer.hexSHA256(Data(body)))
        let signer = SigV4Signer(credentials: AWSCredentials(accessKeyID: preflight.signer.accessKeyID, secretAccessKey: preflight.secret),
                                 region: preflight.region, service: preflight.signer.service)
        guard Self.constantTimeEqual(signer.signature(request, date: preflight.date), preflight.signature) else {
            throw Refusal(.invalidSignature, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
        }
        return preflight.signer
    }

    /// Both steps at once.
    public func verify(method: String, target: String, headers: [(name: String, value: String)], body: [UInt8], now: Date,
                       secret: (String) -> String?) throws(Refusal) -> Signer
    {
        try verify(try preflight(headers: headers, target: target, now: now, secret: secret), method: method, target: target, body: body)
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

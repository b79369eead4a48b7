import Foundation
import Testing
@testable import TrainingSigV4

/// AWS's published Signature Version 4 test suite (the `aws4_testsuite` files AWS distributed
/// with its General Reference, also kept in botocore's tests): each case is a request and the
/// Authorization header AWS computed for it with the suite's credentials, region and service.
@Suite("SigV4 against AWS's published test vectors")
struct SigV4Tests {
    static let signer = SigV4Signer(
        credentials: AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "service")
    /// 20150830T123600Z.
    static let date = Date(timeIntervalSince1970: 1_440_938_160)
    static let host = (name: "Host", value: "example.amazonaws.com")
    static let amzDate = (name: "X-Amz-Date", value: "20150830T123600Z")

    struct Vector: Sendable, CustomStringConvertible {
        let name: String
        let method: String
        let path: String
        let query: [(name: String, value: String)]
        let headers: [(name: String, value: String)]
        let body: String
        let signature: String
        let signedHeaders: String
        var description: String { name }
    }

    static let vectors: [Vector] = [
        Vector(name: "get-vanilla", method: "GET", path: "/", query: [], headers: [host, amzDate], body: "",
               signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", signedHeaders: "host;x-amz-date"),
        Vector(name: "get-vanilla-query-order-key-case", method: "GET", path: "/", query: [("Param2", "value2"), ("Param1", "value1")],
               headers: [host, amzDate], body: "",
               signature: "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500", signedHeaders: "host;x-amz-date"),
        Vector(name: "get-vanilla-query-unreserved", method: "GET", path: "/",
               query: [("-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")],
               headers: [host, amzDate], body: "",
               signature: "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197", signedHeaders: "host;x-amz-date"),
        Vector(name: "get-utf8", method: "GET", path: "/\u{1234}", query: [], headers: [host, amzDate], body: "",
               signature: "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85", signedHeaders: "host;x-amz-date"),
        Vector(name: "get-header-value-trim", method: "GET", path: "/", query: [],
               headers: [host, ("My-Header1", " value1"), ("My-Header2", " \"a   b   c\""), amzDate], body: "",
               signature: "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736", signedHeaders: "host;my-header1;my-header2;x-amz-date"),
        Vector(name: "get-header-key-duplicate", method: "GET", path: "/", query: [],
               headers: [host, ("My-Header1", "value2"), ("My-Header1", "value2"), ("My-Header1", "value1"), amzDate], body: "",
               signature: "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea", signedHeaders: "host;my-header1;x-amz-date"),
        Vector(name: "post-header-key-sort", method: "POST", path: "/", query: [], headers: [host, ("My-Header1", "value1"), amzDate], body: "",
               signature: "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c", signedHeaders: "host;my-header1;x-amz-date"),
        Vector(name: "post-x-www-form-urlencoded", method: "POST", path: "/", query: [],
               headers: [("Content-Type", "application/x-www-form-urlencoded"), host, amzDate], body: "Param1=value1",
               signature: "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a", signedHeaders: "content-type;host;x-amz-date"),
    ]

    @Test("each vector's Authorization header", arguments: vectors)
    func vector(_ vector: Vector) {
        let request = SigV4Signer.Request(method: vector.method, path: vector.path, query: vector.query, headers: vector.headers,
                                          payloadHash: SigV4Signer.hexSHA256(Data(vector.body.utf8)))
        #expect(Self.signer.authorization(request, date: Self.date)
            == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=\(vector.signedHeaders), Signature=\(vector.signature)")
    }

    @Test("the canonical request and string to sign of get-vanilla, as the suite spells them out")
    func intermediateSteps() {
        let request = SigV4Signer.Request(method: "GET", path: "/", headers: [Self.host, Self.amzDate], payloadHash: SigV4Signer.emptyPayloadHash)
        let canonical = Self.signer.canonicalRequest(request).text
        #expect(canonical == "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Self.signer.stringToSign(canonicalRequest: canonical, date: Self.date)
            == "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nbb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63")
    }

    @Test("temporary credentials sign their session token (get-vanilla-with-session-token)")
    func sessionToken() {
        var signer = Self.signer
        signer.credentials.sessionToken = "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267"
        let headers = [Self.host] + signer.headers(date: Self.date)
        let request = SigV4Signer.Request(method: "GET", path: "/", headers: headers, payloadHash: SigV4Signer.emptyPayloadHash)
        #expect(signer.authorization(request, date: Self.date).hasSuffix(
            "SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"))
    }

    @Test("S3's own example: GET Object with a Range header (AWS's S3 API reference)")
    func s3Example() {
        let signer = SigV4Signer(credentials: AWSCredentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                                 region: "us-east-1", service: "s3")
        let date = Date(timeIntervalSince1970: 1_369_353_600)  // 20130524T000000Z
        let request = SigV4Signer.Request(method: "GET", path: "/test.txt", headers: [
            ("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9"),
            ("x-amz-content-sha256", SigV4Signer.emptyPayloadHash), ("x-amz-date", "20130524T000000Z"),
        ], payloadHash: SigV4Signer.emptyPayloadHash)
        #expect(signer.authorization(request, date: date).hasSuffix("Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"))
    }
}

import Foundation
import Testing
@testable import TrainingSigV4

/// The verifier accepts exactly what AWS's signer produces (the published vectors, with their
/// Authorization headers as AWS computed them) and refuses each way a request can be wrong with
/// the error type AWS answers.
@Suite("SigV4 verification")
struct SigV4VerifierTests {
    typealias Vector = SigV4Tests.Vector
    static let secrets = ["AKIDEXAMPLE": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"]
    static let verifier = SigV4Verifier(region: "us-east-1", services: ["service"])

    static func target(_ vector: Vector) -> String {
        let query = vector.query.map { SigV4Signer.uriEncode($0.name) + "=" + SigV4Signer.uriEncode($0.value) }.joined(separator: "&")
        return vector.path + (query.isEmpty ? "" : "?" + query)
    }

    static func authorization(_ vector: Vector) -> (name: String, value: String) {
        (name: "Authorization", value: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
            + "SignedHeaders=\(vector.signedHeaders), Signature=\(vector.signature)")
    }

    static func verify(_ vector: Vector, headers: [(name: String, value: String)]? = nil, body: String? = nil,
                       now: Date = SigV4Tests.date, verifier: SigV4Verifier = verifier) throws(SigV4Verifier.Refusal) -> SigV4Verifier.Signer {
        try verifier.verify(method: vector.method, target: target(vector), headers: headers ?? (vector.headers + [authorization(vector)]),
                            body: Array((body ?? vector.body).utf8), now: now, secret: { secrets[$0] })
    }

    static let vanilla = SigV4Tests.vectors.first { $0.name == "get-vanilla" }!
    static let form = SigV4Tests.vectors.first { $0.name == "post-x-www-form-urlencoded" }!

    @Test("each of AWS's vectors verifies, with its access key and service", arguments: SigV4Tests.vectors)
    func vector(_ vector: Vector) throws {
        #expect(try Self.verify(vector) == SigV4Verifier.Signer(accessKeyID: "AKIDEXAMPLE", service: "service"))
    }

    static func refusal(_ work: () throws(SigV4Verifier.Refusal) -> SigV4Verifier.Signer) -> SigV4Verifier.Refusal? {
        do {
            _ = try work()
            return nil
        } catch {
            return error
        }
    }

    @Test("a changed body, header or secret is an InvalidSignatureException")
    func tampered() {
        #expect(Self.refusal { () throws(SigV4Verifier.Refusal) in try Self.verify(Self.form, body: "Param1=value2") }?.kind == .invalidSignature)
        var headers = Self.form.headers + [Self.authorization(Self.form)]
        headers[0].value = "application/json"
        #expect(Self.refusal { () throws(SigV4Verifier.Refusal) in try Self.verify(Self.form, headers: headers) }?.kind == .invalidSignature)
        let wrongSecret = Self.refusal { () throws(SigV4Verifier.Refusal) in
            try Self.verifier.verify(method: "GET", target: "/", headers: Self.vanilla.headers + [Self.authorization(Self.vanilla)], body: [],
                                     now: SigV4Tests.date, secret: { _ in "not the secret" })
        }
        #expect(wrongSecret?.kind == .invalidSignature)
        #expect(wrongSecret?.message.contains("does not match") == true)
    }

    @Test("a request more than five minutes old or ahead is refused as expired or not yet current; within five it passes")
    func skew() throws {
        let old = Self.refusal { () throws(SigV4Verifier.Refusal) in try Self.verify(Self.vanilla, now: SigV4Tests.date.addingTimeInterval(301)) }
        #expect(old?.kind == .invalidSignature)
        #expect(old?.message == "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150830T124101Z - 5 min.)")
        let ahead = Self.refusal { () throws(SigV4Verifier.Refusal) in try Self.verify(Self.vanilla, now: SigV4Tests.date.addingTimeInterval(-301)) }
        #expect(ahead?.message.hasPrefix("Signature not yet current") == true)
        _ = try Self.verify(Self.vanilla, now: SigV4Tests.date.addingTimeInterval(299))
        _ = try Self.verify(Self.vanilla, now: SigV4Tests.date.addingTimeInterval(-299))
    }

    @Test("no Authorization header is a MissingAuthenticationTokenException; a partial one an IncompleteSignatureException")
    func missingAndIncomplete() {
        #expect(Self.refusal { () throws(SigV4Verifier.Refusal) in try Self.verify(Self.vanilla, headers: Self.vanilla.headers) }?.kind == .missingAuthenticationToken)
        let partial = Self.vanilla.headers + [(name: "Authorization", value: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request")]
        let refusal = Self.refusal { () throws(SigV4Verifier.Refusal) in try Self.verify(Self.vanilla, headers: partial) }
        #expect(refusal?.kind == .incompleteSignature)
        #expect(refusal?.message == "Authorization header requires 'SignedHeaders' parameter. Authorization header requires 'Signature' parameter.")
        let noDate = [SigV4Tests.host, Self.authorization(Self.vanilla)]
        #expect(Self.refusal { () throws(SigV4Verifier.Refusal) in try Self.verify(Self.vanilla, headers: noDate) }?.kind == .incompleteSignature)
        let version2 = Self.vanilla.headers + [(name: "Authorization", value: "AWS AKIDEXAMPLE:c2lnbmF0dXJl")]
        #expect(Self.refusal { () throws(SigV4Verifier.Refusal) in try Self.verify(Self.vanilla, headers: version2) }?.kind == .incompleteSignature)
    }

    @Test("an unknown access key or a session token is an UnrecognizedClientException")
    func unknownClient() {
        let unknown = Self.refusal { () throws(SigV4Verifier.Refusal) in
            try Self.verifier.verify(method: "GET", target: "/", headers: Self.vanilla.headers + [Self.authorization(Self.vanilla)], body: [],
                                     now: SigV4Tests.date, secret: { _ in nil })
        }
        #expect(unknown?.kind == .unrecognizedClient)
        let token = Self.vanilla.headers + [Self.authorization(Self.vanilla), (name: "X-Amz-Security-Token", value: "t")]
        #expect(Self.refusal { () throws(SigV4Verifier.Refusal) in try Self.verify(Self.vanilla, headers: token) }?.kind == .unrecognizedClient)
    }

    @Test("the scope's region and service must be the verifier's")
    func scope() {
        let otherRegion = SigV4Verifier(region: "eu-west-1", services: ["service"])
        let region = Self.refusal { () throws(SigV4Verifier.Refusal) in try Self.verify(Self.vanilla, verifier: otherRegion) }
        #expect(region?.kind == .invalidSignature)
        #expect(region?.message.contains("AWS_REGION=eu-west-1") == true)
        let otherService = SigV4Verifier(region: "us-east-1", services: ["sagemaker", "logs"])
        #expect(Self.refusal { () throws(SigV4Verifier.Refusal) in try Self.verify(Self.vanilla, verifier: otherService) }?.kind == .invalidSignature)
    }

    @Test("the shared file format keeps its sections in order")
    func sharedFile() {
        let sections = AWSSharedFile.sections("# keys\n[b]\naws_access_key_id = B\n[a]\nuser = alice\n[b]\nregion = x\n")
        #expect(sections.map(\.name) == ["b", "a"])
        #expect(sections[0].values == ["aws_access_key_id": "B", "region": "x"])
    }

    @Test("signed headers as a signer writes them only; a bounded number of headers; the operation signed when there is one")
    func headerRules() throws {
        func authorization(_ signedHeaders: String) -> (name: String, value: String) {
            (name: "Authorization", value: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=\(signedHeaders), Signature=00")
        }
        for signed in ["x-amz-date;host", "host;host;x-amz-date", "Host;x-amz-date", "host;;x-amz-date",
                       (0..<40).map { "h\($0 + 10)" }.joined(separator: ";") + ";host;x-amz-date"] {
            let refusal = Self.refusal { () throws(SigV4Verifier.Refusal) in
                try Self.verify(Self.vanilla, headers: Self.vanilla.headers + [authorization(signed)])
            }
            #expect(refusal?.kind == .incompleteSignature, "\(signed)")
        }
        let many = Self.vanilla.headers + [Self.authorization(Self.vanilla)] + (0..<70).map { (name: "X-Filler-\($0)", value: "") }
        #expect(Self.refusal { () throws(SigV4Verifier.Refusal) in try Self.verify(Self.vanilla, headers: many) }?.message.contains("at most 64") == true)
        // A target that is sent must be signed: a captured request cannot be sent again as another operation.
        let unsignedTarget = Self.vanilla.headers + [Self.authorization(Self.vanilla), (name: "X-Amz-Target", value: "SageMaker.StopTrainingJob")]
        let refusal = Self.refusal { () throws(SigV4Verifier.Refusal) in try Self.verify(Self.vanilla, headers: unsignedTarget) }
        #expect(refusal?.message == "SignedHeaders must include x-amz-target")
    }

    @Test("a request scoped to one of the other accepted regions passes")
    func otherRegions() throws {
        let verifier = SigV4Verifier(region: "local", otherRegions: ["us-east-1"], services: ["service"])
        _ = try Self.verify(Self.vanilla, verifier: verifier)
        let refused = Self.refusal { () throws(SigV4Verifier.Refusal) in
            try Self.verify(Self.vanilla, verifier: SigV4Verifier(region: "local", otherRegions: ["eu-west-1"], services: ["service"]))
        }
        #expect(refused?.message.contains("trainingd's region is 'local'") == true)
        #expect(refused?.message.contains("it also accepts eu-west-1") == true)
    }
}

import Foundation
import Testing
import TrainingControl
import TrainingCore

/// The curl examples of docs/api.md, run against a real daemon.
@Suite("docs/api.md examples")
struct APIDocumentationTests {
    static let document = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/api.md").path

    /// The ```sh blocks that run curl, in order.
    static func examples() throws -> [String] {
        let text = try String(contentsOfFile: document, encoding: .utf8)
        return text.components(separatedBy: "```sh\n").dropFirst().compactMap { block in
            let body = block.components(separatedBy: "```").first ?? ""
            return body.hasPrefix("curl") ? body : nil
        }
    }

    @Test("every example answers as the document says")
    func examples() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let examples = try Self.examples()
        #expect(examples.count >= 6)
        var answers: [JSONValue] = []
        for example in examples {
            let result = try runCommand(["/bin/sh", "-c", example], environment: ["SOCK": daemon.socket])
            #expect(result.status == 0, "\(example)\n\(result.stderr)")
            answers.append(try StrictJSONParser.parse(Array(result.stdout.utf8)))
            if answers.count == 1 { try daemon.waitForEnd("hello") }
        }
        #expect(answers[0]["TrainingJobArn"]?.stringValue == "arn:aws:sagemaker:local:000000000000:training-job/hello")
        #expect(answers[1]["TrainingJobStatus"]?.stringValue == "Completed")
        #expect(answers[2]["TrainingJobSummaries"]?.arrayValue?.first?["TrainingJobName"] == "hello")
        #expect(answers[3]["Lines"] != nil)
        #expect(answers[4]["__type"] == "ValidationException")
        #expect(answers[5]["Lines"] != nil && answers[5]["NextToken"] == nil)
    }

    @Test("every operation and error type the daemon answers is in the document's tables")
    func everythingDocumented() throws {
        let text = try String(contentsOfFile: Self.document, encoding: .utf8)
        for operation in Operation.allCases {
            #expect(text.contains("| `\(operation.rawValue)` |"), "docs/api.md lacks a row for \(operation.rawValue)")
        }
        for kind in APIError.Kind.allCases {
            #expect(text.contains("`\(kind.rawValue)`"), "docs/api.md does not name the error \(kind.rawValue)")
        }
    }
}

import Foundation
import Testing
import TrainingCore

@Suite("Error messages and malformed input")
struct MessageTests {
    @Test("constraint messages are SageMaker's, with the field path")
    func exactText() {
        #expect(DefinitionBuilder().with("ResourceConfig.InstanceCount", 0).messages() == [
            "Value '0' at 'resourceConfig.instanceCount' failed to satisfy constraint: Member must have value greater than or equal to 1"
        ])
        #expect(DefinitionBuilder().with("TrainingJobName", "my_job").messages() == [
            "Value 'my_job' at 'trainingJobName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$"
        ])
        #expect(DefinitionBuilder().with("OutputDataConfig", nil).messages() == [
            "Value null at 'outputDataConfig' failed to satisfy constraint: Member must not be null"
        ])
        #expect(DefinitionBuilder().with("AlgorithmSpecification.TrainingInputMode", "Stream").messages() == [
            "Value 'Stream' at 'algorithmSpecification.trainingInputMode' failed to satisfy constraint: Member must satisfy enum value set: [Pipe, File, FastFile]"
        ])
        #expect(DefinitionBuilder().with("ResourceConfig.InstanceCnt", 1).messages() == [
            "Unknown member 'InstanceCnt' in 'resourceConfig': ResourceConfig has no such member; did you mean 'InstanceCount'?"
        ])
        #expect(DefinitionBuilder().with("InputDataConfig.0.CompressionType", "Gzip").messages() == [
            "Value 'Gzip' at 'inputDataConfig.1.member.compressionType' failed to satisfy constraint: CompressionType Gzip is only supported in Pipe mode, and this channel's input mode is File; use InputMode Pipe or decompress the data"
        ])
    }

    @Test("several errors are counted and joined with '; '")
    func summary() throws {
        let result = DefinitionBuilder().with("ResourceConfig.InstanceCount", 0).with("StoppingCondition.MaxRuntimeInSeconds", 0).validate()
        guard case .failure(let rejection) = result else { Issue.record("accepted"); return }
        #expect(rejection.description == "2 validation errors detected: "
            + "Value '0' at 'resourceConfig.instanceCount' failed to satisfy constraint: Member must have value greater than or equal to 1; "
            + "Value '0' at 'stoppingCondition.maxRuntimeInSeconds' failed to satisfy constraint: Member must have value greater than or equal to 1")
        let report = ValidationReport(file: "job.json", issues: rejection.issues)
        let decoded = try JSONSerialization.jsonObject(with: Data(report.jsonText().utf8)) as? [String: Any]
        #expect(decoded?["errorType"] as? String == "ValidationException")
        #expect((decoded?["errors"] as? [Any])?.count == 2)
        #expect(report.jsonText().contains("\"file\":\"job.json\""))
    }

    @Test("long values are shortened in messages")
    func shortened() {
        let messages = DefinitionBuilder().with("HyperParameters", ["lr": .string(repeated("1", 2501))]).messages()
        #expect(messages.count == 1)
        #expect(messages[0].contains("...' (2501 characters) at 'hyperParameters.lr'"))
    }

    static func rejection(_ bytes: [UInt8]) -> [ValidationIssue] {
        if case .failure(let rejection) = DefinitionValidator().validate(bytes) { return rejection.issues }
        return []
    }

    @Test("malformed JSON gives one syntax error with its position")
    func malformed() {
        let issues = Self.rejection(Array("{\n  \"TrainingJobName\": \"x\",\n  \"ResourceConfig\": {\n}".utf8))
        #expect(issues.count == 1)
        #expect(issues.first?.code == .syntax)
        #expect(issues.first?.message == "The definition is not valid JSON: line 4, column 2: unexpected end of input; expected ',' or '}' after a member")
    }

    @Test("a top-level array is refused as such")
    func topLevelArray() {
        let issues = Self.rejection(Array("[{}]".utf8))
        #expect(issues.map(\.message) == ["The definition must be a JSON object (a CreateTrainingJob request), not an array"])
    }

    @Test("invalid UTF-8 is refused without a crash")
    func invalidUTF8() {
        let issues = Self.rejection([0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D])
        #expect(issues.count == 1)
        #expect(issues.first?.message.contains("invalid UTF-8 (byte 0xFF at offset 2)") == true)
    }

    @Test("duplicate keys are refused, at any depth")
    func duplicateKeys() {
        let issues = Self.rejection(Array(#"{"ResourceConfig": {"InstanceCount": 1,"InstanceCount": 2}}"#.utf8))
        #expect(issues.map(\.path) == ["resourceConfig.instanceCount"])
        #expect(issues.first?.code == .duplicateKey)
        #expect(issues.first?.message.contains("duplicate key 'InstanceCount' in 'resourceConfig'") == true)
    }

    @Test("a 100 MB definition is refused by its size before parsing")
    func oversized() {
        let issues = Self.rejection(Array(repeating: 0x20, count: 100 * 1024 * 1024))
        #expect(issues.map(\.code) == [.tooLarge])
        #expect(issues.first?.message.hasPrefix("The definition is 104857600 bytes; definitions are limited to 4194304 bytes (4 MiB)") == true)
    }

    @Test("deep nesting is refused, not a stack overflow")
    func deepNesting() {
        let issues = Self.rejection(Array((String(repeating: "[", count: 100_000)).utf8))
        #expect(issues.map(\.code) == [.syntax])
    }

    @Test("a definition without TrainingJobName takes the default name, which must be valid")
    func defaultName() throws {
        let builder = DefinitionBuilder().with("TrainingJobName", nil)
        #expect(try DefinitionValidator().validate(builder.bytes, defaultJobName: "from-file").get().jobName == "from-file")
        guard case .failure(let rejection) = DefinitionValidator().validate(builder.bytes, defaultJobName: "bad_name") else {
            Issue.record("accepted"); return
        }
        #expect(rejection.issues.first?.message.contains("taken from the file name") == true)
        guard case .failure(let missing) = DefinitionValidator().validate(builder.bytes) else { Issue.record("accepted"); return }
        #expect(missing.issues.map(\.path) == ["trainingJobName"])
    }
}

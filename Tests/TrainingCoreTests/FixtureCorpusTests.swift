import Foundation
import Testing
import TrainingCore

/// The corpus under Tests/Fixtures (written by Tests/Fixtures/generate.py).
@Suite("Definition corpus")
struct FixtureCorpusTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static func files(_ kind: String) -> [String] {
        let directory = fixtures.appendingPathComponent(kind).path
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasSuffix(".json") && !$0.hasSuffix(".expected.json") }.sorted()
    }

    static func load(_ kind: String, _ name: String) -> [UInt8] {
        Array(FileManager.default.contents(atPath: fixtures.appendingPathComponent(kind).appendingPathComponent(name).path) ?? Data())
    }

    @Test("the corpus is large enough")
    func corpusSize() {
        #expect(Self.files("valid").count >= 8)
        #expect(Self.files("invalid").count >= 40)
    }

    @Test("every valid definition is accepted", arguments: files("valid"))
    func valid(_ name: String) {
        let result = DefinitionValidator().validate(Self.load("valid", name), defaultJobName: String(name.dropLast(5)))
        if case .failure(let rejection) = result { Issue.record("\(name): \(rejection)") }
    }

    @Test("every invalid definition reports exactly its expected issues", arguments: files("invalid"))
    func invalid(_ name: String) throws {
        let expectedData = Self.load("invalid", name.replacingOccurrences(of: ".json", with: ".expected.json"))
        let expected = try JSONDecoder().decode([[String: String]].self, from: Data(expectedData))
            .map { "\($0["path"]!) \($0["code"]!)" }
        switch DefinitionValidator().validate(Self.load("invalid", name), defaultJobName: nil) {
        case .success:
            Issue.record("\(name) was accepted")
        case .failure(let rejection):
            #expect(rejection.issues.map { "\($0.path) \($0.code.rawValue)" }.sorted() == expected.sorted(), "\(name): \(rejection)")
        }
    }

    @Test("the valid corpus covers every input mode and data source")
    func coverage() throws {
        var modes = Set<TrainingInputMode>()
        var sources = Set<String>()
        for name in Self.files("valid") {
            let definition = try DefinitionValidator().validate(Self.load("valid", name), defaultJobName: "x").get()
            for channel in definition.request.inputDataConfig ?? [] {
                modes.insert(definition.request.inputMode(of: channel))
                if let s3 = channel.dataSource.s3DataSource { sources.insert(s3.s3DataType.rawValue) }
                if channel.dataSource.fileSystemDataSource != nil { sources.insert("FileSystem") }
            }
        }
        #expect(modes == Set(TrainingInputMode.allCases))
        #expect(sources == ["S3Prefix", "ManifestFile", "AugmentedManifestFile", "FileSystem"])
    }
}

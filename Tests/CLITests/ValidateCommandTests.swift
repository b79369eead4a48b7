import Foundation
import Testing
import TrainingCore

/// `jobctl validate`, run as a user would run it: the built binary, its output and exit status.
@Suite("jobctl validate")
struct ValidateCommandTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static let jobctl: String = {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var directory = (executable as NSString).deletingLastPathComponent
        while !FileManager.default.fileExists(atPath: directory + "/jobctl"), directory != "/" {
            directory = (directory as NSString).deletingLastPathComponent
        }
        return directory + "/jobctl"
    }()

    static func run(_ arguments: [String], stdin: String? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: jobctl)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: repository)
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        let input = Pipe()
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("the README's examples are valid")
    func examples() throws {
        let examples = try FileManager.default.contentsOfDirectory(atPath: Self.repository + "/examples").filter { $0.hasSuffix(".json") }
        #expect(!examples.isEmpty)
        let result = try Self.run(["validate"] + examples.map { "examples/" + $0 })
        #expect(result.status == 0, "\(result.output)")
        #expect(result.output.contains("examples/linear-regression.json: valid"))
    }

    @Test("exit 1 with every error and its path; 2 when a file cannot be read")
    func exitStatus() throws {
        let invalid = try Self.run(["validate", "Tests/Fixtures/invalid/several-errors-at-once.json", "Tests/Fixtures/valid/fastfile-mode.json"])
        #expect(invalid.status == 1)
        #expect(invalid.output.contains("several-errors-at-once.json: 3 errors"))
        #expect(invalid.output.contains("Value '0' at 'resourceConfig.instanceCount' failed to satisfy constraint"))
        #expect(invalid.output.contains("fastfile-mode.json: valid"))
        let missing = try Self.run(["validate", "Tests/Fixtures/invalid/several-errors-at-once.json", "/nonexistent.json"])
        #expect(missing.status == 2)
        #expect(missing.output.contains("cannot read /nonexistent.json: No such file or directory"))
    }

    @Test("--json prints the .error.json schema, one report per line")
    func json() throws {
        let result = try Self.run(["validate", "--json", "Tests/Fixtures/invalid/duplicate-key.json", "Tests/Fixtures/valid/instance-groups.json"])
        let lines = result.output.split(separator: "\n")
        #expect(lines.count == 2)
        let first = try StrictJSONParser.parse(Array(lines[0].utf8))
        #expect(first["valid"] == false)
        #expect(first["errorType"] == "ValidationException")
        #expect(first["errors"]?.arrayValue?.first?["code"] == "duplicateKey")
        #expect(try StrictJSONParser.parse(Array(lines[1].utf8))["valid"] == true)
    }

    @Test("standard input, and --config adds the site checks")
    func stdinAndConfig() throws {
        let definition = try String(contentsOfFile: Self.repository + "/Tests/Fixtures/valid/cloud-uris-and-echoed-members.json", encoding: .utf8)
        #expect(try Self.run(["validate", "-"], stdin: definition).status == 0)
        let config = FileManager.default.temporaryDirectory.appendingPathComponent("site-\(UUID().uuidString).conf").path
        try "[paths]\nalgorithms = \"/nonexistent\"\n".write(toFile: config, atomically: true, encoding: .utf8)
        defer { unlink(config) }
        let sited = try Self.run(["validate", "--config", config, "-"], stdin: definition.replacingOccurrences(of: "/usr/bin/python3", with: "python:3"))
        #expect(sited.status == 1)
        // Not in the image table, nor (where podman and the storage are at hand) an image of the storage.
        #expect(sited.output.contains("TrainingImage 'python:3' is not") && sited.output.contains("[images.\"python:3\"]"), "\(sited.output)")
        let badConfig = try Self.run(["validate", "--config", "/nonexistent.conf", "examples/linear-regression.json"])
        #expect(badConfig.status == 2)
    }
}

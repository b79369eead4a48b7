import Foundation
import Testing
import TrainingCore

/// jobctl's help, completions, global options, and its rendering of daemon answers (issue 11, item 7).
@Suite("jobctl usability")
struct JobctlUsabilityTests {
    typealias CLI = ValidateCommandTests

    /// The subcommands `jobctl --help` lists, so that a new one is checked without editing this test.
    static func subcommands() throws -> [String] {
        let help = try CLI.run(["--help"]).output
        guard let section = help.components(separatedBy: "SUBCOMMANDS:").last else { return [] }
        return section.split(separator: "\n").compactMap { line -> String? in
            // A name stands two spaces in; deeper lines continue an abstract.
            guard line.hasPrefix("  "), !line.hasPrefix("   "), let word = line.split(separator: " ").first,
                  word.first?.isLowercase == true, word != "help" else { return nil }
            return String(word)
        }
    }

    @Test("every subcommand's --help is free of stray backslashes and unbalanced quotes")
    func helpText() throws {
        let names = try Self.subcommands()
        #expect(names.contains("submit") && names.contains("interrupt") && names.contains("completion"), "\(names)")
        for name in [[]] + names.map({ [$0] }) {
            let result = try CLI.run(name + ["--help"])
            #expect(result.status == 0, "\(name): \(result.output)")
            #expect(!result.output.contains("\\"), "\(name) --help has a backslash:\n\(result.output)")
            for quote in ["\"", "`"] {
                #expect(result.output.components(separatedBy: quote).count % 2 == 1, "\(name) --help has an unbalanced \(quote)")
            }
            if let name = name.first { #expect(try CLI.run(["help", name]).output == result.output) }
        }
    }

    @Test("a usage error names the subcommand as `jobctl NAME`, its usage and exit status 64, wherever the options stand")
    func usageErrors() throws {
        for name in try Self.subcommands() {
            for line in [[name, "--no-such-option"], ["--root", "/nonexistent", name, "--no-such-option"]] {
                let result = try CLI.run(line)
                #expect(result.status == 64, "\(line): \(result.output)")
                #expect(result.output.hasPrefix("Error: "), "\(line): \(result.output)")
                #expect(result.output.contains("Usage: jobctl \(name)"), "\(line): \(result.output)")
                #expect(result.output.contains("See 'jobctl \(name) --help' for more information."), "\(line): \(result.output)")
            }
        }
        // With nothing after a subcommand that needs an argument: what is missing, not the whole help.
        let bare = try CLI.run(["wait"])
        #expect(bare.status == 64)
        #expect(bare.output.contains("Missing expected argument '<name>'") && !bare.output.contains("OVERVIEW"), "\(bare.output)")
    }

    @Test("completion bash, zsh and fish print their scripts; another shell is refused with the choices")
    func completion() throws {
        let bash = try CLI.run(["completion", "bash"])
        #expect(bash.status == 0)
        #expect(bash.output.contains("-F _jobctl jobctl"))
        #expect(try CLI.run(["completion", "zsh"]).output.hasPrefix("#compdef jobctl"))
        #expect(try CLI.run(["completion", "fish"]).output.contains("complete -c 'jobctl'"))
        let other = try CLI.run(["completion", "tcsh"])
        #expect(other.status != 0)
        #expect(other.output.contains("use one of: zsh, bash, fish"))
    }

    @Test("--root and --socket are accepted by validate, before or after it; --root adds that root's site")
    func globalOptionsOnValidate() throws {
        let root = "/tmp/jc-root-" + String(UUID().uuidString.prefix(8))
        try FileManager.default.createDirectory(atPath: root + "/algorithms", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let file = "Tests/Fixtures/valid/file-mode-local-prefix.json"
        for arguments in [["--root", root, "validate", file], ["validate", "--root", root, file], ["--root=\(root)", "validate", file],
                          ["--socket", root + "/control.sock", "validate", file], ["validate", file, "--socket", "/nonexistent"]] {
            let result = try CLI.run(arguments)
            #expect(result.status == 0, "\(arguments): \(result.output)")
        }
        // The root's algorithms directory is the site's, as the daemon run with --root DIR reads it.
        let byName = try String(contentsOfFile: CLI.repository + "/" + file, encoding: .utf8)
            .replacingOccurrences(of: "\"TrainingImage\": \"/usr/bin/python3\"", with: "\"AlgorithmName\": \"nowhere\"")
        #expect(byName.contains("nowhere"))
        let unknown = try CLI.run(["--root", root, "validate", "-"], stdin: byName)
        #expect(unknown.status == 1, "\(unknown.output)")
        #expect(unknown.output.contains("nowhere"))
    }

    @Test("list --status is case-insensitive, and a bad one is told the valid values")
    func listStatus() throws {
        let daemon = try FakeDaemon(answers: ["SageMaker.ListTrainingJobs": #"{"TrainingJobSummaries": []}"#])
        for spelling in ["failed", "FAILED", "Failed"] {
            let result = try CLI.run(["list", "--status", spelling, "--socket", daemon.socketPath])
            #expect(result.status == 0, "\(spelling): \(result.output)")
        }
        let sent = daemon.requests.compactMap { try? StrictJSONParser.parse(Array($0.body.utf8))["StatusEquals"]?.stringValue }
        #expect(sent == ["Failed", "Failed", "Failed"])
        let bad = try CLI.run(["list", "--status", "broken", "--socket", daemon.socketPath])
        #expect(bad.status != 0)
        #expect(bad.output.contains("InProgress, Completed, Failed, Stopping, Stopped"), "\(bad.output)")
    }

    static let describeAnswer = """
        {"TrainingJobName": "long-named-job", "TrainingJobStatus": "Stopped", "SecondaryStatus": "MaxRuntimeExceeded",
         "FailureReason": "AlgorithmError: see the failure file", "CreationTime": 1000,
         "TrainingdFailureDetails": {"FailureFile": "Traceback (most recent call last):\\nValueError: bad learning rate\\n",
                                     "LogTail": ["2026-12-01T10:00:00.000Z out epoch 3", "2026-12-01T10:00:01.000Z err boom"]},
         "SecondaryStatusTransitions": [
           {"Status": "Training", "StartTime": 1001, "StatusMessage": "Training image download completed. Training in progress for a long while now"},
           {"Status": "MaxRuntimeExceeded", "StartTime": 1002,
            "StatusMessage": "The job reached MaxRuntimeInSeconds (1 s over all its attempts); stopping it; the algorithm did not stop within 1 s of SIGTERM; it was killed (SIGKILL)"}]}
        """

    @Test("describe cuts nothing, and shows TrainingdFailureDetails under the failure reason")
    func describeWhole() throws {
        let daemon = try FakeDaemon(answers: ["SageMaker.DescribeTrainingJob": Self.describeAnswer])
        let result = try CLI.run(["describe", "long-named-job", "--socket", daemon.socketPath])
        #expect(result.status == 0, "\(result.output)")
        #expect(!result.output.contains("…"))
        #expect(result.output.contains("Stopped / MaxRuntimeExceeded"))
        #expect(result.output.contains("  MaxRuntimeExceeded  The job reached MaxRuntimeInSeconds (1 s over all its attempts); stopping it; "
            + "the algorithm did not stop within 1 s of SIGTERM; it was killed (SIGKILL)\n"))
        #expect(result.output.contains("Training in progress for a long while now\n"))
        let lines = result.output.split(separator: "\n").map(String.init)
        let failure = try #require(lines.firstIndex { $0.hasPrefix("Failure:") })
        #expect(Array(lines[(failure + 1)...].prefix(6)) == [
            "Failure file:", "  Traceback (most recent call last):", "  ValueError: bad learning rate",
            "Last log lines:", "  2026-12-01T10:00:00.000Z out epoch 3", "  2026-12-01T10:00:01.000Z err boom",
        ])
        let plain = try FakeDaemon(answers: ["SageMaker.DescribeTrainingJob": #"{"TrainingJobName": "j", "TrainingJobStatus": "Failed", "FailureReason": "x"}"#])
        let without = try CLI.run(["describe", "j", "--socket", plain.socketPath])
        #expect(!without.output.contains("Failure file:") && !without.output.contains("Last log lines:"))
    }

    @Test("list --wide cuts no names or statuses")
    func listWide() throws {
        let name = String(repeating: "n", count: 40)
        let daemon = try FakeDaemon(answers: ["SageMaker.ListTrainingJobs": """
            {"TrainingJobSummaries": [{"TrainingJobName": "\(name)", "TrainingJobStatus": "Stopped", "SecondaryStatus": "MaxRuntimeExceeded", "CreationTime": 1}]}
            """])
        let narrow = try CLI.run(["list", "--socket", daemon.socketPath])
        #expect(narrow.output.contains("…"))
        let wide = try CLI.run(["list", "--wide", "--socket", daemon.socketPath])
        #expect(wide.output.contains(name + " Stopped     MaxRuntimeExceeded "), "\(wide.output)")
    }
}

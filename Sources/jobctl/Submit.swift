import ArgumentParser
import Foundation
import TrainingControl
import TrainingCore

/// `jobctl submit FILE`: CreateTrainingJob through the control socket.
struct Submit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Submit a definition; prints the job's ARN.",
        discussion: "A definition without TrainingJobName takes its file's base name, as in the spool. With --wait, follows the job until it ends; the exit status says how it ended (0 Completed, 1 Failed, 3 Stopped).")

    @Argument(help: ArgumentHelp("The definition (CreateTrainingJob JSON); - reads standard input.", valueName: "file"))
    var file: String

    @Flag(name: .long, help: "Follow the job until it ends.")
    var wait = false

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let bytes: [UInt8]
        switch DefinitionInput.read(file) {
        case .failure(let issue):
            FileHandle.standardError.write(Data("jobctl: \(issue.message)\n".utf8))
            throw ExitCode(ExitStatus.unreadable)
        case .success(let read):
            bytes = read
        }
        var document: JSONValue
        do {
            document = try StrictJSONParser.parse(bytes)
        } catch {
            FileHandle.standardError.write(Data("jobctl: \(file) is not valid JSON: \(error)\n".utf8))
            throw ExitCode(ExitStatus.invalid)
        }
        if case .object = document, document["TrainingJobName"] == nil, let name = DefinitionInput.defaultJobName(for: file) {
            document = .object([JSONValue.Member("TrainingJobName", .string(name))] + (document.objectMembers ?? []))
        }
        let answer: JSONValue
        do {
            answer = try connection.client.call(.createTrainingJob, document)
        } catch {
            if case .api(let apiError) = error, apiError.kind == .validation || apiError.kind == .serialization {
                FileHandle.standardError.write(Data("jobctl: \(apiError.message)\n".utf8))
                throw ExitCode(ExitStatus.invalid)
            }
            throw ConnectionOptions.failure(error)
        }
        print(answer["TrainingJobArn"]?.stringValue ?? answer.serialized())
        guard wait, let name = document["TrainingJobName"]?.stringValue else { return }
        throw ExitCode(try JobWaiter(connection: connection, name: name, verbose: true).waitForEnd())
    }
}

/// Polls DescribeTrainingJob until the job ends, printing each new secondary status.
struct JobWaiter {
    let connection: ConnectionOptions
    let name: String
    let verbose: Bool

    /// The exit status for how the job ended.
    func waitForEnd() throws -> Int32 {
        var shown = 0
        while true {
            let job = try connection.call(.describeTrainingJob, ["TrainingJobName": .string(name)])
            let transitions = job["SecondaryStatusTransitions"]?.arrayValue ?? []
            if verbose {
                for transition in transitions.dropFirst(shown) {
                    let status = transition["Status"]?.stringValue ?? "?"
                    print("\(Terminal.time(transition["StartTime"]))  \(Terminal.status(status))  \(transition["StatusMessage"]?.stringValue ?? "")")
                }
                shown = transitions.count
            }
            switch job["TrainingJobStatus"]?.stringValue {
            case "Completed": return ExitStatus.success
            case "Failed":
                if verbose, let reason = job["FailureReason"]?.stringValue { print("FailureReason: \(reason)") }
                return ExitStatus.invalid
            case "Stopped": return ExitStatus.stopped
            default: usleep(200_000)
            }
        }
    }
}

/// `jobctl wait NAME`: waits for a job to end; the exit status says how.
struct Wait: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Wait until a job ends.", discussion: "Exit status: 0 Completed, 1 Failed, 3 Stopped.")

    @Argument(help: ArgumentHelp("The job's name.", valueName: "name"))
    var name: String

    @Flag(name: .long, help: "Print each status change.")
    var verbose = false

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        throw ExitCode(try JobWaiter(connection: connection, name: name, verbose: verbose).waitForEnd())
    }
}

import ArgumentParser
import Foundation
import TrainingControl
import TrainingCore

/// `jobctl submit FILE`: CreateTrainingJob through the control socket.
struct Submit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit",
        _superCommandName: Jobctl.name,
        abstract: "Submit a definition; prints the job's ARN.",
        discussion: """
            A definition without TrainingJobName takes its file's base name, as in the spool; --name gives \
            it another, so that one file can be submitted many times. With --wait, follows the job until it \
            ends, printing each status change; with --logs, prints the job's log (host algo-1) as it is \
            written instead, then how the job ended. Either way the exit status says how it ended \
            (0 Completed, 1 Failed, 3 Stopped).
            """)

    @Argument(help: ArgumentHelp("The definition (CreateTrainingJob JSON); - reads standard input.", valueName: "file"))
    var file: String

    @Flag(name: .long, help: "Follow the job until it ends.")
    var wait = false

    @Flag(name: .long, help: "With --wait: print the job's log while it runs, then its final status.")
    var logs = false

    @Option(name: .long, help: ArgumentHelp("The job's name, instead of the file's TrainingJobName.", valueName: "name"))
    var name: String?

    @OptionGroup var connection: ConnectionOptions

    func validate() throws {
        if logs, !wait { throw ValidationError("--logs prints the log while waiting; add --wait") }
    }

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
        if case .object = document, let jobName = name ?? (document["TrainingJobName"] == nil ? DefinitionInput.defaultJobName(for: file) : nil) {
            document = .object([JSONValue.Member("TrainingJobName", .string(jobName))]
                + (document.objectMembers ?? []).filter { $0.key != "TrainingJobName" })
        }
        let answer: JSONValue
        do {
            answer = try connection.client.call(.createTrainingJob, document)
        } catch {
            // The definition is what is wrong (including asking for more than the machine has): exit 2, with the type.
            if case .api(let apiError) = error, [.validation, .serialization, .resourceLimitExceeded].contains(apiError.kind) {
                FileHandle.standardError.write(Data("jobctl: \(apiError.kind.rawValue): \(apiError.message)\n".utf8))
                throw ExitCode(ExitStatus.invalid)
            }
            throw ConnectionOptions.failure(error)
        }
        print(answer["TrainingJobArn"]?.stringValue ?? answer.serialized())
        guard wait, let jobName = document["TrainingJobName"]?.stringValue else { return }
        let waiter = JobWaiter(connection: connection, name: jobName, report: logs ? .end : .everyChange)
        if logs { try waiter.printLog() }
        throw ExitCode(try waiter.waitForEnd())
    }
}

/// `jobctl wait NAME`: waits for a job to end; the exit status says how.
struct Wait: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait",
        _superCommandName: Jobctl.name,
        abstract: "Wait until a job ends.", discussion: "Exit status: 0 Completed, 1 Failed, 3 Stopped.")

    @Argument(help: ArgumentHelp("The job's name.", valueName: "name"))
    var name: String

    @Flag(name: .long, help: "Print each status change.")
    var verbose = false

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        throw ExitCode(try JobWaiter(connection: connection, name: name, report: verbose ? .everyChange : .silent).waitForEnd())
    }
}

import ArgumentParser
import Foundation
import TrainingControl
import TrainingCore

/// `jobctl stop NAME`: StopTrainingJob (SIGTERM, the grace period, then SIGKILL).
struct Stop: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stop", _superCommandName: Jobctl.name, abstract: "Stop a job: SIGTERM, the grace period, then SIGKILL.")

    @Argument(help: ArgumentHelp("The job's name.", valueName: "name"))
    var name: String

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        _ = try connection.call(.stopTrainingJob, ["TrainingJobName": .string(name)])
        print("stopping \(name)")
    }
}

/// `jobctl delete NAME`: DeleteTrainingJob of an ended job (its artifacts stay).
struct Delete: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "delete", _superCommandName: Jobctl.name, abstract: "Delete an ended job's records, volume and logs (artifacts stay).")

    @Argument(help: ArgumentHelp("The job's name.", valueName: "name"))
    var name: String

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        _ = try connection.call(.deleteTrainingJob, ["TrainingJobName": .string(name)])
        print("deleted \(name)")
    }
}

/// `jobctl logs NAME`: a host's log, and with --follow the lines still to come.
struct Logs: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "logs", _superCommandName: Jobctl.name, abstract: "Print a job host's log.")

    @Argument(help: ArgumentHelp("The job's name.", valueName: "name"))
    var name: String

    @Flag(name: [.short, .long], help: "Keep printing new lines until the job ends.")
    var follow = false

    @Option(name: .long, help: ArgumentHelp("The host (algo-1, algo-2, ...).", valueName: "host"))
    var host: String = "algo-1"

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let request: JSONValue = ["TrainingJobName": .string(name), "Host": .string(host)]
        guard follow else {
            // The daemon answers a page at a time; follow NextToken to the end, printing as pages come.
            var page = request
            while true {
                let answer = try connection.call(.getLogs, page)
                for line in answer["Lines"]?.arrayValue ?? [] { print(line.stringValue ?? "") }
                guard let token = answer["NextToken"], token != page["NextToken"] else { return }
                page = request.setting("NextToken", token)
            }
        }
        do {
            try connection.client.stream(.followLogs, request) { line in
                // Unbuffered, so that a pipe (`jobctl logs -f job | grep ...`) sees each line as it comes.
                FileHandle.standardOutput.write(Data((line + "\n").utf8))
                return true
            }
        } catch {
            throw ConnectionOptions.failure(error)
        }
    }
}

import ArgumentParser
import Foundation

/// `jobctl`: the command-line client of trainingd.
@main
struct Jobctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobctl",
        abstract: "Submit, inspect and control trainingd training jobs.",
        discussion: """
            Definitions are SageMaker CreateTrainingJob requests (JSON). `jobctl validate` checks them \
            offline; the other commands talk to a running trainingd over its control socket, found in \
            this order: --socket PATH, $TRAININGD_SOCKET, --root DIR (its control.sock), \
            /run/trainingd/control.sock.

            Exit status: 0 success (a job Completed); 1 a definition is invalid or a job Failed; \
            2 unreadable input or bad usage; 3 a job was Stopped; 4 the daemon cannot be reached; \
            5 the daemon refused the request.
            """,
        subcommands: [
            Submit.self, List.self, Describe.self, Stop.self, Wait.self, Logs.self, Metrics.self, Events.self, Delete.self,
            Validate.self, Interrupt.self, Drain.self,
        ]
    )

    /// Lets the connection options stand before the subcommand too (`jobctl --root DIR list`).
    static func main() {
        var arguments = Array(CommandLine.arguments.dropFirst())
        var moved: [String] = []
        while let first = arguments.first, ["--socket", "--root"].contains(first), arguments.count >= 2 {
            moved += arguments.prefix(2)
            arguments.removeFirst(2)
        }
        if !moved.isEmpty, !arguments.isEmpty { arguments.insert(contentsOf: moved, at: 1) }
        do {
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            exit(withError: error)
        }
    }
}

/// Exit codes shared by every subcommand; `jobctl --help` lists them.
enum ExitStatus {
    static let success: Int32 = 0
    /// A definition is invalid, or a job Failed.
    static let invalid: Int32 = 1
    /// Input could not be read, or the configuration is unusable.
    static let unreadable: Int32 = 2
    /// A job was Stopped (by a request or a limit).
    static let stopped: Int32 = 3
    /// No daemon answers at the socket.
    static let unreachable: Int32 = 4
    /// The daemon refused the request.
    static let refused: Int32 = 5
}

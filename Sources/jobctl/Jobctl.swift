import ArgumentParser
import Foundation

/// `jobctl`: the command-line client of trainingd.
@main
struct Jobctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: name,
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
        // Each subcommand names itself (commandName): a name ArgumentParser derives from the type costs
        // a scan of every protocol conformance in the binary per subcommand, at every start.
        subcommands: [
            Submit.self, List.self, Describe.self, Stop.self, Wait.self, Logs.self, Metrics.self, Events.self, Delete.self,
            Validate.self, Images.self, Interrupt.self, Drain.self, Completion.self,
        ]
    )

    static let name = "jobctl"

    /// Lets the connection options stand before the subcommand too (`jobctl --root DIR list`).
    static func main() {
        OutputBuffering.flushEveryLine()
        let arguments = GlobalOptions.movedAfterSubcommand(Array(CommandLine.arguments.dropFirst()))
        var command: any ParsableCommand
        do {
            command = try parseSubcommandAlone(arguments) ?? parseAsRoot(arguments)
        } catch {
            exit(withError: error)
        }
        do {
            try command.run()
        } catch {
            exit(withError: error)
        }
    }

    /// A line that starts with a subcommand's name, parsed by that subcommand alone (each is a
    /// command of its own under jobctl: `_superCommandName`). Parsed from the root, ArgumentParser
    /// would first parse the line twice more looking for `--generate-completion-script` (`jobctl
    /// completion` is the way here) and build the root's arguments: about 0.8 ms, a fifth of a jobctl
    /// start (bench/RESULTS.md). Nil where that parse fails (help asked for, a usage error): the
    /// root parses the line again, so that what it says and its exit status are what they always were.
    static func parseSubcommandAlone(_ arguments: [String]) -> (any ParsableCommand)? {
        guard let name = arguments.first,
              let subcommand = configuration.subcommands.first(where: { $0.configuration.commandName == name }) else { return nil }
        return try? subcommand.parseAsRoot(Array(arguments.dropFirst()))
    }
}

/// The options every subcommand accepts (``ConnectionOptions``), wherever they stand on the line.
enum GlobalOptions {
    static let names = ["--socket", "--root"]

    /// `--root DIR list` becomes `list --root DIR`: the parser only knows a subcommand's options
    /// after its name. `--root=DIR` is moved whole.
    static func movedAfterSubcommand(_ arguments: [String]) -> [String] {
        var remaining = arguments
        var moved: [String] = []
        while let first = remaining.first {
            if names.contains(first), remaining.count >= 2 {
                moved += remaining.prefix(2)
                remaining.removeFirst(2)
            } else if names.contains(where: { first.hasPrefix($0 + "=") }) {
                moved.append(first)
                remaining.removeFirst()
            } else {
                break
            }
        }
        guard !moved.isEmpty, !remaining.isEmpty else { return arguments }
        // `jobctl --root DIR help list` asks for help, which takes no options.
        if remaining.first == "help" { return remaining }
        remaining.insert(contentsOf: moved, at: 1)
        return remaining
    }
}

/// Output reaches a pipe (`| tee`, `timeout jobctl ...`) line by line, as it does a terminal.
enum OutputBuffering {
    static func flushEveryLine() {
        // Block buffering, the C library's choice for a pipe, would hold `submit --wait`'s progress until
        // the job ends, and lose it altogether when the process is killed (`timeout jobctl ...`).
        if let output = stream(named: "stdout") { setvbuf(output, nil, _IOLBF, 0) }
        if let errors = stream(named: "stderr") { setvbuf(errors, nil, _IONBF, 0) }
    }

    /// The C library's `stdout` or `stderr`, looked up as the symbol it is: Swift 6 refuses to read
    /// C globals that are mutable, and there is no other way to reach the streams `print` writes to.
    private static func stream(named name: String) -> UnsafeMutablePointer<FILE>? {
        dlsym(nil, name)?.load(as: UnsafeMutablePointer<FILE>?.self)
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

import ArgumentParser
import Foundation
import TrainingDaemon

/// `trainingd`: the training-job supervisor.
@main
struct Trainingd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trainingd",
        abstract: "Run SageMaker-style training jobs on this machine.",
        discussion: """
            Without options, reads /etc/trainingd/trainingd.conf (if present) and uses the packaged \
            paths (/var/spool/trainingd, /var/lib/trainingd, /run/trainingd/control.sock). With --root, \
            keeps everything inside DIR. docs/configuration.md describes the configuration.
            """,
        subcommands: [Run.self, WorkerCommand.self],
        defaultSubcommand: Run.self
    )
}

extension Trainingd {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the daemon (the default).")

        @Option(name: .long, help: ArgumentHelp("Keep spool, state, jobs, logs and socket inside DIR.", valueName: "dir"))
        var root: String?

        @Option(name: .long, help: ArgumentHelp("The configuration file (TOML).", valueName: "path"))
        var config: String?

        func run() throws {
            let options = DaemonOptions(root: root.map(Self.absolute), configurationPath: config.map(Self.absolute))
            let failure: DaemonError
            do {
                try Daemon(options: options).run()
                return
            } catch {
                failure = error
            }
            FileHandle.standardError.write(Data("trainingd: \(failure.message)\n".utf8))
            // 78 is EX_CONFIG (sysexits.h), which systemd and daemon(7) read as a configuration error.
            throw ExitCode(failure.code == .configuration ? 78 : 1)
        }

        static func absolute(_ path: String) -> String {
            path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        }
    }

    /// Staging and packaging in a process of the job owner's (started by the daemon, not by people).
    struct WorkerCommand: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "_worker", shouldDisplay: false)

        @Argument var kind: String
        @Argument var request: String
        @Argument var result: String

        func run() throws {
            guard let kind = Worker.Kind(rawValue: kind) else { throw ValidationError("unknown worker kind \(kind)") }
            let status = Worker.main(kind: kind, requestPath: request, resultPath: result)
            if status != 0 { throw ExitCode(status) }
        }
    }
}

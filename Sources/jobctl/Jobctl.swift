import ArgumentParser

/// `jobctl`: the command-line client of trainingd.
@main
struct Jobctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobctl",
        abstract: "Submit, inspect and control trainingd training jobs.",
        discussion: """
            Definitions are SageMaker CreateTrainingJob requests (JSON). `jobctl validate` checks them \
            offline; the other commands talk to a running trainingd over its control socket.
            """,
        subcommands: [Validate.self]
    )
}

/// Exit codes shared by every subcommand; docs/jobctl.md lists them.
enum ExitStatus {
    static let success: Int32 = 0
    /// A definition is invalid, or a job ended other than Completed.
    static let invalid: Int32 = 1
    /// Input could not be read, or the configuration is unusable.
    static let unreadable: Int32 = 2
}

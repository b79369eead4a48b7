import ArgumentParser
import Foundation
import TrainingControl
import TrainingCore

/// `jobctl interrupt NAME`: Trainingd.InterruptTrainingJob, as a spot capacity reclaim.
struct Interrupt: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interrupt",
        _superCommandName: Jobctl.name,
        abstract: "Interrupt a running job as a spot reclaim would; it resumes from its checkpoints when capacity allows.",
        discussion: """
            The algorithm gets SIGTERM and the grace period, its checkpoints are synced, and the job goes \
            Interrupted (still InProgress), then Starting again. An interruption uses none of the job's \
            RetryStrategy attempts; for managed spot jobs, MaxWaitTimeInSeconds keeps counting.
            """)

    @Argument(help: ArgumentHelp("The job's name.", valueName: "name"))
    var name: String

    @Option(name: .long, help: ArgumentHelp("Seconds before the reclaimed capacity comes back and the job may start again.", valueName: "seconds"))
    var capacityReturnsAfter: Double = 0

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        _ = try connection.call(.interruptTrainingJob, ["TrainingJobName": .string(name), "CapacityReturnsInSeconds": .double(capacityReturnsAfter)])
        print("interrupting \(name)")
    }
}

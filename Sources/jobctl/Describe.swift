import ArgumentParser
import Foundation
import TrainingControl
import TrainingCore

extension String {
    var trimmingTrailingSpaces: String {
        String(reversed().drop(while: { $0 == " " }).reversed())
    }
}

/// `jobctl describe NAME`: DescribeTrainingJob, as a summary or as the API's JSON.
struct Describe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "describe",
        _superCommandName: Jobctl.name,
        abstract: "Show a job: status, history, artifacts, metrics.",
        discussion: "Nothing is cut: statuses, reasons and messages are printed whole (--json for the API's answer).")

    @Argument(help: ArgumentHelp("The job's name.", valueName: "name"))
    var name: String

    @Flag(name: .long, help: "Print the DescribeTrainingJob response as JSON.")
    var json = false

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let job = try connection.call(.describeTrainingJob, ["TrainingJobName": .string(name)])
        if json {
            print(job.serialized(.pretty))
            return
        }
        func line(_ label: String, _ value: String?) {
            guard let value else { return }
            print(Terminal.fit(label + ":", 14) + " " + value)
        }
        line("Name", job["TrainingJobName"]?.stringValue)
        line("ARN", job["TrainingJobArn"]?.stringValue)
        line("Status", [job["TrainingJobStatus"], job["SecondaryStatus"]].compactMap { $0?.stringValue }.map(Terminal.status).joined(separator: " / "))
        line("Failure", job["FailureReason"]?.stringValue)
        printFailureDetails(job["TrainingdFailureDetails"])
        line("Created", Terminal.time(job["CreationTime"]))
        if job["TrainingStartTime"] != nil { line("Started", Terminal.time(job["TrainingStartTime"])) }
        if job["TrainingEndTime"] != nil { line("Ended", Terminal.time(job["TrainingEndTime"])) }
        line("Training time", job["TrainingTimeInSeconds"]?.integerValue.map { "\($0) s" })
        line("Billable time", job["BillableTimeInSeconds"]?.integerValue.map { "\($0) s" })
        line("Image", job["AlgorithmSpecification"]?["TrainingImage"]?.stringValue ?? job["AlgorithmSpecification"]?["AlgorithmName"]?.stringValue)
        line("Model", job["ModelArtifacts"]?["S3ModelArtifacts"]?.stringValue)
        for metric in job["FinalMetricDataList"]?.arrayValue ?? [] {
            let value: String
            switch metric["Value"] {
            case .double(let number)?: value = String(number)
            case .integer(let number)?: value = String(number)
            default: value = "?"
            }
            line("Metric", "\(metric["MetricName"]?.stringValue ?? "?") = \(value)")
        }
        let attempts = job["TrainingdAttempts"]?.arrayValue ?? []
        if attempts.count > 1 || attempts.contains(where: { $0["Outcome"]?.stringValue == "Interrupted" }) {
            print("Attempts:")
            for attempt in attempts {
                let number = attempt["AttemptNumber"]?.integerValue ?? 0
                let outcome = attempt["Outcome"]?.stringValue ?? "running"
                let trained: String
                switch attempt["TrainingTimeInSeconds"] {
                case .double(let seconds)?: trained = "trained \(Int(seconds.rounded())) s"
                default: trained = ""
                }
                let reason = attempt["Reason"]?.stringValue.map { "  " + $0 } ?? ""
                print("  #\(number)  \(Terminal.time(attempt["StartTime"]))  \(Terminal.status(Terminal.pad(outcome, 11)))  \(Terminal.pad(trained, 16))\(reason)")
            }
        }
        print("History:")
        let transitions = job["SecondaryStatusTransitions"]?.arrayValue ?? []
        // The status column is as wide as the longest status (MaxRuntimeExceeded), so nothing is cut.
        let statusWidth = max(12, transitions.map { $0["Status"]?.stringValue?.count ?? 1 }.max() ?? 0)
        for transition in transitions {
            let status = transition["Status"]?.stringValue ?? "?"
            let message = transition["StatusMessage"]?.stringValue ?? ""
            let text = "  \(Terminal.time(transition["StartTime"]))  \(Terminal.status(Terminal.pad(status, statusWidth)))  \(message)"
            print(message.isEmpty ? text.trimmingTrailingSpaces : text)
        }
    }

    /// trainingd's TrainingdFailureDetails, when the daemon sends it: the algorithm's whole
    /// output/failure text, then the last lines of its log.
    func printFailureDetails(_ details: JSONValue?) {
        guard let details else { return }
        if let failureFile = details["FailureFile"]?.stringValue, !failureFile.isEmpty {
            print("Failure file:")
            for text in failureFile.split(separator: "\n", omittingEmptySubsequences: false).reversed().drop(while: \.isEmpty).reversed() {
                print("  " + text)
            }
        }
        let tail = details["LogTail"]?.arrayValue?.compactMap(\.stringValue) ?? []
        if !tail.isEmpty {
            print("Last log lines:")
            for text in tail { print("  " + text) }
        }
    }
}

import ArgumentParser
import Foundation
import TrainingControl
import TrainingCore

/// `jobctl describe NAME`: DescribeTrainingJob, as a summary or as the API's JSON.
struct Describe: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show a job: status, history, artifacts, metrics.")

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
                let reason = attempt["Reason"]?.stringValue.map { "  " + Terminal.fit($0, 60).trimmingCharacters(in: .whitespaces) } ?? ""
                print("  #\(number)  \(Terminal.time(attempt["StartTime"]))  \(Terminal.status(Terminal.fit(outcome, 11)))  \(Terminal.fit(trained, 16))\(reason)")
            }
        }
        print("History:")
        for transition in job["SecondaryStatusTransitions"]?.arrayValue ?? [] {
            let status = transition["Status"]?.stringValue ?? "?"
            let message = transition["StatusMessage"]?.stringValue ?? ""
            print("  \(Terminal.time(transition["StartTime"]))  \(Terminal.status(Terminal.fit(status, 12)))  \(Terminal.fit(message, 44).trimmingCharacters(in: .whitespaces))")
        }
    }
}

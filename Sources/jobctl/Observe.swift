import ArgumentParser
import Foundation
import TrainingControl
import TrainingCore

/// `jobctl events [NAME]`: status changes as they happen.
struct Events: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "events",
        _superCommandName: Jobctl.name,
        abstract: "Print status changes as they happen.",
        discussion: "Without a name, every job's, until interrupted; with a name, that job's, ending when it ends.")

    @Argument(help: ArgumentHelp("Only this job's changes.", valueName: "name"))
    var name: String?

    @Flag(name: .long, help: "Print each event as the API's JSON line.")
    var json = false

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let request: JSONValue = name.map { ["TrainingJobName": .string($0)] } ?? .object([])
        do {
            try connection.client.stream(.watchEvents, request) { line in
                guard !json, let event = try? StrictJSONParser.parse(Array(line.utf8)) else {
                    FileHandle.standardOutput.write(Data((line + "\n").utf8))
                    return true
                }
                let text = "\(Terminal.time(event["Time"]))  \(Terminal.fit(event["TrainingJobName"]?.stringValue ?? "?", 24)) "
                    + "\(Terminal.status(event["SecondaryStatus"]?.stringValue ?? "?"))  \(event["StatusMessage"]?.stringValue ?? "")"
                FileHandle.standardOutput.write(Data((text + "\n").utf8))
                return true
            }
        } catch {
            throw ConnectionOptions.failure(error)
        }
    }
}

/// `jobctl metrics NAME`: the MetricDefinitions values found in a job's log.
struct Metrics: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "metrics", _superCommandName: Jobctl.name, abstract: "Show a job's metrics: last value and how many were seen.")

    @Argument(help: ArgumentHelp("The job's name.", valueName: "name"))
    var name: String

    @Option(name: .long, help: ArgumentHelp("The host (algo-1, algo-2, ...).", valueName: "host"))
    var host: String = "algo-1"

    @Flag(name: .long, help: "Print the whole time series as the API's JSON.")
    var json = false

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        let answer = try connection.call(.getMetrics, ["TrainingJobName": .string(name), "Host": .string(host)])
        if json {
            print(answer.serialized(.pretty))
            return
        }
        print("\(Terminal.fit("METRIC", 32)) \(Terminal.fit("LAST", 16)) \(Terminal.fit("POINTS", 8)) AT")
        for metric in answer["Metrics"]?.arrayValue ?? [] {
            let values = metric["Values"]?.arrayValue ?? []
            let last: String
            switch values.last?["Value"] {
            case .double(let number)?: last = String(number)
            case .integer(let number)?: last = String(number)
            default: last = "-"
            }
            print("\(Terminal.fit(metric["MetricName"]?.stringValue ?? "?", 32)) \(Terminal.fit(last, 16)) \(Terminal.fit(String(values.count), 8)) \(Terminal.time(values.last?["Timestamp"]))")
        }
    }
}

import ArgumentParser
import Foundation
import TrainingControl
import TrainingCore

/// `jobctl list`: ListTrainingJobs, every page, as a table or JSON.
struct List: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", _superCommandName: Jobctl.name, abstract: "List jobs, newest first.")

    @Option(name: .long, help: ArgumentHelp("Only jobs with this status, in any case: InProgress, Completed, Failed, Stopping or Stopped.", valueName: "status"))
    var status: String?

    @Option(name: .customLong("name-contains"), help: ArgumentHelp("Only jobs whose name contains this.", valueName: "text"))
    var nameContains: String?

    @Option(name: .customLong("sort-by"), help: ArgumentHelp("Name, CreationTime or Status.", valueName: "key"))
    var sortBy: String = "CreationTime"

    @Option(name: .customLong("sort-order"), help: ArgumentHelp("Ascending or Descending.", valueName: "order"))
    var sortOrder: String = "Descending"

    @Option(name: .customLong("max-results"), help: ArgumentHelp("At most this many jobs (all by default).", valueName: "n"))
    var maxResults: Int?

    @Flag(name: .long, help: "Print the jobs' summaries as a JSON array.")
    var json = false

    @Flag(name: .long, help: "Print names and statuses whole, however wide the table gets.")
    var wide = false

    @OptionGroup var connection: ConnectionOptions

    /// --status as the API spells it (`failed` is `Failed`).
    var statusEquals: TrainingJobStatus? {
        status.flatMap { given in TrainingJobStatus.allCases.first { $0.rawValue.lowercased() == given.lowercased() } }
    }

    func validate() throws {
        if let status, statusEquals == nil {
            throw ValidationError("--status '\(status)' is not a job status; use one of: "
                + TrainingJobStatus.allCases.map(\.rawValue).joined(separator: ", ") + " (in any case)")
        }
    }

    func run() throws {
        var summaries: [JSONValue] = []
        var token: String?
        repeat {
            var request: [JSONValue.Member] = [
                .init("SortBy", .string(sortBy)), .init("SortOrder", .string(sortOrder)),
                .init("MaxResults", .integer(Int64(min(100, maxResults.map { $0 - summaries.count } ?? 100)))),
            ]
            if let statusEquals { request.append(.init("StatusEquals", .string(statusEquals.rawValue))) }
            if let nameContains { request.append(.init("NameContains", .string(nameContains))) }
            if let token { request.append(.init("NextToken", .string(token))) }
            let page = try connection.call(.listTrainingJobs, .object(request))
            summaries += page["TrainingJobSummaries"]?.arrayValue ?? []
            token = page["NextToken"]?.stringValue
        } while token != nil && summaries.count < (maxResults ?? Int.max)
        if json {
            print(JSONValue.array(summaries).serialized(.pretty))
            return
        }
        let names = summaries.map { $0["TrainingJobName"]?.stringValue ?? "?" }
        let secondaries = summaries.map { $0["SecondaryStatus"]?.stringValue ?? "?" }
        // Narrow, the table fits 80 columns and cuts what does not fit (with …); --wide cuts nothing.
        let nameWidth = wide ? max(32, names.map(\.count).max() ?? 0) : 32
        let secondaryWidth = wide ? max(15, secondaries.map(\.count).max() ?? 0) : 15
        func cell(_ text: String, _ width: Int) -> String { wide ? Terminal.pad(text, width) : Terminal.fit(text, width) }
        print("\(cell("NAME", nameWidth)) \(cell("STATUS", 11)) \(cell("SECONDARY", secondaryWidth)) CREATED")
        for (index, summary) in summaries.enumerated() {
            let status = Terminal.status(cell(summary["TrainingJobStatus"]?.stringValue ?? "?", 11))
            print("\(cell(names[index], nameWidth)) \(status) \(cell(secondaries[index], secondaryWidth)) \(Terminal.time(summary["CreationTime"]))")
        }
    }
}

import ArgumentParser
import Foundation
import TrainingControl
import TrainingCore

/// `jobctl list`: ListTrainingJobs, every page, as a table or JSON.
struct List: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List jobs, newest first.")

    @Option(name: .long, help: ArgumentHelp("Only jobs with this status (InProgress, Completed, Failed, Stopping, Stopped).", valueName: "status"))
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

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        var summaries: [JSONValue] = []
        var token: String?
        repeat {
            var request: [JSONValue.Member] = [
                .init("SortBy", .string(sortBy)), .init("SortOrder", .string(sortOrder)),
                .init("MaxResults", .integer(Int64(min(100, maxResults.map { $0 - summaries.count } ?? 100)))),
            ]
            if let status { request.append(.init("StatusEquals", .string(status))) }
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
        print("\(Terminal.fit("NAME", 32)) \(Terminal.fit("STATUS", 11)) \(Terminal.fit("SECONDARY", 15)) CREATED")
        for summary in summaries {
            let name = Terminal.fit(summary["TrainingJobName"]?.stringValue ?? "?", 32)
            let status = Terminal.status(Terminal.fit(summary["TrainingJobStatus"]?.stringValue ?? "?", 11))
            let secondary = Terminal.fit(summary["SecondaryStatus"]?.stringValue ?? "?", 15)
            print("\(name) \(status) \(secondary) \(Terminal.time(summary["CreationTime"]))")
        }
    }
}

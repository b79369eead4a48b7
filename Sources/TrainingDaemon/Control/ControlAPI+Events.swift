import Foundation
import TrainingControl
import TrainingCore

/// Trainingd.WatchEvents and Trainingd.GetMetrics.
extension ControlAPI {
    /// Streams status changes as JSON lines: every job's, or with TrainingJobName one job's,
    /// starting with its current state and ending when it ends.
    func watchEvents(_ request: APIRequest) throws(APIError) -> APIResponse {
        let document = try request.document()
        let only = document["TrainingJobName"]?.stringValue
        let current = try only.map { name throws(APIError) in try existingJob(name) }
        let supervisor = self.supervisor
        return .stream { sink in
            supervisor.queue.async {
                if let current {
                    let event: JSONValue = [
                        "TrainingJobName": .string(current.name), "TrainingJobStatus": .string(current.status.rawValue),
                        "SecondaryStatus": .string(current.secondaryStatus.rawValue),
                        "StatusMessage": .string(current.statusMessage), "Time": .double(current.lastModifiedTime),
                    ]
                    sink.write(Array((event.serialized() + "\n").utf8))
                    if current.status.isTerminal { return sink.finish() }
                }
                let id = supervisor.nextWatcherID
                supervisor.nextWatcherID += 1
                supervisor.eventWatchers[id] = { [weak supervisor] event in
                    guard only == nil || event["TrainingJobName"]?.stringValue == only else { return }
                    sink.write(Array((event.serialized() + "\n").utf8))
                    let status = event["TrainingJobStatus"]?.stringValue.flatMap(TrainingJobStatus.init(rawValue:))
                    if only != nil, status?.isTerminal == true {
                        sink.finish()
                        supervisor?.eventWatchers[id] = nil
                    }
                }
                sink.onCancel {
                    supervisor.queue.async { supervisor.eventWatchers[id] = nil }
                }
            }
        }
    }

    /// Every MetricDefinitions value found in a host's log so far, per metric, in time order.
    func getMetrics(_ request: APIRequest) throws(APIError) -> JSONValue {
        let document = try request.document()
        let job = try existingJob(try request.string("TrainingJobName", in: document))
        let host = document["Host"]?.stringValue ?? "algo-1"
        var scraper = MetricScraper(job.request.algorithmSpecification.metricDefinitions ?? [])
        // Page by page, as GetLogs reads: the whole log in memory at once would set the daemon's size.
        try LogFile.forEachLine(ofLog: configuration.paths.logs + "/" + job.name + "/" + host + ".log") { scraper.scan(logLine: Substring($0)) }
        return ["Metrics": .array(scraper.series.keys.sorted().map { name in
            [
                "MetricName": .string(name),
                "Values": .array((scraper.series[name] ?? []).map { ["Timestamp": .double($0.timestamp), "Value": .double($0.value)] }),
            ]
        })]
    }
}

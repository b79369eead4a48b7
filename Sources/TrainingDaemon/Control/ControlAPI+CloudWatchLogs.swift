import Foundation
import TrainingControl
import TrainingCore
import TrainingStore

/// CloudWatch Logs' DescribeLogStreams and GetLogEvents over the job logs, in the shapes the
/// SageMaker SDK reads (`Estimator.fit(logs=True)`, `sagemaker.logs`): log group
/// `/aws/sagemaker/TrainingJobs`, one stream `<job>/algo-N-<epoch>` per host, `<epoch>` the
/// job's creation second. Events are the keeper's lines, with its timestamps.
extension ControlAPI {
    static let trainingLogGroup = "/aws/sagemaker/TrainingJobs"

    func describeLogStreams(_ request: APIRequest) throws(APIError) -> JSONValue {
        let document = try request.document()
        try checkLogGroup(request, document)
        guard let prefix = document["logStreamNamePrefix"]?.stringValue, !prefix.isEmpty else {
            throw APIError(.invalidParameter, "trainingd lists the log streams of one job at a time: give logStreamNamePrefix \"<job name>/\"")
        }
        if let order = document["orderBy"]?.stringValue, !["LogStreamName", "LastEventTime"].contains(order) {
            throw APIError(.invalidParameter, "orderBy must be LogStreamName or LastEventTime, not \(order)")
        }
        var limit = 50
        if let value = document["limit"] {
            guard let number = value.integerValue, (1...50).contains(number) else {
                throw APIError(.invalidParameter, "limit must be a whole number from 1 to 50")
            }
            limit = Int(number)
        }
        let jobName = String(prefix.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)[0])
        guard let job = try? store.job(named: jobName) ?? nil else { return ["logStreams": []] }
        var streams: [(name: String, lastEvent: Double, members: JSONValue)] = []
        for host in Self.hostNames(of: job) {
            let name = Self.streamName(job: job, host: host)
            guard name.hasPrefix(prefix) else { continue }
            let path = configuration.paths.logs + "/" + job.name + "/" + host + ".log"
            // A host whose log does not exist yet has no stream yet, as in CloudWatch.
            var info = stat()
            guard lstat(path, &info) == 0 || lstat(path + ".1", &info) == 0 else { continue }
            let lastEvent = (Double(info.st_mtim.tv_sec) + Double(info.st_mtim.tv_nsec) / 1e9) * 1000
            let created = (job.trainingStartTime ?? job.creationTime) * 1000
            streams.append((name, lastEvent, [
                "logStreamName": .string(name),
                "creationTime": .integer(Int64(created)),
                "firstEventTimestamp": .integer(Int64(created)),
                "lastEventTimestamp": .integer(Int64(lastEvent)),
                "lastIngestionTime": .integer(Int64(lastEvent)),
                "uploadSequenceToken": .string("0"),
                "arn": .string("arn:aws:logs:\(configuration.region):\(configuration.accountID):log-group:\(Self.trainingLogGroup):log-stream:\(name)"),
                "storedBytes": .integer(0),
            ]))
        }
        if document["orderBy"]?.stringValue == "LastEventTime" { streams.sort { $0.lastEvent < $1.lastEvent } }
        if document["descending"]?.boolValue == true { streams.reverse() }
        var start = 0
        if let token = document["nextToken"] {
            guard let text = token.stringValue, text.hasPrefix("streams."), let offset = Int(text.dropFirst(8)), offset >= 0 else {
                throw APIError(.invalidParameter, "nextToken is not one trainingd handed out; start again without it")
            }
            start = min(offset, streams.count)
        }
        let page = streams[start..<min(start + limit, streams.count)]
        var answer: [JSONValue.Member] = [.init("logStreams", .array(page.map(\.members)))]
        if start + limit < streams.count { answer.append(.init("nextToken", .string("streams.\(start + limit)"))) }
        return .object(answer)
    }

    func getLogEvents(_ request: APIRequest) throws(APIError) -> JSONValue {
        let document = try request.document()
        try checkLogGroup(request, document)
        let streamName = try request.string("logStreamName", in: document)
        let parts = streamName.split(separator: "/", maxSplits: 1).map(String.init)
        guard parts.count == 2, let job = try? store.job(named: parts[0]) ?? nil,
              let host = Self.hostNames(of: job).first(where: { Self.streamName(job: job, host: $0) == streamName })
        else {
            throw APIError(.logsResourceNotFound, "The specified log stream does not exist: \(streamName) (streams are <job>/algo-N-<epoch>, see DescribeLogStreams)")
        }
        var limit = Self.logPageLines
        if let value = document["limit"] {
            guard let number = value.integerValue, (1...Self.logPageLines).contains(Int(number)) else {
                throw APIError(.invalidParameter, "limit must be a whole number from 1 to \(Self.logPageLines)")
            }
            limit = Int(number)
        }
        let path = configuration.paths.logs + "/" + job.name + "/" + host + ".log"
        let older = try LogFile.open(path + ".1")
        let current = try LogFile.open(path)
        var position: LogPosition?
        if let token = document["nextToken"] {
            // A backward token (b/) is where the lines began: going back from it there is nothing.
            guard let text = token.stringValue, text.hasPrefix("f/") || text.hasPrefix("b/"), let parsed = LogPosition(token: String(text.dropFirst(2))) else {
                throw APIError(.invalidParameter, "The specified nextToken is invalid: it is not one trainingd handed out; start again without it")
            }
            if text.hasPrefix("b/") { return ["events": [], "nextForwardToken": .string("f/" + parsed.token), "nextBackwardToken": .string(text)] }
            position = parsed
        }
        let lines: [String]
        let next: LogPosition?
        if position == nil, document["startFromHead"]?.boolValue != true {
            // CloudWatch's default without a token: the latest events.
            lines = (current ?? older)?.lastLines(limit, bytes: Self.logPageBytes) ?? []
            next = (current ?? older).map { LogPosition(inode: $0.inode, offset: $0.size) }
        } else {
            let page = Self.logPage(older: older, current: current, from: position, limit: limit)
            (lines, next) = (page.lines, page.next)
        }
        let startTime = document["startTime"]?.integerValue
        let endTime = document["endTime"]?.integerValue
        let events = lines.compactMap(Self.event).filter { event in
            let time = event["timestamp"]?.integerValue ?? 0
            return (startTime.map { time >= $0 } ?? true) && (endTime.map { time < $0 } ?? true)
        }
        let here = position ?? (older ?? current).map { LogPosition(inode: $0.inode, offset: 0) } ?? LogPosition(inode: 0, offset: 0)
        // At the end, the forward token stays where it is, so that a client polling with it gets what is written next.
        return [
            "events": .array(events),
            "nextForwardToken": .string("f/" + (next ?? here).token),
            "nextBackwardToken": .string("b/" + here.token),
        ]
    }

    private func checkLogGroup(_ request: APIRequest, _ document: JSONValue) throws(APIError) {
        let group = try request.string("logGroupName", in: document)
        guard group == Self.trainingLogGroup else {
            throw APIError(.logsResourceNotFound, "The specified log group does not exist: trainingd has one, \(Self.trainingLogGroup)")
        }
    }

    static func hostNames(of job: JobRecord) -> [String] {
        (1...max(1, job.request.resourceConfig.effectiveInstanceGroups.reduce(0) { $0 + $1.instanceCount })).map { "algo-\($0)" }
    }

    static func streamName(job: JobRecord, host: String) -> String {
        "\(job.name)/\(host)-\(Int64(job.creationTime))"
    }

    /// A keeper line (`2026-12-02T18:19:00.123Z out text`) as an event; nil for a line without that form.
    static func event(_ line: String) -> JSONValue? {
        let fields = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
        guard fields.count >= 2, let time = timestamp(fields[0]) else { return nil }
        let message = fields.count == 3 ? String(fields[2]) : ""
        return ["timestamp": .integer(time), "message": .string(message), "ingestionTime": .integer(time)]
    }

    /// Milliseconds since the epoch of `yyyy-MM-ddTHH:mm:ss.SSSZ`.
    static func timestamp(_ text: Substring) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count == 24, bytes[4] == UInt8(ascii: "-"), bytes[10] == UInt8(ascii: "T"), bytes[19] == UInt8(ascii: "."),
              bytes[23] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int32? { Int32(String(decoding: bytes[range], as: UTF8.self)) }
        guard let year = number(0..<4), let month = number(5..<7), let day = number(8..<10), let hour = number(11..<13),
              let minute = number(14..<16), let second = number(17..<19), let milliseconds = number(20..<23) else { return nil }
        var fields = tm()
        fields.tm_year = year - 1900
        fields.tm_mon = month - 1
        fields.tm_mday = day
        fields.tm_hour = hour
        fields.tm_min = minute
        fields.tm_sec = second
        return Int64(timegm(&fields)) * 1000 + Int64(milliseconds)
    }
}

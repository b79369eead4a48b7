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
        var start = 0
        if let token = document["nextToken"] {
            guard let text = token.stringValue, text.hasPrefix("streams."), let offset = Int(text.dropFirst(8)), offset >= 0 else {
                throw APIError(.invalidParameter, "nextToken is not one trainingd handed out; start again without it")
            }
            start = offset
        }
        // Hosts in number order, a page of them looked at per answer: the work is `limit` hosts
        // whatever the job's size. (CloudWatch sorts names as strings; the SDK reads them all anyway.)
        let byTime = document["orderBy"]?.stringValue == "LastEventTime"
        let descending = document["descending"]?.boolValue == true
        let hostCount = Self.hostCount(of: job)
        // Ordering by time must see every host: bounded by the largest job there can be, and said so.
        guard !byTime || hostCount <= 1000 else {
            throw APIError(.invalidParameter, "orderBy LastEventTime is served for jobs of at most 1000 hosts; this one has \(hostCount): order by LogStreamName")
        }
        let numbers = byTime ? Array(1...max(1, hostCount)) : Array((start + 1)...max(start + 1, min(hostCount, start + limit)))
        var streams: [(name: String, lastEvent: Double, members: JSONValue)] = []
        for number in numbers where number <= hostCount {
            let host = "algo-\(number)"
            let name = Self.streamName(job: job, host: host)
            guard name.hasPrefix(prefix) else { continue }
            let path = logPath(job: job.name, host: host)
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
        let page: [(name: String, lastEvent: Double, members: JSONValue)]
        let next: Int?
        if byTime {
            streams.sort { $0.lastEvent < $1.lastEvent }
            if descending { streams.reverse() }
            page = Array(streams.dropFirst(start).prefix(limit))
            next = start + limit < streams.count ? start + limit : nil
        } else {
            page = descending ? streams.reversed() : streams
            next = start + limit < hostCount ? start + limit : nil
        }
        var answer: [JSONValue.Member] = [.init("logStreams", .array(page.map(\.members)))]
        if let next { answer.append(.init("nextToken", .string("streams.\(next)"))) }
        return .object(answer)
    }

    func getLogEvents(_ request: APIRequest) throws(APIError) -> JSONValue {
        let document = try request.document()
        try checkLogGroup(request, document)
        let streamName = try request.string("logStreamName", in: document)
        let parts = streamName.split(separator: "/", maxSplits: 1).map(String.init)
        // `<job>/algo-N-<epoch>`: the host's number read from the name, not searched for among the hosts.
        let hostPart = parts.count == 2 ? parts[1].split(separator: "-") : []
        guard parts.count == 2, hostPart.count == 3, hostPart[0] == "algo", let number = Int(hostPart[1]),
              let job = try? store.job(named: parts[0]) ?? nil, (1...Self.hostCount(of: job)).contains(number),
              Self.streamName(job: job, host: "algo-\(number)") == streamName
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
        let path = logPath(job: job.name, host: "algo-\(number)")
        let older = try LogFile.open(path + ".1")
        let current = try LogFile.open(path)
        let startTime = document["startTime"]?.integerValue
        let endTime = document["endTime"]?.integerValue
        var position: LogPosition?
        if let token = document["nextToken"] {
            // A backward token (b/) is where the lines began: going back from it there is nothing.
            guard let text = token.stringValue, text.hasPrefix("f/") || text.hasPrefix("b/"), let parsed = LogPosition(token: String(text.dropFirst(2))) else {
                throw APIError(.invalidParameter, "The specified nextToken is invalid: it is not one trainingd handed out; start again without it")
            }
            if text.hasPrefix("b/") { return ["events": [], "nextForwardToken": .string("f/" + parsed.token), "nextBackwardToken": .string(text)] }
            position = parsed
        }
        func inRange(_ event: JSONValue) -> Bool {
            let time = event["timestamp"]?.integerValue ?? 0
            return (startTime.map { time >= $0 } ?? true) && (endTime.map { time < $0 } ?? true)
        }
        var events: [JSONValue] = []
        var next: LogPosition?
        if position == nil, document["startFromHead"]?.boolValue != true {
            // CloudWatch's default without a token: the latest events.
            events = ((current ?? older)?.lastLines(limit, bytes: Self.logPageBytes) ?? []).compactMap(Self.event).filter(inRange)
            next = (current ?? older).map { LogPosition(inode: $0.inode, offset: $0.size) }
        } else {
            if position == nil, let startTime {
                // The SDK polls with the last time it saw and no token: start where that time is, not at the top.
                position = Self.position(of: startTime, older: older, current: current)
            }
            // Pages until one holds an event in range, or the end: an empty answer means nothing more yet
            // (the SDK stops at one). At most 16 pages (16 MiB) per answer.
            var from = position
            for _ in 0..<16 {
                let page = Self.logPage(older: older, current: current, from: from, limit: limit, wholeLinesOnly: true)
                events += page.lines.compactMap(Self.event).filter(inRange)
                next = page.next
                guard events.isEmpty, page.more, let moved = page.next, moved != from else { break }
                from = moved
            }
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

    /// Where in a host's log (its rotated part, or the current file) the first line at or after `milliseconds` is.
    static func position(of milliseconds: Int64, older: LogFile?, current: LogFile?) -> LogPosition? {
        let stamp: (ArraySlice<UInt8>) -> Int64? = { bytes in timestamp(Substring(String(decoding: bytes.prefix(24), as: UTF8.self))) }
        if let current {
            let first = current.read(at: 0, count: 24)
            if older == nil || (stamp(first[...]) ?? Int64.max) <= milliseconds {
                return LogPosition(inode: current.inode, offset: current.offset(ofFirstLineAtOrAfter: milliseconds, stamp: stamp))
            }
        }
        return older.map { LogPosition(inode: $0.inode, offset: $0.offset(ofFirstLineAtOrAfter: milliseconds, stamp: stamp)) }
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

import Dispatch
import Foundation
import TrainingControl
import TrainingCore
import TrainingStore

/// Trainingd.GetLogs and Trainingd.FollowLogs: a host's log lines, as the keeper wrote them
/// (`<time> <out|err> <text>`), and for FollowLogs the new ones as they come. Both read the
/// files in bounded pieces, so that neither the log's size nor the number of readers sets
/// the daemon's memory.
extension ControlAPI {
    /// The most bytes one GetLogs answer reads from a file.
    static let logPageBytes = 1024 * 1024
    /// The most lines one GetLogs answer holds (and the default of `Limit`).
    static let logPageLines = 10_000

    /// One page: from the older file (`<log>.1`) on, or at `NextToken`; `NextToken` in the
    /// answer when more lines were there when it was read.
    func getLogs(_ request: APIRequest) throws(APIError) -> JSONValue {
        let document = try request.document()
        let (path, _) = try logTarget(request, document)
        let limit = try pageLimit(document)
        let older = try LogFile.open(path + ".1")
        let current = try LogFile.open(path)
        if document["StartFromHead"]?.boolValue == false {
            // The last lines, from the last page of the newest file.
            return ["Lines": .array(((current ?? older)?.lastLines(limit, bytes: Self.logPageBytes) ?? []).map(JSONValue.string))]
        }
        var position: LogPosition?
        if let token = document["NextToken"] {
            guard let text = token.stringValue, let parsed = LogPosition(token: text) else {
                throw APIError(.validation, "NextToken is not one trainingd handed out; start again without it")
            }
            position = parsed
        }
        let page = Self.logPage(older: older, current: current, from: position, limit: limit)
        var answer: [JSONValue.Member] = [.init("Lines", .array(page.lines.map(JSONValue.string)))]
        if page.more, let next = page.next { answer.append(.init("NextToken", .string(next.token))) }
        return .object(answer)
    }

    /// One page of a host's log from `position` (nil: from the oldest line kept): its lines, where
    /// the next page starts, and whether more lines were there when it was read.
    static func logPage(older: LogFile?, current: LogFile?, from position: LogPosition?, limit: Int, wholeLinesOnly: Bool = false)
        -> (lines: [String], next: LogPosition?, more: Bool)
    {
        var file = older ?? current
        var offset = 0
        if let position {
            if let current, current.inode == position.inode {
                (file, offset) = (current, position.offset)
            } else if let older, older.inode == position.inode {
                (file, offset) = (older, position.offset)
            }
            // Otherwise the file was rotated away twice since: go on from the oldest lines still kept.
        }
        guard let file else { return ([], position, false) }
        let page = file.page(from: offset, limit: limit, pageBytes: logPageBytes, wholeLinesOnly: wholeLinesOnly)
        if page.next < file.size { return (page.lines, LogPosition(inode: file.inode, offset: page.next), true) }
        if file === older, let current { return (page.lines, LogPosition(inode: current.inode, offset: 0), true) }
        return (page.lines, LogPosition(inode: file.inode, offset: page.next), false)
    }

    func followLogs(_ request: APIRequest) throws(APIError) -> APIResponse {
        let (path, name) = try logTarget(request, try request.document())
        let store = self.store
        return .stream { sink in
            let follower = LogFollower(path: path) {
                (try? store.job(named: name))?.status.isTerminal ?? true
            }
            follower.run(into: sink)
        }
    }

    private func pageLimit(_ document: JSONValue) throws(APIError) -> Int {
        guard let value = document["Limit"] else { return Self.logPageLines }
        guard let limit = value.integerValue.map(Int.init), (1...Self.logPageLines).contains(limit) else {
            throw APIError(.validation, "1 validation error detected: Value at 'limit' failed to satisfy constraint: Member must be a whole number from 1 to \(Self.logPageLines)")
        }
        return limit
    }

    func logTarget(_ request: APIRequest, _ document: JSONValue) throws(APIError) -> (path: String, job: String) {
        let name = try request.string("TrainingJobName", in: document)
        let job = try existingJob(name)
        let host = document["Host"]?.stringValue ?? "algo-1"
        let hosts = (1...Self.hostCount(of: job)).map { "algo-\($0)" }
        guard hosts.contains(host) else {
            throw APIError(.validation, "training job \(name) has no host \(host); its hosts are \(hosts.joined(separator: ", "))")
        }
        return (logPath(job: name, host: host), name)
    }

    /// A job host's log file (the keeper rotates older lines to `<path>.1`).
    func logPath(job: String, host: String) -> String {
        configuration.paths.logs + "/" + job + "/" + host + ".log"
    }

    static func hostCount(of job: JobRecord) -> Int {
        max(1, job.request.resourceConfig.effectiveInstanceGroups.reduce(0) { $0 + $1.instanceCount })
    }
}

/// Where a GetLogs page ends: which file (by inode, which survives the keeper's rename to `.1`)
/// and the byte offset in it. Handed out as an opaque NextToken.
struct LogPosition: Equatable {
    var inode: UInt64
    var offset: Int

    init(inode: UInt64, offset: Int) {
        self.inode = inode
        self.offset = offset
    }

    init?(token: String) {
        guard token.hasPrefix("log1."), let data = Data(base64Encoded: String(token.dropFirst(5))) else { return nil }
        let parts = String(decoding: data, as: UTF8.self).split(separator: ":")
        guard parts.count == 2, let inode = UInt64(parts[0], radix: 16), let offset = Int(parts[1], radix: 16), offset >= 0 else { return nil }
        self.init(inode: inode, offset: offset)
    }

    var token: String {
        "log1." + Data("\(String(inode, radix: 16)):\(String(offset, radix: 16))".utf8).base64EncodedString()
    }
}

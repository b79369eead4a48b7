import Dispatch
import Foundation
import TrainingControl
import TrainingCore

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
            return ["Lines": .array(tail(of: current ?? older, limit: limit).map(JSONValue.string))]
        }
        var file = older ?? current
        var offset = 0
        if let token = document["NextToken"] {
            guard let text = token.stringValue, let position = LogPosition(token: text) else {
                throw APIError(.validation, "NextToken is not one trainingd handed out; start again without it")
            }
            if let current, current.inode == position.inode {
                (file, offset) = (current, position.offset)
            } else if let older, older.inode == position.inode {
                (file, offset) = (older, position.offset)
            }
            // Otherwise the file was rotated away twice since: go on from the oldest lines still kept.
        }
        guard let file else { return ["Lines": []] }
        let page = Self.page(of: file, from: offset, limit: limit)
        var answer: [JSONValue.Member] = [.init("Lines", .array(page.lines.map(JSONValue.string)))]
        if page.next < file.size {
            answer.append(.init("NextToken", .string(LogPosition(inode: file.inode, offset: page.next).token)))
        } else if file === older, let current {
            answer.append(.init("NextToken", .string(LogPosition(inode: current.inode, offset: 0).token)))
        }
        return .object(answer)
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

    /// Whole lines from `offset`, at most `limit` of them and `logPageBytes` read; `next` is
    /// where the following page starts. A partial last line is kept only at the end of the file.
    static func page(of file: LogFile, from offset: Int, limit: Int) -> (lines: [String], next: Int) {
        let bytes = file.read(at: offset, count: logPageBytes)
        let atEnd = bytes.count < logPageBytes
        var lines: [String] = []
        var start = 0
        while lines.count < limit, start < bytes.count {
            guard let newline = bytes[start...].firstIndex(of: UInt8(ascii: "\n")) else {
                // A line longer than a whole page is cut, so that a page always moves on.
                if atEnd || start == 0 {
                    lines.append(String(decoding: bytes[start...], as: UTF8.self))
                    start = bytes.count
                }
                break
            }
            if newline > start { lines.append(String(decoding: bytes[start..<newline], as: UTF8.self)) }
            start = newline + 1
        }
        return (lines, offset + start)
    }

    /// Every line of a host's log, oldest (rotated) part first, read a page at a time.
    func forEachLogLine(_ path: String, _ body: (String) -> Void) throws(APIError) {
        for part in [path + ".1", path] {
            guard let file = try LogFile.open(part) else { continue }
            var offset = 0
            while offset < file.size {
                let page = Self.page(of: file, from: offset, limit: Int.max)
                guard page.next > offset else { break }
                page.lines.forEach(body)
                offset = page.next
            }
        }
    }

    /// The last lines of a file (StartFromHead false), from its last page.
    private func tail(of file: LogFile?, limit: Int) -> [String] {
        guard let file, file.size > 0 else { return [] }
        let from = max(0, file.size - Self.logPageBytes)
        var bytes = file.read(at: from, count: Self.logPageBytes)[...]
        if from > 0, let newline = bytes.firstIndex(of: UInt8(ascii: "\n")) { bytes = bytes[(newline + 1)...] }
        return bytes.split(separator: UInt8(ascii: "\n")).suffix(limit).map { String(decoding: $0, as: UTF8.self) }
    }

    private func logTarget(_ request: APIRequest, _ document: JSONValue) throws(APIError) -> (path: String, job: String) {
        let name = try request.string("TrainingJobName", in: document)
        let job = try existingJob(name)
        let host = document["Host"]?.stringValue ?? "algo-1"
        let hosts = (1...max(1, job.request.resourceConfig.effectiveInstanceGroups.reduce(0) { $0 + $1.instanceCount })).map { "algo-\($0)" }
        guard hosts.contains(host) else {
            throw APIError(.validation, "training job \(name) has no host \(host); its hosts are \(hosts.joined(separator: ", "))")
        }
        return (configuration.paths.logs + "/" + name + "/" + host + ".log", name)
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

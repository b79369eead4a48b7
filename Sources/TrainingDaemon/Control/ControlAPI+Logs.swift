import Dispatch
import Foundation
import TrainingControl
import TrainingCore

/// Trainingd.GetLogs and Trainingd.FollowLogs: a host's log lines, as the keeper wrote them
/// (`<time> <out|err> <text>`), and for FollowLogs the new ones as they come.
extension ControlAPI {
    func getLogs(_ request: APIRequest) throws(APIError) -> JSONValue {
        let (path, _) = try logTarget(request)
        var lines: [JSONValue] = []
        for part in [path + ".1", path] {
            guard let data = FileManager.default.contents(atPath: part) else { continue }
            lines += String(decoding: data, as: UTF8.self).split(separator: "\n").map { .string(String($0)) }
        }
        return ["Lines": .array(lines)]
    }

    func followLogs(_ request: APIRequest) throws(APIError) -> APIResponse {
        let (path, name) = try logTarget(request)
        let store = self.store
        return .stream { sink in
            let follower = LogFollower(path: path) {
                (try? store.job(named: name))?.status.isTerminal ?? true
            }
            follower.run(into: sink)
        }
    }

    private func logTarget(_ request: APIRequest) throws(APIError) -> (path: String, job: String) {
        let document = try request.document()
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

/// Streams a log file from its start, then what is appended, following the keeper's rotation,
/// until the job has ended and everything written has been sent.
final class LogFollower: @unchecked Sendable {
    private let path: String
    private let jobEnded: @Sendable () -> Bool
    private let queue = DispatchQueue(label: "trainingd.logs.follow")
    private var descriptor: Int32 = -1
    private var inode: ino_t = 0

    init(path: String, jobEnded: @escaping @Sendable () -> Bool) {
        self.path = path
        self.jobEnded = jobEnded
    }

    func run(into sink: StreamSink) {
        queue.async {
            if let old = FileManager.default.contents(atPath: self.path + ".1"), !old.isEmpty { sink.write(Array(old)) }
            self.poll(sink)
        }
    }

    private func poll(_ sink: StreamSink) {
        let ended = jobEnded()
        reopenIfRotated(write: sink.write)
        let bytes = readAvailable()
        if !bytes.isEmpty { sink.write(bytes) }
        if sink.isCancelled || (ended && bytes.isEmpty) {
            if descriptor >= 0 { close(descriptor) }
            return sink.finish()
        }
        queue.asyncAfter(deadline: .now() + .milliseconds(100)) { self.poll(sink) }
    }

    /// The keeper renames a full log to `.1` and starts a new file: finish the old one, then switch.
    private func reopenIfRotated(write: ([UInt8]) -> Void) {
        var info = stat()
        guard stat(path, &info) == 0 else { return }
        if descriptor >= 0, info.st_ino == inode { return }
        if descriptor >= 0 {
            let rest = readAvailable()
            if !rest.isEmpty { write(rest) }
            close(descriptor)
        }
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        inode = info.st_ino
    }

    private func readAvailable() -> [UInt8] {
        guard descriptor >= 0 else { return [] }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            bytes += buffer[..<count]
        }
        return bytes
    }
}

import Dispatch
import Foundation

/// Streams a log file from its start (the older `.1` first), then what is appended, following
/// the keeper's rotation, until the job has ended and everything written has been sent.
///
/// It reads one chunk at a time and reads the next only once the previous one is on the socket,
/// so a slow reader holds one chunk of the daemon's memory, not the log.
final class LogFollower: @unchecked Sendable {
    static let chunkBytes = 64 * 1024

    private let path: String
    private let jobEnded: @Sendable () -> Bool
    /// Everything below runs on this queue, one step at a time.
    private let queue = DispatchQueue(label: "trainingd.logs.follow")
    private var file: LogFile?
    private var offset = 0
    private var readingOlder = false

    init(path: String, jobEnded: @escaping @Sendable () -> Bool) {
        self.path = path
        self.jobEnded = jobEnded
    }

    func run(into sink: StreamSink) {
        queue.async {
            self.file = try? LogFile.open(self.path + ".1")
            self.readingOlder = self.file != nil
            self.step(sink)
        }
    }

    private func step(_ sink: StreamSink) {
        guard !sink.isCancelled else {
            file = nil
            return
        }
        if readingOlder {
            if send(sink) { return }
            readingOlder = false
            switchToCurrent()
        }
        if file == nil { switchToCurrent() }
        if send(sink) { return }
        // Asked only when nothing was left, and read once more after: lines written just
        // before the job ended are still sent.
        let ended = jobEnded()
        if send(sink) { return }
        if let file, file.isReplaced() {
            // The keeper renamed the file we read (now fully sent) to `.1`: go on with the new one.
            switchToCurrent()
            return queue.async { self.step(sink) }
        }
        if ended {
            file = nil
            return sink.finish()
        }
        queue.asyncAfter(deadline: .now() + .milliseconds(100)) { self.step(sink) }
    }

    /// Sends the next chunk of the file being read, if there is one, and comes back to `step`
    /// once it has been written to the socket.
    private func send(_ sink: StreamSink) -> Bool {
        guard let file else { return false }
        let bytes = file.read(at: offset, count: Self.chunkBytes)
        guard !bytes.isEmpty else { return false }
        offset += bytes.count
        sink.write(bytes) { [self] in queue.async { self.step(sink) } }
        return true
    }

    private func switchToCurrent() {
        file = try? LogFile.open(path)
        offset = 0
    }
}

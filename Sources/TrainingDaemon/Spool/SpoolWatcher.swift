import Dispatch
import Foundation

/// Watches `incoming/` with inotify on a Dispatch read source (no polling) and reports
/// the names of files that are complete: renamed in (IN_MOVED_TO) or closed after
/// writing (IN_CLOSE_WRITE). Dot-files are left alone: editors and
/// FileManager write through them and rename the result in.
///
/// Events can be lost: the kernel's queue overflows (IN_Q_OVERFLOW) when more files arrive
/// than it holds, and a read can fail. Either is reported through `onMissedEvents`, and the
/// caller lists the directory instead, so that no file waits for the next start.
final class SpoolWatcher: @unchecked Sendable {
    private let descriptor: Int32
    private let source: any DispatchSourceRead

    /// - Parameter onFiles: called on `queue` with the candidate names of each wake-up, in order.
    /// - Parameter onMissedEvents: called on `queue` when names may have been missed.
    init(directory: String, queue: DispatchQueue, onFiles: @escaping ([String]) -> Void,
         onMissedEvents: @escaping () -> Void) throws(DaemonError) {
        let fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
        guard fd >= 0 else { throw DaemonError.system("watch (inotify_init1)", directory, errno) }
        guard inotify_add_watch(fd, directory, UInt32(IN_CLOSE_WRITE | IN_MOVED_TO)) >= 0 else {
            let code = errno
            close(fd)
            throw DaemonError.system("watch (inotify_add_watch)", directory, code)
        }
        descriptor = fd
        source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        source.setEventHandler { [fd] in
            let (names, missed) = Self.drain(fd)
            let candidates = names.filter(SpoolDirectory.isCandidate)
            if !candidates.isEmpty { onFiles(candidates) }
            if missed { onMissedEvents() }
        }
        source.setCancelHandler { close(fd) }
        source.resume()
    }

    func cancel() { source.cancel() }

    /// Reads every queued inotify event until EAGAIN; the names in order, and whether some were missed.
    private static func drain(_ fd: Int32) -> (names: [String], missed: Bool) {
        var names: [String] = []
        var missed = false
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                // EAGAIN: all read. Anything else (ENOMEM...): events may be lost, so list instead.
                if errno != EAGAIN { missed = true }
                break
            }
            if count == 0 { break }
            var offset = 0
            let header = MemoryLayout<inotify_event>.size
            while offset + header <= count {
                // struct inotify_event: wd (Int32), mask (UInt32), cookie (UInt32), len (UInt32), name.
                let mask = buffer.withUnsafeBytes { $0.load(fromByteOffset: offset + 4, as: UInt32.self) }
                let length = buffer.withUnsafeBytes { Int($0.load(fromByteOffset: offset + 12, as: UInt32.self)) }
                if mask & UInt32(IN_Q_OVERFLOW) != 0 { missed = true }
                if length > 0 {
                    let nameBytes = buffer[(offset + header)..<min(offset + header + length, count)]
                    names.append(String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self))
                }
                offset += header + length
            }
        }
        return (names, missed)
    }
}

import Dispatch
import Foundation

/// Watches `incoming/` with inotify on a Dispatch read source (no polling) and reports
/// the names of files that are complete: renamed in (IN_MOVED_TO) or closed after
/// writing (IN_CLOSE_WRITE). Dot-files are left alone: editors and
/// FileManager write through them and rename the result in.
final class SpoolWatcher: @unchecked Sendable {
    private let descriptor: Int32
    private let source: any DispatchSourceRead

    /// - Parameter onFile: called on `queue` with each candidate name.
    init(directory: String, queue: DispatchQueue, onFile: @escaping (String) -> Void) throws(DaemonError) {
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
            for name in Self.drain(fd) where SpoolDirectory.isCandidate(name) { onFile(name) }
        }
        source.setCancelHandler { close(fd) }
        source.resume()
    }

    func cancel() { source.cancel() }

    /// Reads every queued inotify event until EAGAIN and returns the names in order.
    private static func drain(_ fd: Int32) -> [String] {
        var names: [String] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            var offset = 0
            let header = MemoryLayout<inotify_event>.size
            while offset + header <= count {
                let length = buffer.withUnsafeBytes { Int($0.load(fromByteOffset: offset + 12, as: UInt32.self)) }
                let nameBytes = buffer[(offset + header)..<min(offset + header + length, count)]
                names.append(String(decoding: nameBytes.prefix { $0 != 0 }, as: UTF8.self))
                offset += header + length
            }
        }
        return names
    }
}

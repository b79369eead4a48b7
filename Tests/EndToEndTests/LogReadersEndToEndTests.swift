import Foundation
import Testing
import TrainingCore

/// GetLogs and FollowLogs of large logs: pages and chunks, so that the daemon's memory depends
/// neither on the log's size nor on the number of readers.
@Suite("Log readers")
struct LogReadersEndToEndTests {
    /// A finished job whose log (older half in `.1`) is replaced by `lines` lines of about 100 bytes.
    static func jobWithLog(_ daemon: DaemonHarness, name: String, olderLines: Int, currentLines: Int) throws -> (String, Int) {
        let ok = try daemon.script("ok.sh", "echo fine")
        try daemon.submit(daemon.definition(name: name, image: ok), as: name + ".json")
        try daemon.waitForEnd(name)
        let path = "\(daemon.root)/logs/\(name)/algo-1.log"
        var total = 0
        for (file, range) in [(path + ".1", 0..<olderLines), (path, olderLines..<(olderLines + currentLines))] {
            _ = FileManager.default.createFile(atPath: file, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: file))
            var text = ""
            for index in range {
                text += "2026-12-01T10:00:00.000000Z out line \(index) " + String(repeating: "x", count: 60) + "\n"
                if text.utf8.count > 1 << 20 || index == range.upperBound - 1 {
                    total += text.utf8.count
                    handle.write(Data(text.utf8))
                    text = ""
                }
            }
            try handle.close()
        }
        return (path, total)
    }

    /// The daemon's peak resident memory so far (VmHWM), in bytes.
    static func peakMemory(_ pid: pid_t) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }

    @Test("jobctl logs follows the pages across both files: every line once, in order")
    func pagesAreWhole() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let (path, _) = try Self.jobWithLog(daemon, name: "paged", olderLines: 15_000, currentLines: 12_000)
        let expected = try String(contentsOfFile: path + ".1", encoding: .utf8) + String(contentsOfFile: path, encoding: .utf8)
        let printed = try daemon.jobctl(["logs", "paged"])
        #expect(printed.status == 0, "\(printed.stderr)")
        #expect(printed.stdout == expected)
        #expect(try daemon.jobctl(["logs", "--follow", "paged"]).stdout == expected)

        let client = try RawConnection(path: daemon.socket)
        client.send(RawConnection.request("Trainingd.GetLogs", #"{"TrainingJobName": "paged", "Limit": 3}"#))
        let first = try StrictJSONParser.parse(Array(client.response(within: 10)?.body.utf8 ?? "".utf8))
        #expect(first["Lines"]?.arrayValue?.compactMap(\.stringValue) == expected.split(separator: "\n").prefix(3).map(String.init))
        let token = try #require(first["NextToken"]?.stringValue)
        client.send(RawConnection.request("Trainingd.GetLogs", #"{"TrainingJobName": "paged", "Limit": 1, "NextToken": "\#(token)"}"#))
        let second = try StrictJSONParser.parse(Array(client.response(within: 10)?.body.utf8 ?? "".utf8))
        #expect(second["Lines"]?.arrayValue?.first?.stringValue?.contains("out line 3 ") == true)
        client.send(RawConnection.request("Trainingd.GetLogs", #"{"TrainingJobName": "paged", "StartFromHead": false, "Limit": 2}"#))
        let last = try StrictJSONParser.parse(Array(client.response(within: 10)?.body.utf8 ?? "".utf8))
        #expect(last["Lines"]?.arrayValue?.compactMap(\.stringValue) == expected.split(separator: "\n").suffix(2).map(String.init))
        client.send(RawConnection.request("Trainingd.GetLogs", #"{"TrainingJobName": "paged", "NextToken": "made-up"}"#))
        #expect(client.response(within: 10)?.body.contains("NextToken is not one trainingd handed out") == true)
    }

    @Test("a link or FIFO in place of a log is refused, not followed or waited on")
    func plantedFiles() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let (path, _) = try Self.jobWithLog(daemon, name: "planted", olderLines: 0, currentLines: 3)
        unlink(path)
        #expect(symlink("/etc/passwd", path) == 0)
        let linked = try daemon.jobctl(["logs", "planted"])
        #expect(linked.status == 5)
        #expect(linked.stderr.contains("cannot be read (it is a symbolic link)"), "\(linked.stderr)")
        unlink(path)
        unlink(path + ".1")
        #expect(mkfifo(path + ".1", 0o644) == 0)
        let fifo = try daemon.jobctl(["logs", "planted"])
        #expect(fifo.stderr.contains("cannot be read (it is not a regular file)"), "\(fifo.stderr)")
    }

    @Test("16 GetLogs and 16 FollowLogs of a 50 MB log at once: the daemon's peak memory stays bounded")
    func manyReadersOfALargeLog() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let (_, size) = try Self.jobWithLog(daemon, name: "big", olderLines: 200_000, currentLines: 300_000)
        let pid = try #require(daemon.process?.processIdentifier)
        let readStarted = Date()
        let baseline = Self.peakMemory(pid)
        let readers = 16
        // GetLogs readers each take the first pages (JSON-escaping a whole 50 MB per reader would make a
        // slow test; the pages are the same size all the way through); FollowLogs readers take it all.
        let pagesEach = 4
        let followedLines = LockedCounter()
        let pagesRead = LockedCounter()
        // Threads of their own, all at once (concurrentPerform would run only one per core).
        try Self.atOnce(2 * readers, timeout: 180) { index in
            guard let connection = try? RawConnection(path: daemon.socket) else { return }
            if index < readers {
                connection.send(RawConnection.request("Trainingd.FollowLogs", #"{"TrainingJobName": "big"}"#))
                var previous: UInt8 = 0
                var lineEnds = 0
                _ = connection.stream(within: 120) { piece in
                    lineEnds += Self.bareLineFeeds(in: piece, after: previous)
                    previous = piece.last ?? previous
                }
                followedLines.add(lineEnds)
            } else {
                var body = #"{"TrainingJobName": "big"}"#
                for _ in 0..<pagesEach {
                    connection.send(RawConnection.request("Trainingd.GetLogs", body))
                    guard let page = connection.response(within: 60), page.status == 200,
                        let marker = page.body.range(of: "\"NextToken\":\"", options: .backwards)
                    else { return }
                    pagesRead.add(1)
                    let token = page.body[marker.upperBound...].prefix { $0 != "\"" }
                    body = #"{"TrainingJobName": "big", "NextToken": "\#(token)"}"#
                }
            }
        }
        let peak = Self.peakMemory(pid)
        print("log readers took \(Int(Date().timeIntervalSince(readStarted))) s")
        let growth = peak - baseline
        print("log readers: a \(size / 1_000_000) MB log, \(readers) GetLogs (\(pagesEach) pages each) and \(readers) FollowLogs at once: "
            + "daemon VmHWM \(baseline / 1_000_000) MB before, \(peak / 1_000_000) MB after (+\(growth / 1_000_000) MB)")
        #expect(followedLines.value == readers * 500_000, "every follower gets every line")
        #expect(pagesRead.value == readers * pagesEach)
        #expect(growth < 200_000_000, "peak RSS grew by \(growth / 1_000_000) MB")
    }
}

extension LogReadersEndToEndTests {
    /// LFs not preceded by CR: log lines end in a bare LF, the chunked framing in CRLF.
    /// memchr, because a byte loop over 800 MB in a debug build takes most of a minute.
    static func bareLineFeeds(in piece: ArraySlice<UInt8>, after previous: UInt8) -> Int {
        piece.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return 0 }
            var count = 0
            var offset = 0
            while offset < buffer.count, let found = memchr(base + offset, 10, buffer.count - offset) {
                let index = base.distance(to: UnsafeRawPointer(found))
                let before = index == 0 ? previous : buffer[index - 1]
                if before != 13 { count += 1 }
                offset = index + 1
            }
            return count
        }
    }

    /// Runs `work(0..<count)` on as many threads at once, waiting at most `timeout` seconds for all.
    static func atOnce(_ count: Int, timeout: Double, _ work: @escaping @Sendable (Int) -> Void) throws {
        let done = DispatchSemaphore(value: 0)
        for index in 0..<count {
            Thread {
                work(index)
                done.signal()
            }.start()
        }
        for _ in 0..<count where done.wait(timeout: .now() + timeout) == .timedOut {
            Issue.record("a reader did not finish within \(timeout) s")
            throw POSIXError(.ETIMEDOUT)
        }
    }
}

final class LockedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var total = 0
    func add(_ amount: Int) { lock.withLock { total += amount } }
    var value: Int { lock.withLock { total } }
}

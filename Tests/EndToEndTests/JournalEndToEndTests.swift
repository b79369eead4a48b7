import Foundation
import Testing
import TrainingCore

/// The journal backend, end to end: the daemon runs where /run/systemd/journal/socket is a socket
/// of the test's own (a private mount namespace, so the host's journal is never touched) and its
/// stderr is what JOURNAL_STREAM names; the test decodes what arrives in the journal's native protocol.
@Suite("journal")
struct JournalEndToEndTests {
    static let sink = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Scripts/journal_sink.py").path

    @Test("records reach the journal as native-protocol fields: message, priority, identifier, job and host")
    func structuredRecords() throws {
        let daemon = try DaemonHarness()
        let records = daemon.root + "/journal.records"
        let stderrFile = daemon.root + "/journal.stderr"
        try daemon.start(prefix: ["/usr/bin/unshare", "--mount", "--propagation", "private", "/usr/bin/python3", Self.sink, records, stderrFile])
        let image = try daemon.script("hello.sh", "echo hello; exit 0")
        try daemon.submit(daemon.definition(name: "journaled", image: image), as: "journaled.json")
        #expect(try daemon.waitForEnd("journaled", timeout: 30).lifecycle.status == .completed)
        kill(try #require(daemon.lockHolder), SIGTERM)
        #expect(daemon.waitForExit(timeout: 15) == 0, "\(daemon.stderr)")

        let entries = try NativeJournalProtocol.records(in: Array(try Data(contentsOf: URL(fileURLWithPath: records))))
        let ready = entries.first { $0["MESSAGE"]?.hasPrefix("ready:") == true }
        #expect(ready?["PRIORITY"] == "5" && ready?["SYSLOG_IDENTIFIER"] == "trainingd", "\(entries)")
        let completed = entries.first { $0["TRAININGD_JOB"] == "journaled" && $0["TRAININGD_STATUS"] == "Completed" }
        #expect(completed?["MESSAGE"] == "job journaled: Training job completed", "\(entries)")
        #expect(completed?["PRIORITY"] == "6")
        #expect(completed?["CODE_FILE"]?.hasSuffix(".swift") == true)
        let hostEnded = entries.first { $0["TRAININGD_JOB"] == "journaled" && $0["TRAININGD_HOST"] == "algo-1" }
        #expect(hostEnded?["TRAININGD_EXIT"] == "exit code 0", "\(entries)")
        // With the journal available, nothing is duplicated as plain lines on stderr.
        let plain = (try? String(contentsOfFile: stderrFile, encoding: .utf8)) ?? ""
        #expect(!plain.contains("journaled"), "\(plain)")
    }
}

extension JournalEndToEndTests {
    @Test("when the journal cannot take a record, it goes to stderr as a plain line instead of being lost")
    func fallsBackToStderr() throws {
        let daemon = try DaemonHarness()
        let records = daemon.root + "/journal.records"
        let stderrFile = daemon.root + "/journal.stderr"
        try daemon.start(
            environment: ["SINK_NO_SOCKET": "1"],
            prefix: ["/usr/bin/unshare", "--mount", "--propagation", "private", "/usr/bin/python3", Self.sink, records, stderrFile])
        let image = try daemon.script("hello.sh", "echo hello; exit 0")
        try daemon.submit(daemon.definition(name: "unjournaled", image: image), as: "unjournaled.json")
        #expect(try daemon.waitForEnd("unjournaled", timeout: 30).lifecycle.status == .completed)
        kill(try #require(daemon.lockHolder), SIGTERM)
        #expect(daemon.waitForExit(timeout: 15) == 0, "\(daemon.stderr)")
        let plain = (try? String(contentsOfFile: stderrFile, encoding: .utf8)) ?? ""
        #expect(plain.contains("trainingd: info: job unjournaled: Training job completed"), "\(plain)")
        #expect(((try? Data(contentsOf: URL(fileURLWithPath: records))) ?? Data()).isEmpty)
    }
}

/// Decodes datagrams of the journal's native protocol (systemd's JOURNAL_NATIVE_PROTOCOL):
/// fields separated by newlines, each `KEY=value`, or `KEY`, newline, a 64-bit little-endian
/// length, and that many bytes of value (used for values containing newlines).
enum NativeJournalProtocol {
    struct Malformed: Error {}

    /// The datagrams the sink recorded (each an 8-byte little-endian length and its bytes), decoded.
    static func records(in file: [UInt8]) throws -> [[String: String]] {
        var records: [[String: String]] = []
        var offset = 0
        while offset + 8 <= file.count {
            let length = Int(littleEndian64(file, at: offset))
            offset += 8
            guard offset + length <= file.count else { throw Malformed() }
            records.append(try fields(of: Array(file[offset..<(offset + length)])))
            offset += length
        }
        return records
    }

    static func fields(of datagram: [UInt8]) throws -> [String: String] {
        var fields: [String: String] = [:]
        var offset = 0
        while offset < datagram.count {
            guard let end = datagram[offset...].firstIndex(where: { $0 == UInt8(ascii: "=") || $0 == UInt8(ascii: "\n") }) else { throw Malformed() }
            let key = String(decoding: datagram[offset..<end], as: UTF8.self)
            if datagram[end] == UInt8(ascii: "=") {
                let valueEnd = datagram[(end + 1)...].firstIndex(of: UInt8(ascii: "\n")) ?? datagram.count
                fields[key] = String(decoding: datagram[(end + 1)..<valueEnd], as: UTF8.self)
                offset = valueEnd + 1
            } else {
                guard end + 9 <= datagram.count else { throw Malformed() }
                let length = Int(littleEndian64(datagram, at: end + 1))
                let start = end + 9
                guard start + length < datagram.count, datagram[start + length] == UInt8(ascii: "\n") else { throw Malformed() }
                fields[key] = String(decoding: datagram[start..<(start + length)], as: UTF8.self)
                offset = start + length + 1
            }
        }
        return fields
    }

    private static func littleEndian64(_ bytes: [UInt8], at offset: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { value, index in value | UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
    }
}

import Logging
import Testing
@testable import TrainingSystemd

@Suite struct NotificationTests {
    @Test func statusIsOneLine() {
        #expect(ServiceNotification.status("2 running\n3 pending").text == "STATUS=2 running 3 pending")
    }

    @Test func readyCarriesStatus() {
        #expect(ServiceNotification.ready(status: "idle").text == "READY=1\nSTATUS=idle")
    }

    @Test func reloadingCarriesMonotonicTime() {
        #expect(ServiceNotification.reloading(monotonicMicroseconds: 42).text == "RELOADING=1\nMONOTONIC_USEC=42")
        #expect(ServiceNotification.monotonicNow() > 0)
    }

    @Test func extendTimeoutIsInMicroseconds() {
        #expect(ServiceNotification.extendTimeout(seconds: 1.5, status: "draining").text == "EXTEND_TIMEOUT_USEC=1500000\nSTATUS=draining")
    }

    @Test func journalStreamNeedsDeviceAndInode() {
        #expect(JournalStream.parse("8:1234")! == (8, 1234))
        #expect(JournalStream.parse("8") == nil)
        #expect(JournalStream.parse("x:1") == nil)
        #expect(!JournalStream.standardErrorIsJournal(environment: nil))
        #expect(!JournalStream.standardErrorIsJournal(environment: "0:0"))
    }

    @Test func metadataBecomesPrefixedJournalFields() {
        #expect(JournalLogHandler.journalFieldName("job") == "TRAININGD_JOB")
        #expect(JournalLogHandler.journalFieldName("exit-code") == "TRAININGD_EXIT_CODE")
        let event = LogEvent(
            level: .warning, message: "stopping", metadata: ["host": "algo-1"], source: "t",
            file: "f.swift", function: "g()", line: 7)
        let fields = JournalLogHandler.fields(event: event, identifier: "trainingd", metadata: ["job": "j1", "host": "algo-1"])
        #expect(fields == [
            "MESSAGE=stopping", "PRIORITY=4", "SYSLOG_IDENTIFIER=trainingd", "CODE_FILE=f.swift", "CODE_LINE=7",
            "CODE_FUNC=g()", "TRAININGD_HOST=algo-1", "TRAININGD_JOB=j1",
        ])
    }

    @Test func stderrLinesNameLevelAndContext() {
        #expect(StderrLogHandler.line(identifier: "trainingd", level: .info, message: "accepted", metadata: ["job": "a"])
            == "trainingd: info: accepted job=a\n")
    }
}

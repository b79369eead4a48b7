import Foundation
import Testing
import TrainingRuntime

@Suite("Job log")
struct LogTests {
    @Test("stdout and stderr lines are timestamped and tagged; the last line is kept without a newline")
    func timestampedLines() async throws {
        try await withTemporaryDirectory { dir in
            let job = try RunningJob(shellJob("echo hello; echo oops >&2; printf 'no newline'", in: dir))
            #expect(try #require(await job.exit()).exitCode == 0)
            let lines = job.logLines
            #expect(lines.count == 3)
            let pattern = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (out|err) (.*)$/
            let parsed = lines.compactMap { try? pattern.wholeMatch(in: $0) }.map { "\($0.1) \($0.2)" }
            #expect(Set(parsed) == ["out hello", "err oops", "out no newline"])
        }
    }

    @Test("the log stays within its cap when the job writes ten times as much")
    func capIsRespected() async throws {
        try await withTemporaryDirectory { dir in
            var spec = shellJob(
                "i=0; while [ $i -lt 8000 ]; do echo \"line $i abcdefghijklmnopqrstuvwxyz0123456789\"; i=$((i+1)); done",
                in: dir)
            spec.logCapBytes = 64 * 1024  // 8000 records of ~80 bytes: ~10x the cap
            let job = try RunningJob(spec)
            #expect(try #require(await job.exit()).exitCode == 0)
            let size = { (path: String) in
                ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
            }
            let current = size(spec.logPath)
            let older = size(spec.logPath + ".1")
            #expect(older > 0)
            #expect(current + older <= 64 * 1024)
            #expect(job.logLines.last?.hasSuffix("out line 7999 abcdefghijklmnopqrstuvwxyz0123456789") == true)
        }
    }
}

import Foundation
import Testing
import TrainingFiles

@Suite("ProcFile: the kernel's files, read whole")
struct ProcFileTests {
    @Test("a /proc file longer than a page is read to its end (Foundation stops after the first page)")
    func wholeFile() throws {
        // The test process's maps are well over 4 KiB (the Swift runtime, Foundation, the tests);
        // the last line is the stack's or [vsyscall], on every x86_64 and arm64 kernel.
        let maps = try #require(ProcFile.read("/proc/self/maps"))
        #expect(maps.utf8.count > 4096, "\(maps.utf8.count) bytes")
        #expect(maps.hasSuffix("\n"))
        let last = try #require(maps.split(separator: "\n").last)
        #expect(last.hasSuffix("[vsyscall]") || last.hasSuffix("[stack]") || last.hasSuffix("[vectors]"), "\(last)")
        #expect(ProcFile.read("/proc/self/maps", limit: 100)?.utf8.count == 100)
        #expect(ProcFile.read("/proc/self/no-such-file") == nil)
    }
}

import Foundation
import Testing
@testable import TrainingStaging

/// The checkpoint watcher on real files: inotify, atomic copies, complete-only semantics.
@Suite("checkpoint watcher")
struct CheckpointWatcherTests {
    final class Fixture: @unchecked Sendable {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-\(UUID().uuidString)").path
        var local: String { root + "/local" }
        var remote: String { root + "/remote" }
        var status: String { root + "/algorithm.status" }
        let finished = DispatchSemaphore(value: 0)
        var error: StagingError?

        init() throws {
            try FileManager.default.createDirectory(atPath: local, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: remote, withIntermediateDirectories: true)
        }

        deinit { try? FileManager.default.removeItem(atPath: root) }

        /// Starts the watcher on a thread of its own; it returns once `end(...)` writes the status file.
        func start(settle: Double = 0.3, also others: [SyncedDirectory] = []) {
            let request = SyncWatchRequest(directories: [SyncedDirectory(localDirectory: local, destination: remote, mirrorsDeletions: true)] + others,
                                           algorithmStatusPath: status, settleSeconds: settle)
            Thread.detachNewThread { [self] in
                do throws(StagingError) { try SyncWatcher(request).run() } catch { self.error = error }
                finished.signal()
            }
            Thread.sleep(forTimeInterval: 0.2)  // the watches are in place
        }

        func end(_ statusLine: String) throws {
            try (statusLine + "\n").write(toFile: status, atomically: true, encoding: .utf8)
            #expect(finished.wait(timeout: .now() + 10) == .success)
            #expect(error == nil)
        }

        func write(_ key: String, _ text: String) throws {
            try FileManager.default.createDirectory(atPath: (local + "/" + key as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: local + "/" + key, atomically: false, encoding: .utf8)
        }

        func remoteText(_ key: String) -> String? { try? String(contentsOfFile: remote + "/" + key, encoding: .utf8) }

        func waitForRemote(_ key: String, _ text: String?, timeout: Double = 5) -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if remoteText(key) == text { return true }
                Thread.sleep(forTimeInterval: 0.02)
            }
            return false
        }
    }

    @Test("files written in place are copied once settled, renamed ones at once, deletions propagate, nested directories too")
    func syncWhileRunning() throws {
        let fixture = try Fixture()
        fixture.start(settle: 0.3)
        try fixture.write("epoch-1.ckpt", "one")
        #expect(fixture.waitForRemote("epoch-1.ckpt", "one"))
        try "two".write(toFile: fixture.local + "/.tmp-model", atomically: false, encoding: .utf8)
        let renamedAt = Date()
        rename(fixture.local + "/.tmp-model", fixture.local + "/model.ckpt")
        #expect(fixture.waitForRemote("model.ckpt", "two"))
        #expect(Date().timeIntervalSince(renamedAt) < 0.3, "a renamed file is complete without waiting to settle")
        try fixture.write("shards/part-0", "zero")
        #expect(fixture.waitForRemote("shards/part-0", "zero"))
        unlink(fixture.local + "/epoch-1.ckpt")
        #expect(fixture.waitForRemote("epoch-1.ckpt", nil))
        #expect(!(try FileManager.default.contentsOfDirectory(atPath: fixture.remote)).contains { $0.hasPrefix(".trainingd-tmp") })
        try fixture.end("exit_code=0")
    }

    @Test("a file closed as its writer was killed never replaces the complete copy")
    func killedMidWrite() throws {
        let fixture = try Fixture()
        fixture.start(settle: 1)
        try fixture.write("state.ckpt", "complete")
        #expect(fixture.waitForRemote("state.ckpt", "complete"))
        try fixture.write("state.ckpt", "trunc")  // the kill's close: no time to settle
        try fixture.end("signal=9")
        #expect(fixture.remoteText("state.ckpt") == "complete")
    }

    @Test("after a normal exit every closed file is copied, settled or not")
    func normalExitCopiesAll() throws {
        let fixture = try Fixture()
        fixture.start(settle: 5)
        try fixture.write("final.ckpt", "last words")
        try fixture.end("exit_code=0")
        #expect(fixture.remoteText("final.ckpt") == "last words")
    }

    @Test("files already there that differ from the location are synced at start (a restarted daemon's watcher)")
    func reconcileAtStart() throws {
        let fixture = try Fixture()
        try fixture.write("old.ckpt", "from before")
        fixture.start(settle: 0.1)
        #expect(fixture.waitForRemote("old.ckpt", "from before"))
        try fixture.end("exit_code=0")
    }

    @Test("one watcher serves several directories; intermediate-style ones keep remote files a local deletion removes; a nested one syncs alone")
    func severalDirectories() throws {
        let fixture = try Fixture()
        let output = fixture.root + "/output", outputRemote = fixture.root + "/output-remote"
        let board = output + "/board", boardRemote = fixture.root + "/board-remote"
        try FileManager.default.createDirectory(atPath: board, withIntermediateDirectories: true)
        fixture.start(settle: 0.1, also: [
            SyncedDirectory(localDirectory: output, destination: outputRemote, mirrorsDeletions: false),
            SyncedDirectory(localDirectory: board, destination: boardRemote, mirrorsDeletions: false),
        ])
        func remote(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }
        func waitFor(_ path: String, _ text: String) -> Bool {
            let deadline = Date().addingTimeInterval(5)
            while Date() < deadline, remote(path) != text { Thread.sleep(forTimeInterval: 0.02) }
            return remote(path) == text
        }
        try "step 1".write(toFile: output + "/progress.txt", atomically: false, encoding: .utf8)
        try "events".write(toFile: board + "/events.out", atomically: false, encoding: .utf8)
        try fixture.write("c.ckpt", "c")
        #expect(waitFor(outputRemote + "/progress.txt", "step 1"))
        #expect(waitFor(boardRemote + "/events.out", "events"))
        #expect(fixture.waitForRemote("c.ckpt", "c"))
        #expect(!FileManager.default.fileExists(atPath: outputRemote + "/board/events.out"), "the nested directory is synced to its own location only")
        unlink(output + "/progress.txt")
        unlink(fixture.local + "/c.ckpt")
        #expect(fixture.waitForRemote("c.ckpt", nil))
        #expect(remote(outputRemote + "/progress.txt") == "step 1", "intermediate output stays at the location when deleted locally")
        try fixture.end("exit_code=0")
    }
}

import Foundation
import Testing
import TrainingFiles

/// The daemon detaches FastFile mounts by path, only one level inside its own `.work`.
@Suite("Mounts: what is listed and detached", .enabled(if: getuid() == 0, "mounting needs root"))
struct MountsTests {
    static func mountTmpfs(_ path: String) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/mount")
        process.arguments = ["-t", "tmpfs", "-o", "size=1m", "tmpfs", path]
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    @Test("mounts directly inside the directory are listed (names with spaces too) and detached; a deeper one is neither")
    func directChildrenOnly() throws {
        let root = NSTemporaryDirectory() + "trainingd-mounts-" + UUID().uuidString
        let work = root + "/.work"
        for path in [work + "/fastfile-algo-1-train", work + "/with space", work + "/volume"] {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        defer {
            umount2(work + "/volume/deep", 2)
            try? FileManager.default.removeItem(atPath: root)
        }
        try #require(Self.mountTmpfs(work + "/fastfile-algo-1-train") && Self.mountTmpfs(work + "/with space"), "tmpfs mounts are not permitted here")
        try FileManager.default.createDirectory(atPath: work + "/volume/deep", withIntermediateDirectories: true)
        try #require(Self.mountTmpfs(work + "/volume/deep"))
        // Mounted twice over: both go.
        try #require(Self.mountTmpfs(work + "/fastfile-algo-1-train"))

        #expect(Set(Mounts.mountPoints(in: work)) == [work + "/fastfile-algo-1-train", work + "/with space"])
        #expect(Mounts.detachAll(in: work).isEmpty)
        #expect(Mounts.mountPoints(in: work).isEmpty)
        #expect(Mounts.mountPoints(in: work + "/volume") == [work + "/volume/deep"])
        #expect(Mounts.detachAll(in: work).isEmpty)
    }
}

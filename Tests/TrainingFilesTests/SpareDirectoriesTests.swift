import Foundation
import Testing
import TrainingFiles

/// Directories made ahead: a new entry is a renamed spare with exactly the asked mode, a taken name
/// is refused as mkdir would, and what a crash left is removed at start.
@Suite("SpareDirectories: a new directory is a renamed spare")
struct SpareDirectoriesTests {
    let root = NSTemporaryDirectory() + "trainingd-spares-" + UUID().uuidString

    init() throws {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: root) }

    func spareNames() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: root).filter { $0.hasPrefix(SpareDirectories.namePrefix) }.sorted()
    }

    func inode(_ path: String) -> UInt64? {
        var info = stat()
        return lstat(path, &info) == 0 ? UInt64(info.st_ino) : nil
    }

    @Test("start() removes a crash's leftovers and makes the spares; a new directory is one of them, with its mode")
    func newDirectoryIsASpare() throws {
        defer { cleanUp() }
        // What a crash left: an empty spare, and one with an entry (nobody else can write there,
        // but the removal does not depend on that).
        try FileManager.default.createDirectory(atPath: root + "/.spare-left1/inner", withIntermediateDirectories: true)
        mkdir(root + "/.spare-left2", 0o700)
        let spares = SpareDirectories(in: root, keep: 3, refillDelay: .milliseconds(1))
        spares.start()
        spares.waitForRefill()
        let made = try spareNames()
        #expect(made.count == 3)
        #expect(!made.contains(".spare-left1") && !made.contains(".spare-left2"))
        #expect(spares.readyCount == 3)
        let spareInodes = Set(made.compactMap { inode(root + "/" + $0) })

        let directory = try spares.makeSubdirectory("job-1", mode: 0o711)
        #expect(directory.path == root + "/job-1")
        #expect(spareInodes.contains(try #require(inode(root + "/job-1"))))
        let info = try directory.status()
        #expect(info.st_mode & 0o7777 == 0o711)
        #expect(info.st_uid == geteuid())
        // The descriptor is the directory's: entries made by it land in job-1.
        _ = try directory.makeSubdirectory("inside", mode: 0o755)
        #expect(FileManager.default.fileExists(atPath: root + "/job-1/inside"))

        // The refill comes after its delay and brings the spares back to three.
        #expect(spares.readyCount == 2)
        Thread.sleep(forTimeInterval: 0.05)
        spares.waitForRefill()
        #expect(spares.readyCount == 3)
        #expect(try spareNames().count == 3)
    }

    @Test("a taken name fails with EEXIST, as mkdir does, and keeps the spare; with none ready it is made directly")
    func takenNameAndNoSpares() throws {
        defer { cleanUp() }
        mkdir(root + "/existing", 0o755)
        let spares = SpareDirectories(in: root, keep: 1, refillDelay: .seconds(30))
        spares.start()
        spares.waitForRefill()
        #expect(spares.readyCount == 1)
        let refused = #expect(throws: FileError.self) { _ = try spares.makeSubdirectory("existing", mode: 0o755) }
        #expect(refused?.errorNumber == EEXIST)
        #expect(spares.readyCount == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/existing").isEmpty)

        _ = try spares.makeSubdirectory("first", mode: 0o750)
        #expect(spares.readyCount == 0)  // the refill waits 30 s: the next one is made directly
        let second = try spares.makeSubdirectory("second", mode: 0o705)
        #expect(try second.status().st_mode & 0o7777 == 0o705)
        #expect(try spareNames().isEmpty)
    }

    @Test("start() after a use keeps the spares this process made (a restarted daemon starts jobs before it); a vanished spare falls back to mkdir")
    func startAfterUseAndVanishedSpare() throws {
        defer { cleanUp() }
        let spares = SpareDirectories(in: root, keep: 2, refillDelay: .milliseconds(1))
        _ = try spares.makeSubdirectory("recovered", mode: 0o711)  // none ready yet: made directly, refill queued
        Thread.sleep(forTimeInterval: 0.05)
        spares.waitForRefill()
        #expect(spares.readyCount == 2)
        spares.start()
        spares.waitForRefill()
        #expect(try spareNames().count == 2)
        _ = try spares.makeSubdirectory("next", mode: 0o711)
        #expect(FileManager.default.fileExists(atPath: root + "/next"))

        // Someone removed the spares by hand: the next directory is still made.
        for name in try spareNames() { try FileManager.default.removeItem(atPath: root + "/" + name) }
        let made = try spares.makeSubdirectory("after-removal", mode: 0o750)
        #expect(try made.status().st_mode & 0o7777 == 0o750)
    }

    func mode(_ path: String) -> UInt32? {
        var info = stat()
        return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR ? UInt32(info.st_mode & 0o7777) : nil
    }

    @Test("a spare with a skeleton holds its directories, with their modes; a skeleton that cannot be made leaves no spare, and the directory is made empty")
    func skeleton() throws {
        defer { cleanUp() }
        let spares = SpareDirectories(in: root, keep: 1, refillDelay: .milliseconds(1),
                                      skeleton: [("work", 0o700), ("volume", 0o700), ("volume/model", 0o755)])
        spares.start()
        spares.waitForRefill()
        let made = try spares.makeSubdirectory("job", mode: 0o711)
        #expect(mode(root + "/job") == 0o711)
        #expect(mode(root + "/job/work") == 0o700)
        #expect(mode(root + "/job/volume") == 0o700)
        #expect(mode(root + "/job/volume/model") == 0o755)
        // Given away by the taker, by descriptor; an entry that is not there says so.
        #expect(try made.setOwner(ofEntry: "volume/model", uid: 0, gid: 0))
        #expect(try !made.setOwner(ofEntry: "volume/absent", uid: 0, gid: 0))

        let broken = SpareDirectories(in: root + "/other", keep: 1, refillDelay: .milliseconds(1), skeleton: [("missing/parent", 0o755)])
        try FileManager.default.createDirectory(atPath: root + "/other", withIntermediateDirectories: true)
        broken.start()
        broken.waitForRefill()
        #expect(broken.readyCount == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/other").isEmpty, "the half-made spare was removed")
        _ = try broken.makeSubdirectory("plain", mode: 0o750)
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/other/plain").isEmpty)
    }
}

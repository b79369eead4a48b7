import Foundation
import Testing
import TrainingFiles

/// The descriptor-based file operations root uses next to trees a job user can write: a link
/// planted anywhere is never followed, whatever the operation.
@Suite("Directory: no link is ever followed")
struct DirectoryTests {
    let root: String
    /// A file and a directory outside the tree, standing for root's own files.
    let canaryFile: String
    let canaryDirectory: String

    init() throws {
        root = NSTemporaryDirectory() + "trainingd-files-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root + "/tree/a/b", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/outside/dir", withIntermediateDirectories: true)
        canaryFile = root + "/outside/secret"
        canaryDirectory = root + "/outside/dir"
        try "canary".write(toFile: canaryFile, atomically: true, encoding: .utf8)
        try "inside".write(toFile: canaryDirectory + "/kept", atomically: true, encoding: .utf8)
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: root) }

    @Test("removeTree removes links as links: what they point to stays")
    func removeTreeKeepsLinkTargets() throws {
        defer { cleanUp() }
        try "x".write(toFile: root + "/tree/a/b/file", atomically: true, encoding: .utf8)
        symlink(canaryDirectory, root + "/tree/a/dirlink")
        symlink(canaryFile, root + "/tree/a/b/filelink")
        mkfifo(root + "/tree/a/fifo", 0o600)
        chmod(root + "/tree/a/b", 0o000)  // an algorithm may leave this; the removal still goes through
        let parent = try Directory.open(root)
        #expect(try parent.removeTree("tree"))
        #expect(!FileManager.default.fileExists(atPath: root + "/tree"))
        #expect((try? String(contentsOfFile: canaryFile, encoding: .utf8)) == "canary")
        #expect((try? String(contentsOfFile: canaryDirectory + "/kept", encoding: .utf8)) == "inside")
        #expect(try parent.removeTree("tree") == false)
    }

    @Test("removeTree removes a wide and deep tree, directories without permissions included")
    func removeTreeWideAndDeep() throws {
        defer { cleanUp() }
        var path = root + "/tree/a/b"
        for depth in 0..<40 {
            path += "/d\(depth)"
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            for index in 0..<5 { try "\(index)".write(toFile: path + "/f\(index)", atomically: false, encoding: .utf8) }
            if depth % 7 == 3 { chmod(path, 0o000) }
        }
        for index in 0..<300 { try "".write(toFile: root + "/tree/wide-\(index)", atomically: false, encoding: .utf8) }
        #expect(try Directory.open(root).removeTree("tree"))
        #expect(!FileManager.default.fileExists(atPath: root + "/tree"))
    }

    @Test("markAsTopOfHierarchy sets ext4's top-directory flag (lsattr shows T); elsewhere it says it could not")
    func topOfHierarchy() throws {
        defer { cleanUp() }
        let directory = try Directory.open(root + "/tree")
        let marked = directory.markAsTopOfHierarchy()
        let lsattr = Process()
        lsattr.executableURL = URL(fileURLWithPath: "/usr/bin/lsattr")
        lsattr.arguments = ["-d", root + "/tree"]
        let output = Pipe()
        lsattr.standardOutput = output
        lsattr.standardError = FileHandle.nullDevice
        try lsattr.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        lsattr.waitUntilExit()
        let flags = text.split(separator: " ").first.map(String.init) ?? ""
        #expect(marked == flags.contains("T"), "markAsTopOfHierarchy said \(marked), lsattr says \(text)")
        #expect(directory.markAsTopOfHierarchy() == marked, "setting it again changes nothing")
    }

    @Test("removeTree of a name that is itself a link removes only the link")
    func removeTreeOfALink() throws {
        defer { cleanUp() }
        symlink(canaryDirectory, root + "/link")
        #expect(try Directory.open(root).removeTree("link"))
        #expect(FileManager.default.fileExists(atPath: canaryDirectory + "/kept"))
    }

    @Test("createFile replaces a planted link with a new file, leaving its target alone")
    func createFileReplacesLinks() throws {
        defer { cleanUp() }
        symlink(canaryFile, root + "/tree/status")
        symlink(root + "/outside/created-through-link", root + "/tree/new")
        let tree = try Directory.open(root + "/tree")
        try tree.createFile("status", contents: Array("mine".utf8), mode: 0o600)
        try tree.createFile("new", contents: [], mode: 0o644)
        #expect((try? String(contentsOfFile: canaryFile, encoding: .utf8)) == "canary")
        #expect(!FileManager.default.fileExists(atPath: root + "/outside/created-through-link"))
        #expect((try? String(contentsOfFile: root + "/tree/status", encoding: .utf8)) == "mine")
        var info = stat()
        #expect(lstat(root + "/tree/status", &info) == 0 && info.st_mode & 0o7777 == 0o600 && (info.st_mode & S_IFMT) == S_IFREG)
    }

    @Test("readRegularFile refuses links, escapes, FIFOs and other users' files, and reads at most the limit")
    func readRegularFileRefuses() throws {
        defer { cleanUp() }
        let tree = try Directory.open(root + "/tree")
        try String(repeating: "f", count: 5000).write(toFile: root + "/tree/a/failure", atomically: true, encoding: .utf8)
        #expect(try tree.readRegularFile("a/failure", owner: geteuid(), limit: 1024).count == 1024)
        symlink(canaryFile, root + "/tree/a/linked")
        symlink(root + "/outside", root + "/tree/out")
        mkfifo(root + "/tree/a/fifo", 0o600)
        for relative in ["a/linked", "out/secret", "../outside/secret", "a/fifo", "/etc/hostname"] {
            #expect(throws: FileError.self, "\(relative)") { try tree.readRegularFile(relative, owner: geteuid(), limit: 1024) }
        }
        #expect(throws: FileError.self) { try tree.readRegularFile("a/failure", owner: geteuid() &+ 1, limit: 1024) }
    }

    @Test("makeSubdirectory sets the exact mode whatever the umask, and refuses a taken name")
    func makeSubdirectoryMode() throws {
        defer { cleanUp() }
        let old = umask(0o077)
        defer { umask(old) }
        let tree = try Directory.open(root + "/tree")
        let made = try tree.makeSubdirectory("job", mode: 0o711)
        #expect(try made.status().st_mode & 0o7777 == 0o711)
        symlink(canaryDirectory, root + "/tree/taken")
        #expect(throws: FileError.self) { try tree.makeSubdirectory("taken", mode: 0o711) }
        #expect(throws: FileError.self) { try tree.subdirectory("taken") }
    }
}

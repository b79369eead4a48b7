import Foundation
import Testing
import TrainingArchive

/// The native model.tar.gz: standard archives that GNU tar, gzip and Python's tarfile read, with
/// the contents, types and names of the tree, whatever the size (one block or many, compressed in parallel).
@Suite("TarArchive: gzip'd tars that every reader reads")
struct TarArchiveTests {
    let root: String

    init() throws {
        root = NSTemporaryDirectory() + "trainingd-archive-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root + "/tree", withIntermediateDirectories: true)
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: root) }

    /// Runs a command, returning its exit status and standard output.
    @discardableResult
    func run(_ arguments: [String], input: String? = nil) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func archive(_ directory: String, threads: Int = 2) throws -> (path: String, summary: TarArchive.Summary) {
        let path = root + "/out-\(UUID().uuidString).tar.gz"
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        #expect(fd >= 0)
        defer { close(fd) }
        let summary = try TarArchive.writeGzip(directory: directory, to: fd, threads: threads)
        return (path, summary)
    }

    /// Bytes that compress somewhat (like real models) but not to nothing.
    func sampleBytes(_ count: Int, seed: UInt64) -> Data {
        var state = seed
        var bytes = [UInt8](repeating: 0, count: count)
        for index in 0..<count {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            bytes[index] = index % 7 == 0 ? UInt8(truncatingIfNeeded: state >> 33) : UInt8(index % 31)
        }
        return Data(bytes)
    }

    @Test("an empty directory gives the archive of ./ alone, which tar and gzip accept")
    func emptyDirectory() throws {
        defer { cleanUp() }
        let (path, summary) = try archive(root + "/tree")
        #expect(summary.entries == 1)
        #expect(try run(["gzip", "-t", path]).status == 0)
        let listing = try run(["tar", "-tzf", path])
        #expect(listing.status == 0)
        #expect(listing.output == "./\n")
    }

    @Test("files, directories, links, FIFOs and long names come back as they were (GNU tar and Python's tarfile)")
    func treeRoundTrip() throws {
        defer { cleanUp() }
        let tree = root + "/tree"
        try FileManager.default.createDirectory(atPath: tree + "/dir/empty", withIntermediateDirectories: true)
        try sampleBytes(1000, seed: 1).write(to: URL(fileURLWithPath: tree + "/model.bin"))
        try Data().write(to: URL(fileURLWithPath: tree + "/dir/zero"))
        try sampleBytes(512, seed: 2).write(to: URL(fileURLWithPath: tree + "/dir/exactly-one-block"))
        let longName = String(repeating: "n", count: 60) + "/" + String(repeating: "m", count: 80)
        try FileManager.default.createDirectory(atPath: tree + "/" + String(repeating: "n", count: 60), withIntermediateDirectories: true)
        try "long".write(toFile: tree + "/" + longName, atomically: false, encoding: .utf8)
        symlink("model.bin", tree + "/link")
        symlink("/" + String(repeating: "t", count: 150), tree + "/long-link")
        mkfifo(tree + "/fifo", 0o600)
        chmod(tree + "/model.bin", 0o640)
        let (path, summary) = try archive(tree)
        #expect(summary.entries == 11)
        #expect(summary.bytes == 1000 + 512 + 4)

        let listing = try run(["tar", "-tzf", path]).output.split(separator: "\n").map(String.init)
        // In byte order of names, parents before children.
        #expect(listing == ["./", "./dir/", "./dir/empty/", "./dir/exactly-one-block", "./dir/zero", "./fifo", "./link", "./long-link",
                            "./model.bin", "./" + String(repeating: "n", count: 60) + "/", "./" + longName])
        let extracted = root + "/extracted"
        try FileManager.default.createDirectory(atPath: extracted, withIntermediateDirectories: true)
        #expect(try run(["tar", "-xzf", path, "-C", extracted]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: extracted + "/model.bin")) == sampleBytes(1000, seed: 1))
        #expect(try Data(contentsOf: URL(fileURLWithPath: extracted + "/dir/exactly-one-block")) == sampleBytes(512, seed: 2))
        #expect(try String(contentsOfFile: extracted + "/" + longName, encoding: .utf8) == "long")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: extracted + "/link") == "model.bin")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: extracted + "/long-link") == "/" + String(repeating: "t", count: 150))
        var info = stat()
        #expect(lstat(extracted + "/fifo", &info) == 0 && (info.st_mode & S_IFMT) == S_IFIFO)
        #expect(lstat(extracted + "/model.bin", &info) == 0 && (info.st_mode & 0o777) == 0o640)

        let python = """
            import sys, tarfile
            with tarfile.open(sys.argv[1], "r:gz") as archive:
                for member in archive.getmembers():
                    kind = "d" if member.isdir() else "l" if member.issym() else "p" if member.isfifo() else "f"
                    print(kind, member.name, member.size, member.linkname)
            """
        let members = try run(["python3", "-c", python, path])
        #expect(members.status == 0)
        #expect(members.output.contains("f ./model.bin 1000 \n"))
        #expect(members.output.contains("f ./\(longName) 4 \n"))
        #expect(members.output.contains("l ./long-link 0 /" + String(repeating: "t", count: 150) + "\n"))
        #expect(members.output.contains("p ./fifo 0 \n"))
    }

    @Test("a tree of many blocks compressed on several threads decompresses to exactly the tar stream (gzip, Python's gzip and tarfile)")
    func multiBlockParallel() throws {
        defer { cleanUp() }
        let tree = root + "/tree"
        // 5 MiB + a bit: several 1 MiB blocks (one gzip member each), several batches of them, and a last block that is short.
        let big = sampleBytes(5 * 1024 * 1024 + 777, seed: 3)
        try big.write(to: URL(fileURLWithPath: tree + "/big"))
        try sampleBytes(200_000, seed: 4).write(to: URL(fileURLWithPath: tree + "/medium"))
        var plain = Data()
        try TarArchive.write(directory: tree) { bytes in plain.append(contentsOf: bytes) }
        for threads in [1, 2, 3] {
            let (path, _) = try archive(tree, threads: threads)
            #expect(try run(["gzip", "-t", path]).status == 0)
            let decompressed = root + "/plain-\(threads).tar"
            #expect(try run(["sh", "-c", "gzip -dc \"$0\" > \"$1\"", path, decompressed]).status == 0)
            #expect(try Data(contentsOf: URL(fileURLWithPath: decompressed)) == plain, "threads: \(threads)")
            let compressedSize = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
            #expect(compressedSize < plain.count / 2)
            // Every member is read, by the readers SageMaker's own tools use.
            let python = """
                import gzip, sys, tarfile
                with open(sys.argv[1], "rb") as f:
                    data = f.read()
                members = 0
                rest = data
                while rest:
                    decompressor = __import__("zlib").decompressobj(31)
                    decompressor.decompress(rest)
                    rest = decompressor.unused_data
                    members += 1
                with tarfile.open(sys.argv[1], "r:gz") as archive:
                    big = archive.extractfile("./big").read()
                with open(sys.argv[2], "rb") as f:
                    same = int(f.read() == big)
                print(members, len(gzip.decompress(data)), same)
                """
            let read = try run(["python3", "-c", python, path, tree + "/big"])
            #expect(read.status == 0)
            let fields = read.output.prefix(while: { $0 != "\n" }).split(separator: " ").compactMap { Int($0) }
            #expect(fields.count == 3 && fields[0] >= 6, "\(fields): fewer gzip members than 1 MiB blocks")
            #expect(fields.count == 3 && fields[1] == plain.count && fields[2] == 1, "\(fields): not the tar stream, or ./big differs")
        }
        #expect(plain.count % (20 * 512) == 0)
    }

    @Test("sockets are left out and named; the rest is archived")
    func socketsAreSkipped() throws {
        defer { cleanUp() }
        let tree = root + "/tree"
        try "x".write(toFile: tree + "/file", atomically: false, encoding: .utf8)
        let socketFD = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socketFD) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let socketPath = tree + "/socket"
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in socketPath.utf8.enumerated() where index < raw.count - 1 { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socketFD, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        try #require(bound == 0)
        let (path, summary) = try archive(tree)
        #expect(summary.skipped == ["socket"])
        #expect(try run(["tar", "-tzf", path]).output == "./\n./file\n")
    }

    @Test("a link at the root is refused, not followed")
    func rootLinkRefused() throws {
        defer { cleanUp() }
        symlink(root + "/tree", root + "/link")
        #expect(throws: ArchiveError.self) { try archive(root + "/link") }
    }
}

extension TarArchiveTests {
    @Test("several hosts' directories merge into one archive: directories joined, the first host's file kept on a clash, every clash named")
    func mergedDirectories() throws {
        defer { cleanUp() }
        let hosts = (1...3).map { root + "/algo-\($0)" }
        for host in hosts { try FileManager.default.createDirectory(atPath: host + "/shared-dir", withIntermediateDirectories: true) }
        try "1".write(toFile: hosts[0] + "/weights", atomically: false, encoding: .utf8)
        try "2".write(toFile: hosts[1] + "/weights", atomically: false, encoding: .utf8)
        try "a".write(toFile: hosts[0] + "/shared-dir/a", atomically: false, encoding: .utf8)
        try "b".write(toFile: hosts[1] + "/shared-dir/b", atomically: false, encoding: .utf8)
        // A directory on a later host where an earlier host has a file: left out whole.
        try "file".write(toFile: hosts[0] + "/thing", atomically: false, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: hosts[2] + "/thing", withIntermediateDirectories: true)
        try "inside".write(toFile: hosts[2] + "/thing/inside", atomically: false, encoding: .utf8)
        let path = root + "/merged.tar.gz"
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        let summary = try TarArchive.writeGzip(directories: hosts, to: fd)
        close(fd)
        #expect(summary.clashes == [hosts[1] + ": weights", hosts[2] + ": thing"])
        let listing = try run(["tar", "-tzf", path]).output.split(separator: "\n").map(String.init)
        #expect(listing == ["./", "./shared-dir/", "./shared-dir/a", "./thing", "./weights", "./shared-dir/b"])
        let extracted = root + "/extracted"
        try FileManager.default.createDirectory(atPath: extracted, withIntermediateDirectories: true)
        #expect(try run(["tar", "-xzf", path, "-C", extracted]).status == 0)
        #expect(try String(contentsOfFile: extracted + "/weights", encoding: .utf8) == "1")
        #expect(try String(contentsOfFile: extracted + "/thing", encoding: .utf8) == "file")
    }
}

extension TarArchiveTests {
    @Test("limits end the archive as soon as the tree would pass them, whatever it was when measured")
    func limits() throws {
        defer { cleanUp() }
        try sampleBytes(1000, seed: 5).write(to: URL(fileURLWithPath: root + "/tree/grown"))
        var sunk = 0
        #expect(throws: ArchiveError.self) {
            try TarArchive.write(directories: [root + "/tree"], limits: TarArchive.Limits(entries: 64, bytes: 100)) { sunk += $0.count }
        }
        #expect(sunk < 1000, "the file's contents were read past the limit")
        do {
            try TarArchive.write(directories: [root + "/tree"], limits: TarArchive.Limits(entries: 1, bytes: 1 << 20)) { _ in }
            Issue.record("two entries passed a limit of one")
        } catch {
            #expect(error.reason == TarArchive.beyondLimits)
        }
    }
}

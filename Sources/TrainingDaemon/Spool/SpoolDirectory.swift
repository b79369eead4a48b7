import Foundation
import TrainingCore
import TrainingStore

/// The spool's directories and the file moves of intake. A file goes
/// `incoming/` -> `.claimed/` (the atomic claim: one rename) -> `accepted/` or
/// `rejected/` (with `<file>.error.json`). A file left in `.claimed/` by a crash
/// is taken up again at the next start.
struct SpoolDirectory {
    let root: String
    var incoming: String { root + "/incoming" }
    var claimed: String { root + "/.claimed" }
    var accepted: String { root + "/accepted" }
    var rejected: String { root + "/rejected" }

    func create() throws(DaemonError) {
        for directory in [root, incoming, claimed, accepted, rejected] where mkdir(directory, 0o755) != 0 && errno != EEXIST {
            throw DaemonError.system("create the spool directory", directory, errno)
        }
        // Anyone who may submit jobs drops files here; the sticky bit keeps them from removing each other's.
        chmod(incoming, 0o1777)
    }

    /// Whether a name in `incoming/` is a submission: `*.json`, not a dot-file, not an error report.
    static func isCandidate(_ name: String) -> Bool {
        name.hasSuffix(".json") && !name.hasPrefix(".") && !name.hasSuffix(".error.json") && name.count > 5
    }

    /// What a claimed file is, learnt without following links or reading it.
    struct Identity: Equatable {
        var name: String
        var device: UInt64
        var inode: UInt64
        var owner: uid_t
        var group: gid_t
        var size: Int
        var kind: mode_t
        var modificationTime: Int64

        /// The key of this file's claim in the database.
        var storeIdentity: SpoolFileIdentity {
            SpoolFileIdentity(name: name, device: device, inode: inode, modificationTime: modificationTime)
        }
    }

    func identity(ofClaimed name: String) -> Identity? {
        var info = stat()
        guard lstat(claimed + "/" + name, &info) == 0 else { return nil }
        return Identity(name: name, device: UInt64(info.st_dev), inode: UInt64(info.st_ino), owner: info.st_uid,
                        group: info.st_gid, size: Int(info.st_size), kind: info.st_mode & S_IFMT,
                        modificationTime: Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec))
    }

    /// Claims `incoming/<name>`; false when another claim (or a removal) got there first.
    func claim(_ name: String) -> Bool {
        rename(incoming + "/" + name, claimed + "/" + name) == 0
    }

    /// Reads a claimed regular file, refusing to follow a link that replaced it after the claim.
    func read(claimed name: String, limit: Int) -> [UInt8]? {
        let fd = open(claimed + "/" + name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while bytes.count <= limit {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            if count <= 0 { break }
            bytes += buffer[..<count]
        }
        return bytes
    }

    func accept(_ name: String) {
        move(name, to: accepted)
    }

    /// Moves a claimed file to `rejected/` and writes its report beside it.
    func reject(_ name: String, report: ValidationReport) {
        let target = move(name, to: rejected)
        let data = Data((report.jsonText(pretty: true) + "\n").utf8)
        _ = FileManager.default.createFile(atPath: rejected + "/" + target + ".error.json", contents: data)
    }

    /// Moves a file out of `.claimed/`, never replacing an earlier file of the same name.
    @discardableResult
    private func move(_ name: String, to directory: String) -> String {
        var target = name
        var attempt = 1
        while FileManager.default.fileExists(atPath: directory + "/" + target) || FileManager.default.fileExists(atPath: directory + "/" + target + ".error.json") {
            target = String(name.dropLast(5)) + ".\(attempt).json"
            attempt += 1
        }
        if rename(claimed + "/" + name, directory + "/" + target) != 0 {
            // A directory or other special file: rename works for those too, so this is a real I/O error.
            unlink(claimed + "/" + name)
        }
        return target
    }

    /// Names waiting in a directory, oldest first, so that files dropped while the daemon was down keep their order.
    func pending(in directory: String) -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter(Self.isCandidate).map { name -> (String, Int) in
            var info = stat()
            lstat(directory + "/" + name, &info)
            return (name, info.st_mtim.tv_sec * 1_000_000_000 + info.st_mtim.tv_nsec)
        }.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.map(\.0)
    }
}

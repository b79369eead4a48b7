import Foundation
import Testing
import TrainingFiles

/// A root thread acting as a job user: its file operations are checked as the user's (root's
/// file capabilities are gone meanwhile), what it creates is the user's, and neither the rest
/// of the process nor the thread afterwards keeps anything of it.
@Suite("FileSystemIdentity: a thread of root's acts as the user", .enabled(if: getuid() == 0, "needs root"))
struct FileSystemIdentityTests {
    static let nobody = FileSystemIdentity(uid: 65534, gid: 65534)
    let root: String

    init() throws {
        root = NSTemporaryDirectory() + "trainingd-identity-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root + "/root-only", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/users", withIntermediateDirectories: true)
        chmod(root, 0o755)
        chmod(root + "/root-only", 0o755)
        chown(root + "/users", 65534, 65534)
        try "secret".write(toFile: root + "/root-only/secret", atomically: false, encoding: .utf8)
        chmod(root + "/root-only/secret", 0o600)
    }

    func cleanUp() { try? FileManager.default.removeItem(atPath: root) }

    @Test("root's directories and files are closed to it; the user's are open, and what it creates is the user's")
    func actsAsTheUser() throws {
        defer { cleanUp() }
        let (createdInRootDirectory, readSecret, createdInUsers) = try Self.nobody.perform {
            let denied = open(root + "/root-only/planted", O_WRONLY | O_CREAT | O_EXCL, 0o644)
            let deniedErrno = errno
            if denied >= 0 { close(denied) }
            let secret = open(root + "/root-only/secret", O_RDONLY)
            if secret >= 0 { close(secret) }
            let created = open(root + "/users/file", O_WRONLY | O_CREAT | O_EXCL, 0o644)
            if created >= 0 { close(created) }
            return (denied >= 0 || deniedErrno != EACCES, secret >= 0, created >= 0)
        }
        #expect(!createdInRootDirectory)
        #expect(!readSecret)
        #expect(createdInUsers)
        var info = stat()
        #expect(stat(root + "/users/file", &info) == 0)
        #expect(info.st_uid == 65534 && info.st_gid == 65534)
        #expect(!FileManager.default.fileExists(atPath: root + "/root-only/planted"))
    }

    /// The calling thread's effective capabilities, from /proc/thread-self/status.
    static func effectiveCapabilities() -> UInt64 {
        let status = (try? String(contentsOfFile: "/proc/thread-self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("CapEff:") } ?? ""
        return UInt64(line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces), radix: 16) ?? .max
    }

    @Test("meanwhile the thread keeps no capability but CAP_SETGID (no CAP_SYS_RESOURCE past quotas), and has them all back after")
    func capabilitiesDropped() throws {
        defer { cleanUp() }
        let before = Self.effectiveCapabilities()
        let during = try Self.nobody.perform { Self.effectiveCapabilities() }
        #expect(during == 1 << 6, "CapEff while acting as the user: \(String(during, radix: 16))")  // CAP_SETGID
        #expect(Self.effectiveCapabilities() == before)
        // Root held more than that before (CAP_SYS_ADMIN, CAP_SETUID, ... whatever this machine grants root).
        #expect(before & ~UInt64(1 << 6) != 0, "CapEff before: \(String(before, radix: 16))")
    }

    @Test("supplementary groups open what the group may open, and only that")
    func groups() throws {
        defer { cleanUp() }
        try "g".write(toFile: root + "/root-only/group-file", atomically: false, encoding: .utf8)
        chown(root + "/root-only/group-file", 0, 4242)
        chmod(root + "/root-only/group-file", 0o040)
        func canRead(as identity: FileSystemIdentity) throws -> Bool {
            try identity.perform {
                let fd = open(root + "/root-only/group-file", O_RDONLY)
                if fd >= 0 { close(fd) }
                return fd >= 0
            }
        }
        #expect(try canRead(as: FileSystemIdentity(uid: 65534, gid: 65534, groups: [4242])))
        #expect(try !canRead(as: FileSystemIdentity(uid: 65534, gid: 65534, groups: [])))
    }

    @Test("the thread is root again afterwards, also after a throw, and other threads never stop being root")
    func restoredAndPerThread() throws {
        defer { cleanUp() }
        struct Planned: Error {}
        let inside = DispatchSemaphore(value: 0)
        let checked = DispatchSemaphore(value: 0)
        let otherThreadUID = LockedValue<UInt32>(UInt32.max)
        Thread.detachNewThread {
            inside.wait()
            otherThreadUID.set(FileSystemIdentity.currentUID)
            checked.signal()
        }
        #expect(throws: Planned.self) {
            try Self.nobody.perform {
                #expect(FileSystemIdentity.currentUID == 65534)
                inside.signal()
                #expect(checked.wait(timeout: .now() + 5) == .success)
                throw Planned()
            }
        }
        #expect(otherThreadUID.get() == 0)
        #expect(FileSystemIdentity.currentUID == 0)
        // Root's file capabilities are back: the root-only file opens again.
        let fd = open(root + "/root-only/secret", O_RDONLY)
        #expect(fd >= 0)
        close(fd)
    }
}

final class LockedValue<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func get() -> Value { lock.withLock { value } }
    func set(_ newValue: Value) { lock.withLock { value = newValue } }
}

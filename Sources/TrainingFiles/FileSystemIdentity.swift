import CTrainingShim
import Glibc

/// A user as the kernel checks file access: fsuid, fsgid and supplementary groups.
///
/// ``perform(_:)`` runs a closure on the calling thread with this identity, the way NFS and SMB
/// servers act for their users: Linux keeps credentials per thread, and a thread whose fsuid is not
/// 0 loses the file capabilities (capabilities(7)), so every open, create, rename and unlink in the
/// closure is checked as the user's and creates what the user would. The thread's other effective
/// capabilities (CAP_SYS_RESOURCE, which would pass quotas, CAP_SYS_ADMIN, ...) are dropped meanwhile
/// too, all but CAP_SETGID, which the way back needs. The privilege rule allows a
/// root process to touch a job user's trees only this way (or by descriptor, never following links):
/// nothing the closure does can reach further than the user could alone.
///
/// The closure must be synchronous and must not hand work to other threads (they keep the
/// daemon's identity). The identity is put back before `perform` returns, also when it throws.
public struct FileSystemIdentity: Sendable, Equatable {
    public var uid: UInt32
    public var gid: UInt32
    public var groups: [UInt32]

    public init(uid: UInt32, gid: UInt32, groups: [UInt32] = []) {
        self.uid = uid
        self.gid = gid
        self.groups = groups
    }

    /// At most this many supplementary groups (the daemon's users have a handful).
    public static let maximumGroups = Int(CTSHIM_MAX_GROUPS)

    /// Runs `body` on this thread as this identity.
    ///
    /// - Throws: `FileError` when the identity cannot be taken (too many groups, or the process may
    ///   not change it: it is not root), else what `body` throws.
    public func perform<Result>(_ body: () throws -> Result) throws -> Result {
        guard groups.count <= Self.maximumGroups else {
            throw FileError("act as user", "uid \(uid)", errno: EINVAL, reason: "the user has \(groups.count) groups, more than \(Self.maximumGroups)")
        }
        var target = ctshim_fs_identity()
        target.fsuid = uid
        target.fsgid = gid
        target.group_count = Int32(groups.count)
        withUnsafeMutableBytes(of: &target.groups) { raw in
            let slots = raw.bindMemory(to: gid_t.self)
            for (index, group) in groups.enumerated() { slots[index] = group }
        }
        var saved = ctshim_fs_identity()
        guard ctshim_thread_assume_fs_identity(&target, &saved) == 0 else {
            throw FileError("act as user", "uid \(uid)", errno: errno)
        }
        // Cannot fail for a thread that could take the identity (the shim aborts if it ever does:
        // a daemon thread must never go on as a user).
        defer { _ = ctshim_thread_restore_fs_identity(&saved) }
        return try body()
    }

    /// The calling thread's current fsuid (for tests and checks).
    public static var currentUID: UInt32 { UInt32(truncatingIfNeeded: ctshim_current_fsuid()) }
}

/// Which spool file a claim is about: its name and the identity of its inode.
///
/// The modification time is part of it so that a new file which happens to get
/// a deleted file's name and inode (file systems reuse inodes at once) is a
/// new claim, and so that a file the user rewrites after a crash starts over.
public struct SpoolFileIdentity: Hashable, Sendable, CustomStringConvertible {
    /// The file's name in the spool directory.
    public var name: String
    /// `st_dev`.
    public var device: UInt64
    /// `st_ino`.
    public var inode: UInt64
    /// `st_mtim` in nanoseconds since the epoch.
    public var modificationTime: Int64

    /// An identity, from `stat(2)` of the file.
    public init(name: String, device: UInt64, inode: UInt64, modificationTime: Int64) {
        self.name = name
        self.device = device
        self.inode = inode
        self.modificationTime = modificationTime
    }

    public var description: String { "spool file '\(name)' (device \(device), inode \(inode))" }
}

/// Where the processing of a spool file stands.
public enum SpoolClaimState: String, Sendable, CaseIterable {
    /// Being processed, or the daemon stopped while processing it.
    case claimed
    /// Accepted: its job is recorded.
    case done
    /// Refused (invalid definition, duplicate name).
    case rejected
    /// The daemon crashed on it too often; it is set aside and never read again.
    case quarantined
}

/// The store's record of one spool file.
public struct SpoolClaim: Sendable, Equatable {
    /// The file.
    public var identity: SpoolFileIdentity
    /// Where its processing stands.
    public var state: SpoolClaimState
    /// How many times processing has begun; the attempts before the last one
    /// were interrupted (a crash) when the state is still `claimed`.
    public var attempts: Int
    /// When the last attempt began, epoch seconds.
    public var claimedAt: Double
    /// When the claim reached its final state.
    public var finishedAt: Double?
    /// The job it became, while that job exists.
    public var job: JobID?

    /// Attempts that ended without a verdict, each because the daemon died while processing the file.
    public var interruptedAttempts: Int { attempts - 1 }
}

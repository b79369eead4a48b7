import Foundation

/// A Unix identity that a job and the work done for it run as.
struct UserAccount: Sendable, Equatable, Codable {
    var uid: uid_t
    var gid: gid_t
    var groups: [gid_t]
    var userName: String
    var home: String

    /// The identity of `uid` from the user database; a uid without an account gets
    /// its own number as group and `/` as home.
    static func of(uid: uid_t, fallbackGroup: gid_t) -> UserAccount {
        var record = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        guard getpwuid_r(uid, &record, &buffer, buffer.count, &result) == 0, result != nil else {
            return UserAccount(uid: uid, gid: fallbackGroup, groups: [fallbackGroup], userName: String(uid), home: "/")
        }
        let name = String(cString: record.pw_name)
        var count: Int32 = 64
        var groups = [gid_t](repeating: 0, count: Int(count))
        if getgrouplist(record.pw_name, record.pw_gid, &groups, &count) < 0 {
            groups = [gid_t](repeating: 0, count: Int(count))
            _ = getgrouplist(record.pw_name, record.pw_gid, &groups, &count)
        }
        return UserAccount(uid: uid, gid: record.pw_gid, groups: Array(groups.prefix(Int(max(count, 0)))),
                           userName: name, home: String(cString: record.pw_dir))
    }

    /// The identity of a user by name, or nil when there is no such user.
    static func named(_ name: String) -> UserAccount? {
        guard let record = getpwnam(name) else { return nil }
        return of(uid: record.pointee.pw_uid, fallbackGroup: record.pointee.pw_gid)
    }

    /// The daemon's own identity.
    static var current: UserAccount { of(uid: getuid(), fallbackGroup: getgid()) }
}

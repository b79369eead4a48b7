public import Foundation

/// Finds running keepers by the `--token` on their command line: how a restarted daemon
/// recognises the jobs an earlier one started (a pid alone could have been recycled).
public enum KeeperDiscovery {
    /// Pids of keepers whose token starts with `prefix` (or equals it, with `exact`).
    public static func keepers(token prefix: String, exact: Bool = false) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry), pid != getpid(), let token = token(of: pid) else { return nil }
            return (exact ? token == prefix : token.hasPrefix(prefix)) ? pid : nil
        }
    }

    /// The token of a keeper process, or nil when `pid` is not a keeper. Only processes of the
    /// daemon's own user count: anyone can start a process whose command line looks like a
    /// keeper's, and the daemon must not adopt (and then wait on) a user's imitation.
    public static func token(of pid: pid_t) -> String? {
        var info = stat()
        guard stat("/proc/\(pid)", &info) == 0, info.st_uid == geteuid() else { return nil }
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
        let arguments = data.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
        guard arguments.first?.hasSuffix(LocalExecutor.keeperName) == true,
              let index = arguments.firstIndex(of: "--token"), index + 1 < arguments.count else { return nil }
        return arguments[index + 1]
    }
}

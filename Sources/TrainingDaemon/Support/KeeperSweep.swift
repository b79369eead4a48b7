import Foundation

/// Finds keepers of a previous daemon by the token on their command line and ends their jobs.
/// (Adopting them instead, so that jobs outlive a restart, is issue 6.)
enum KeeperSweep {
    /// Keeper pids whose `--token` starts with `prefix`.
    static func keepers(tokenPrefix prefix: String) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry), pid != getpid(),
                let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
            else { return nil }
            let arguments = data.split(separator: 0, omittingEmptySubsequences: false).map { String(decoding: $0, as: UTF8.self) }
            guard let index = arguments.firstIndex(of: "--token"), index + 1 < arguments.count,
                arguments[index + 1].hasPrefix(prefix), arguments.first?.hasSuffix("trainingd-keeper") == true
            else { return nil }
            return pid
        }
    }

    /// Asks each keeper to kill its job (SIGUSR1), then SIGKILLs any keeper left after `timeout` seconds.
    static func endJobs(tokenPrefix prefix: String, timeout: Double = 5) {
        let found = keepers(tokenPrefix: prefix)
        guard !found.isEmpty else { return }
        for pid in found { kill(pid, SIGUSR1) }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline, found.contains(where: { kill($0, 0) == 0 }) { usleep(20_000) }
        for pid in found where kill(pid, 0) == 0 { kill(pid, SIGKILL) }
    }
}

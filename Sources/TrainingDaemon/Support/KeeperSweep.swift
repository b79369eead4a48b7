import Foundation
import TrainingRuntime

/// Ends what is left of jobs an earlier daemon started and that cannot be adopted (staging
/// workers, hosts of a job that lost some of its hosts), found by their keepers' tokens.
enum KeeperSweep {
    /// Asks each keeper to kill its job (SIGUSR1), then SIGKILLs any keeper left after `timeout` seconds.
    static func endJobs(tokenPrefix prefix: String, timeout: Double = 5) {
        let found = KeeperDiscovery.keepers(token: prefix)
        guard !found.isEmpty else { return }
        for pid in found { kill(pid, SIGUSR1) }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline, found.contains(where: { kill($0, 0) == 0 }) { usleep(20_000) }
        for pid in found where kill(pid, 0) == 0 { kill(pid, SIGKILL) }
    }
}

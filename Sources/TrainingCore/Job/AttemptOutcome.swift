/// How one attempt of a job ended. A job's attempts are its first run, the runs after each
/// interruption, and its retries; describe shows them all.
public enum AttemptOutcome: String, Sendable, Codable, CaseIterable {
    case completed = "Completed"
    case failed = "Failed"
    case stopped = "Stopped"
    /// Not the job's fault (a drain, a lost host, `jobctl interrupt`, a spot reclaim): it resumes
    /// from its checkpoints and uses none of its RetryStrategy attempts.
    case interrupted = "Interrupted"
    /// A fault of staging or the platform: it counts against MaximumRetryAttempts.
    case retried = "Retried"
}

public import Logging

/// Chooses the daemon's log backend once per process: the journal when systemd connected
/// standard error to it (`JOURNAL_STREAM` matches), plain lines on standard error otherwise.
public enum DaemonLogging {
    /// The threshold every handler reads; set it again on reload.
    public static let threshold = LogThreshold(.info)

    public static func bootstrap(identifier: String, level: Logger.Level) {
        threshold.level = level
        let journal = JournalStream.standardErrorIsJournal()
        LoggingSystem.bootstrap { _ -> any LogHandler in
            journal
                ? JournalLogHandler(identifier: identifier, threshold: threshold)
                : StderrLogHandler(identifier: identifier, threshold: threshold)
        }
    }
}

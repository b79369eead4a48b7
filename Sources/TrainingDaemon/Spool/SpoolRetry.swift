import Dispatch

/// What intake put aside after a transient error, and when it tries again: a timer on the
/// supervisor's queue, 0.1 s doubling to 5 s for as long as the trouble lasts (an "episode",
/// warned about once), back to 0.1 s once everything waiting went through.
struct SpoolRetry {
    static let firstDelay = 0.1
    static let longestDelay = 5.0

    /// Names still in `incoming/` that could not be claimed.
    var waitingInIncoming: [String] = []
    /// Names in `.claimed/` whose processing could not finish.
    var waitingInClaimed: [String] = []
    /// A listing failed (or inotify lost events): list the directory again instead of trusting names.
    var relistIncoming = false
    var relistClaimed = false
    /// Claims this daemon began and still counts for names in `.claimed/` (the store could not
    /// take the attempt back): begun again, they would count as one more crash.
    var begun: [String: (identity: SpoolDirectory.Identity, attempts: Int)] = [:]

    /// How many more records of spool jobs the `spool-record-fault` test hook fails; nil until the first.
    var injectedRecordFaults: Int?

    var delay = firstDelay
    /// Stands from the start of intake (see `Supervisor.startIntake`); a retry moves its deadline.
    var timer: (any DispatchSourceTimer)?
    var timerArmed = false
    /// Why the current episode began, once warned about; nil when intake works.
    var episode: String?

    var isIdle: Bool {
        waitingInIncoming.isEmpty && waitingInClaimed.isEmpty && !relistIncoming && !relistClaimed
    }

    /// The next wait, and the one after it doubled.
    mutating func nextDelay() -> Double {
        defer { delay = min(delay * 2, Self.longestDelay) }
        return delay
    }
}

public import Logging
import Synchronization

/// The level below which records are dropped, shared by every logger of the process so that a
/// configuration reload changes it everywhere at once.
public final class LogThreshold: Sendable {
    private let storage: Mutex<Logger.Level>

    public init(_ level: Logger.Level) {
        storage = Mutex(level)
    }

    public var level: Logger.Level {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}

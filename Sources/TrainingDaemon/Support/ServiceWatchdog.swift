import Dispatch
import TrainingSystemd

/// Sends `WATCHDOG=1` at half of systemd's `WatchdogSec`, but only after a block has made a
/// round trip through every queue that owns state (the supervisor's, the control server's
/// event loop). A timer alone would keep pinging while the supervisor is deadlocked; this way
/// a wedged queue stops the pings and systemd restarts the daemon.
final class ServiceWatchdog: @unchecked Sendable {
    /// Runs a block on one state-owning queue.
    typealias Hop = @Sendable (@escaping @Sendable () -> Void) -> Void

    private let queue = DispatchQueue(label: "trainingd.watchdog")
    private let timer: any DispatchSourceTimer
    private let notifier: ServiceNotifier
    private let roundTrip: [Hop]
    /// A ping still travelling: no new one starts until it is back, so a wedged queue stops them all.
    private var inFlight = false

    /// nil when systemd asked for no watchdog (`WATCHDOG_USEC` unset or for another process).
    init?(notifier: ServiceNotifier, roundTrip: [Hop]) {
        guard let interval = notifier.watchdogInterval else { return nil }
        self.notifier = notifier
        self.roundTrip = roundTrip
        let period = interval / 2
        let nanoseconds = Int(period.components.seconds) * 1_000_000_000 + Int(period.components.attoseconds / 1_000_000_000)
        timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now(), repeating: .nanoseconds(max(nanoseconds, 1_000_000)))
        timer.setEventHandler { [unowned self] in self.ping() }
        timer.resume()
    }

    deinit {
        timer.cancel()
    }

    private func ping() {
        guard !inFlight else { return }
        inFlight = true
        let arrive: @Sendable () -> Void = { [self] in
            queue.async {
                self.inFlight = false
                self.notifier.send(.watchdog)
            }
        }
        let trip = roundTrip.reversed().reduce(arrive) { next, hop in { hop(next) } }
        trip()
    }
}

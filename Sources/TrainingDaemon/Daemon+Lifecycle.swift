import Dispatch
import Foundation
import TrainingConfig
import TrainingSystemd

/// Signals and what they start: SIGTERM and SIGINT stop the daemon, leaving the jobs running for
/// the next start to adopt, or draining them (`[jobs] on_daemon_stop`; a second signal cuts a
/// drain short); SIGHUP reloads the configuration. Exit status follows daemon(7): 0 after a stop.
extension Daemon {
    func handleSignals(_ supervisor: Supervisor) -> [any DispatchSourceSignal] {
        // A parent may hand us these signals blocked (systemd-socket-activate does, and exec keeps the
        // mask); blocked, they would never reach the sources below and the daemon could not be stopped.
        var handled = sigset_t()
        sigemptyset(&handled)
        for signalNumber in [SIGTERM, SIGINT, SIGHUP, SIGUSR2] { sigaddset(&handled, signalNumber) }
        pthread_sigmask(SIG_UNBLOCK, &handled, nil)
        signal(SIGPIPE, SIG_IGN)
        var actions: [(Int32, () -> Void)] = [
            (SIGTERM, { [unowned self] in self.stop(supervisor) }),
            (SIGINT, { [unowned self] in self.stop(supervisor) }),
            (SIGHUP, { [unowned self] in self.reload(supervisor) }),
        ]
        if supervisor.testHooks.wedgeOnSIGUSR2 {
            // Test hook: blocks the supervisor's queue, as a deadlock would, to show the watchdog stops.
            actions.append((SIGUSR2, { supervisor.queue.async { Thread.sleep(forTimeInterval: 3600) } }))
        }
        return actions.map { signalNumber, action in
            // libdispatch delivers the signal only if its default action is disabled first.
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: lifecycle)
            source.setEventHandler(handler: action)
            source.resume()
            return source
        }
    }

    /// A plain stop: drains when so configured (or when a drain is under way: a second signal
    /// cuts it short); otherwise exits at once and leaves the jobs to their keepers.
    func stop(_ supervisor: Supervisor) {
        supervisor.queue.async { [notifier] in
            guard supervisor.configuration.onDaemonStop == .keepRunning, !supervisor.draining else { return self.drain(supervisor) }
            let running = supervisor.leaveJobsRunning()
            notifier.send(.stopping(status: "Stopping; \(running) running job\(running == 1 ? "" : "s") keep running and will be adopted at the next start"))
            self.server?.close()
            supervisor.warmKeepers?.stop()
            supervisor.hostCgroups?.removeEmptyBases()
            exit(0)
        }
    }

    /// Drains (`jobctl drain`, or a stop with `on_daemon_stop = "drain"`) and exits 0; asked again, cuts the grace window short.
    func drain(_ supervisor: Supervisor) {
        supervisor.queue.async { [notifier] in
            if !supervisor.draining {
                let running = supervisor.runs.count
                notifier.send(.stopping(status: "Draining: \(running) running job\(running == 1 ? "" : "s") get SIGTERM and their grace period"))
            }
            supervisor.beginDrain(progress: { secondsLeft, jobsLeft in
                // systemd's stop timeout must outlast the grace window; a little more for the final records.
                notifier.send(.extendTimeout(
                    seconds: secondsLeft + 15,
                    status: "Draining: \(jobsLeft) job\(jobsLeft == 1 ? "" : "s") in their grace window, \(Int(secondsLeft.rounded(.up))) s left"))
            }, then: { [unowned self] in
                // Lets answers already written (a Drain request's) reach their clients first.
                self.server?.close()
                supervisor.warmKeepers?.stop()
                supervisor.hostCgroups?.removeEmptyBases()
                exit(0)
            })
        }
    }

    /// Reloads the configuration file: RELOADING=1, apply what may change, READY=1. A file that
    /// cannot be used leaves the running configuration as it was, and says so in STATUS and the log.
    func reload(_ supervisor: Supervisor) {
        dispatchPrecondition(condition: .onQueue(lifecycle))
        notifier.send(.reloading())
        let source = options.configurationPath ?? (options.root == nil ? DaemonConfiguration.packagedPath : "the built-in defaults")
        let outcome: String
        do {
            let loaded = try Self.loadConfiguration(options)
            for key in configuration.restartOnlyChanges(in: loaded) {
                logger.warning("reload: \(key) changed in \(source), but takes effect only when trainingd restarts")
            }
            let applied = configuration.reloaded(from: loaded)
            let site = try Self.loadSite(applied)
            // Keys come and go with the file; where it is, and whether the listener is on, need a restart.
            let keys = try AccessKeys.load(for: configuration)
            supervisor.accessKeys.replace(with: keys)
            DaemonLogging.threshold.level = applied.logLevel.loggerLevel
            supervisor.queue.sync { supervisor.applyReload(applied, site: site.catalog, locations: site.locations) }
            configuration = applied
            outcome = "Configuration reloaded from \(source)"
            logger.notice("reload: applied \(source)")
        } catch {
            outcome = "Reload failed, still running the previous configuration: \(error.message)"
            logger.error("reload: \(source) cannot be used, still running the previous configuration: \(error.message)")
        }
        let summary = supervisor.queue.sync { supervisor.lastSummary }
        notifier.send(.ready(status: "\(outcome); \(summary)"))
    }
}

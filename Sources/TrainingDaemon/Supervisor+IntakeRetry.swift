import Dispatch
import Foundation
import TrainingStore

/// Intake's second chance: a file that met a transient error stays where it is (in
/// `incoming/` if it could not be claimed, in `.claimed/` after) and is tried again on a
/// timer of the supervisor's queue (`SpoolRetry`), as are listings that failed and events
/// the inotify queue lost. One warning per episode, one notice when it is over.
extension Supervisor {
    /// Starts watching the spool, then takes what is already in `incoming/`.
    func startIntake() throws(DaemonError) {
        // libdispatch makes its timerfd the first time a timer is programmed, and a timer armed
        // while the process is out of descriptors is silently never programmed: the retry that
        // is to end the shortage would never fire. So the retry timer stands from the start (an
        // idle tick every 5 s costs nothing), and a retry only moves its deadline.
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.setEventHandler { [unowned self] in self.retryIntake() }
        timer.schedule(deadline: .now() + SpoolRetry.longestDelay, repeating: SpoolRetry.longestDelay)
        timer.resume()
        queue.sync {
            spoolRetry.timer = timer
            // The recovery of `.claimed/` runs before this, and may have put files aside.
            if !spoolRetry.isIdle { armIntakeRetry() }
        }
        watcher = try SpoolWatcher(directory: spool.incoming, queue: queue, onFiles: { [unowned self] names in
            self.intake(names)
        }, onMissedEvents: { [unowned self] in
            logger.notice("the spool's inotify queue overflowed or failed; listing \(spool.incoming) instead")
            spoolRetry.relistIncoming = true
            armIntakeRetry()
        })
        queue.async {
            self.intakeListed()
            self.schedule()
            self.jobFiles.removeDiscarded()
            self.jobFiles.jobDirectories.start()
            self.logDirectories.start()
            self.removeExpiredVolumes()
        }
    }

    /// Every candidate in `incoming/`, oldest first.
    private func intakeListed() {
        do {
            intake(try spool.pending(in: spool.incoming))
        } catch {
            relistLater(claimed: false, because: error)
        }
    }

    /// `reason` nil: not a fault (a file of the same name is being retried), so no warning.
    func waitInIncoming(_ name: String, because reason: SpoolFault?) {
        if !spoolRetry.waitingInIncoming.contains(name) { spoolRetry.waitingInIncoming.append(name) }
        if let reason { beginEpisode(reason, file: name) }
        armIntakeRetry()
    }

    func waitInClaimed(_ name: String, because reason: SpoolFault) {
        if !spoolRetry.waitingInClaimed.contains(name) { spoolRetry.waitingInClaimed.append(name) }
        // Putting the file aside is not dying on it: take back the attempt, so that restarts
        // while it waits do not push it towards quarantine. If the store cannot, remember it.
        if let begun = spoolRetry.begun[name], (try? store.releaseSpoolClaimAttempt(identity: begun.identity.storeIdentity)) != nil {
            spoolRetry.begun[name] = nil
        }
        beginEpisode(reason, file: name)
        armIntakeRetry()
    }

    func relistLater(claimed: Bool, because reason: SpoolFault) {
        if claimed { spoolRetry.relistClaimed = true } else { spoolRetry.relistIncoming = true }
        beginEpisode(reason, file: nil)
        armIntakeRetry()
    }

    private func beginEpisode(_ reason: SpoolFault, file: String?) {
        guard spoolRetry.episode == nil else {
            return logger.debug("spool intake still held up: \(reason)", metadata: file.map { ["spool_file": "\($0)"] } ?? [:])
        }
        spoolRetry.episode = reason.description
        let what = file.map { "\($0) stays in the spool" } ?? "the spool's files stay where they are"
        logger.warning("spool intake is held up: \(reason); \(what) and intake is retried (every \(Int(SpoolRetry.longestDelay)) s at most) until this passes. Files are not rejected for it",
                       metadata: file.map { ["spool_file": "\($0)"] } ?? [:])
    }

    func armIntakeRetry() {
        // No timer yet (the recovery at start): `startIntake` arms it once it exists.
        guard !spoolRetry.timerArmed, let timer = spoolRetry.timer else { return }
        spoolRetry.timerArmed = true
        timer.schedule(deadline: .now() + spoolRetry.nextDelay(), repeating: SpoolRetry.longestDelay)
    }

    /// Claimed files first (they are older), then what waits in `incoming/`.
    private func retryIntake() {
        dispatchPrecondition(condition: .onQueue(queue))
        spoolRetry.timerArmed = false
        // A drain stops intake; what waits is taken at the next start.
        guard !draining, !spoolRetry.isIdle || spoolRetry.episode != nil else { return }
        var claimed = spoolRetry.waitingInClaimed
        var incoming = spoolRetry.waitingInIncoming
        let relistClaimed = spoolRetry.relistClaimed, relistIncoming = spoolRetry.relistIncoming
        spoolRetry.waitingInClaimed = []
        spoolRetry.waitingInIncoming = []
        spoolRetry.relistClaimed = false
        spoolRetry.relistIncoming = false
        if relistClaimed {
            do { claimed = try spool.pending(in: spool.claimed) } catch { relistLater(claimed: true, because: error) }
        }
        for name in claimed { process(claimed: name) }
        if relistIncoming {
            do { incoming = try spool.pending(in: spool.incoming) } catch { relistLater(claimed: false, because: error) }
        }
        for name in incoming { intake(name) }
        guard spoolRetry.isIdle else { return armIntakeRetry() }
        spoolRetry.delay = SpoolRetry.firstDelay
        if let episode = spoolRetry.episode {
            spoolRetry.episode = nil
            logger.notice("spool intake works again (it was held up by: \(episode)); the files that waited were processed")
        }
    }
}

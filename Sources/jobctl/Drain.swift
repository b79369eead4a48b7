import ArgumentParser
import Foundation
import TrainingControl
import TrainingCore

/// `jobctl drain`: Trainingd.Drain, the same as SIGTERM to the daemon.
struct Drain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drain",
        _superCommandName: Jobctl.name,
        abstract: "Stop trainingd gracefully: running jobs get SIGTERM and their grace period, are recorded Interrupted, and resume at its next start.",
        discussion: """
            Only root and members of the daemon's admin group may drain it. Waits until the daemon has \
            exited unless --no-wait is given. A plain stop (`systemctl stop trainingd`) leaves the jobs \
            running for the next start to adopt, unless [jobs] on_daemon_stop = "drain"; this command \
            drains whatever that setting says. Under systemd the drained daemon stays stopped \
            (it exits 0, and the unit restarts only on failure).
            """)

    @Flag(name: .long, help: "Return once the drain has begun.")
    var noWait = false

    @OptionGroup var connection: ConnectionOptions

    func run() throws {
        var announced = false
        do {
            try connection.client.stream(.drain, .object([])) { line in
                guard !announced, let answer = try? StrictJSONParser.parse(Array(line.utf8)) else { return true }
                announced = true
                let running = answer["RunningJobs"]?.integerValue ?? 0
                let grace = answer["GracePeriodSeconds"]?.integerValue ?? 0
                print("draining trainingd: \(running) running job\(running == 1 ? "" : "s"), grace period \(grace) s")
                return !noWait
            }
        } catch {
            // Once the drain is announced, the connection ending any way at all means the daemon exited.
            guard announced else { throw ConnectionOptions.failure(error) }
        }
        if !noWait { print("trainingd has stopped") }
    }
}

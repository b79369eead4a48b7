import ArgumentParser
import Foundation
import TrainingControl
import TrainingCore

/// Follows a job until it ends: `submit --wait`, `submit --wait --logs` and `wait`.
struct JobWaiter {
    /// What is printed while waiting.
    enum Report {
        case silent
        /// Each secondary status as it is entered, and a message that changed after it was printed
        /// (a stop that ended in SIGKILL says so in the Stopping transition's message).
        case everyChange
        /// Only how the job ended (after `printLog` has shown what it did).
        case end
    }

    let connection: ConnectionOptions
    let name: String
    let report: Report

    /// Polls DescribeTrainingJob until the job ends; the exit status for how it ended.
    func waitForEnd() throws -> Int32 {
        var printed: [String] = []  // the message each transition was printed with
        while true {
            let job = try connection.call(.describeTrainingJob, ["TrainingJobName": .string(name)])
            let transitions = job["SecondaryStatusTransitions"]?.arrayValue ?? []
            if report == .everyChange {
                for (index, transition) in transitions.enumerated() {
                    let message = transition["StatusMessage"]?.stringValue ?? ""
                    guard index >= printed.count || printed[index] != message else { continue }
                    print(Self.line(transition))
                    if index < printed.count { printed[index] = message } else { printed.append(message) }
                }
            }
            let code: Int32
            switch job["TrainingJobStatus"]?.stringValue {
            case "Completed": code = ExitStatus.success
            case "Failed": code = ExitStatus.invalid
            case "Stopped": code = ExitStatus.stopped
            default:
                usleep(200_000)
                continue
            }
            if report == .end, let last = transitions.last { print(Self.line(last)) }
            if report != .silent, code == ExitStatus.invalid, let reason = job["FailureReason"]?.stringValue {
                print("FailureReason: \(reason)")
            }
            return code
        }
    }

    /// Prints the host's log as it is written (Trainingd.FollowLogs), until the job has ended.
    func printLog(host: String = "algo-1") throws {
        do {
            try connection.client.stream(.followLogs, ["TrainingJobName": .string(name), "Host": .string(host)]) { line in
                print(line)
                return true
            }
        } catch {
            throw ConnectionOptions.failure(error)
        }
    }

    /// `2026-11-28 13:54:01  Training  Training image download completed...`
    static func line(_ transition: JSONValue) -> String {
        let status = transition["Status"]?.stringValue ?? "?"
        return "\(Terminal.time(transition["StartTime"]))  \(Terminal.status(status))  \(transition["StatusMessage"]?.stringValue ?? "")"
    }
}

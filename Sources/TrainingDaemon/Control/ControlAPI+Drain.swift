import Foundation
import TrainingControl
import TrainingCore

/// Trainingd.Drain: `jobctl drain`, the same as SIGTERM to the daemon. Runs on the supervisor's queue.
extension ControlAPI {
    /// Answers with one line (`RunningJobs`, `GracePeriodSeconds`), then keeps the stream open
    /// until the daemon exits, so that the client learns of the exit without polling the socket
    /// (which, socket-activated, would start the daemon again).
    func drainDaemon(_ request: APIRequest) throws(APIError) -> APIResponse {
        guard isAdministrator(request.peer) else {
            let admins = configuration.adminGroup.map { " or members of group \($0)" } ?? ""
            throw APIError(.accessDenied, "You (uid \(request.peer.uid)) may not drain trainingd; only root\(admins) may (it interrupts every user's jobs)")
        }
        let first: JSONValue = [
            "RunningJobs": .integer(Int64(supervisor.runs.count)),
            "GracePeriodSeconds": .integer(Int64(supervisor.configuration.stopGracePeriodSeconds)),
        ]
        let drain = self.drain
        return .stream { sink in
            sink.write(Array((first.serialized() + "\n").utf8))
            drain()
        }
    }
}

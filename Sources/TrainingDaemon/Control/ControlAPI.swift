import Dispatch
import Foundation
import TrainingConfig
import TrainingControl
import TrainingCore
import TrainingStore

/// The control API's operations, one handler each (`ControlAPI+<Operation>.swift`).
/// Changes go through the supervisor's queue; reads go to the store from a queue of their own.
final class ControlAPI: @unchecked Sendable {
    let supervisor: Supervisor
    let store: JobStore
    let configuration: DaemonConfiguration
    let reads = DispatchQueue(label: "trainingd.control.reads", attributes: .concurrent)
    /// Begins the daemon's drain (Trainingd.Drain), as SIGTERM does.
    let drain: @Sendable () -> Void

    init(supervisor: Supervisor, drain: @escaping @Sendable () -> Void) {
        self.supervisor = supervisor
        self.drain = drain
        store = supervisor.store
        configuration = supervisor.configuration
    }

    func handle(_ request: APIRequest, reply: @escaping @Sendable (APIResponse) -> Void) {
        guard let operation = Operation(rawValue: request.target) else {
            let known = Operation.allCases.map(\.rawValue).joined(separator: ", ")
            let what = request.target.isEmpty ? "a request without an X-Amz-Target header" : "the operation \(request.target)"
            return reply(.error(APIError(.unknownOperation, "trainingd does not serve \(what); it serves \(known) (docs/aws-tools.md says what each supports)")))
        }
        let onSupervisor: (@escaping @Sendable () -> APIResponse) -> Void = { work in self.supervisor.queue.async { reply(work()) } }
        let onReads: (@escaping @Sendable () -> APIResponse) -> Void = { work in self.reads.async { reply(work()) } }
        switch operation {
        case .createTrainingJob: onSupervisor { self.answer { () throws(APIError) in try self.createTrainingJob(request) } }
        case .stopTrainingJob: onSupervisor { self.answer { () throws(APIError) in try self.stopTrainingJob(request) } }
        case .interruptTrainingJob: onSupervisor { self.answer { () throws(APIError) in try self.interruptTrainingJob(request) } }
        case .deleteTrainingJob: onSupervisor { self.answer { () throws(APIError) in try self.deleteTrainingJob(request) } }
        case .addTags: onReads { self.answer { () throws(APIError) in try self.addTags(request) } }
        case .listTags: onReads { self.answer { () throws(APIError) in try self.listTags(request) } }
        case .deleteTags: onReads { self.answer { () throws(APIError) in try self.deleteTags(request) } }
        case .describeLogStreams: onReads { self.answer { () throws(APIError) in try self.describeLogStreams(request) } }
        case .getLogEvents: onReads { self.answer { () throws(APIError) in try self.getLogEvents(request) } }
        case .describeTrainingJob: onReads { self.answer { () throws(APIError) in try self.describeTrainingJob(request) } }
        case .listTrainingJobs: onReads { self.answer { () throws(APIError) in try self.listTrainingJobs(request) } }
        case .getLogs: onReads { self.answer { () throws(APIError) in try self.getLogs(request) } }
        case .followLogs: onReads { self.stream { () throws(APIError) in try self.followLogs(request) } }
        case .ping: reply(.json(.object([])))
        case .listImages: Self.images.async { reply(self.answer { () throws(APIError) in try self.listImages(request) }) }
        case .getMetrics: onReads { self.answer { () throws(APIError) in try self.getMetrics(request) } }
        case .watchEvents: onReads { self.stream { () throws(APIError) in try self.watchEvents(request) } }
        case .drain: onSupervisor { self.stream { () throws(APIError) in try self.drainDaemon(request) } }
        }
    }

    private func stream(_ work: () throws(APIError) -> APIResponse) -> APIResponse {
        do {
            return try work()
        } catch {
            return .error(error)
        }
    }

    private func answer(_ work: () throws(APIError) -> JSONValue) -> APIResponse {
        do {
            return .json(try work())
        } catch {
            return .error(error)
        }
    }

    /// The job, or SageMaker's "Requested resource not found." answer.
    func existingJob(_ name: String) throws(APIError) -> JobRecord {
        let record: JobRecord?
        do {
            record = try store.job(named: name)
        } catch {
            throw APIError(.internalFailure, "the job database could not be read: \(error)")
        }
        guard let record else { throw APIError.notFound(name) }
        return record
    }

    /// Whether `peer` may change `job`: its owner, root, or a member of the admin group.
    func authorize(_ peer: Peer, toChange job: JobRecord, _ action: String) throws(APIError) {
        if peer.uid == job.owner.uid || isAdministrator(peer) { return }
        let admins = configuration.adminGroup.map { ", or members of group \($0)" } ?? ""
        throw APIError(.accessDenied, "You (uid \(peer.uid)) may not \(action) training job \(job.name): it belongs to uid \(job.owner.uid); only its owner, root\(admins) may")
    }

    /// Root, or a member of `[control] admin_group` (`Supervisor.isAdministrator`).
    func isAdministrator(_ peer: Peer) -> Bool { supervisor.isAdministrator(uid: peer.uid, gid: peer.gid) }
}

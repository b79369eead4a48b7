import Foundation
import TrainingControl
import TrainingCore
import TrainingStore

/// CreateTrainingJob, StopTrainingJob and DeleteTrainingJob: the operations that change jobs.
/// They run on the supervisor's queue.
extension ControlAPI {
    func createTrainingJob(_ request: APIRequest) throws(APIError) -> JSONValue {
        guard request.body.count <= DefinitionValidator.maximumDefinitionSize else {
            throw APIError(.validation, DefinitionValidator.tooLarge(size: request.body.count).message)
        }
        if getuid() != 0, request.peer.uid != getuid() {
            throw APIError(.accessDenied, "this trainingd runs as uid \(getuid()) and can run jobs only as itself, not as uid \(request.peer.uid); use a daemon running as root")
        }
        let definition: ValidatedDefinition
        switch supervisor.validator.validate(request.body) {
        case .failure(let rejection):
            let issues = rejection.issues
            if issues.count == 1, issues[0].code == .syntax || issues[0].code == .notAnObject {
                throw APIError(.serialization, issues[0].message)
            }
            let limit = issues.contains { $0.code == .resourceLimitExceeded }
            throw APIError(limit ? .resourceLimitExceeded : .validation, ValidationReport.summary(of: issues))
        case .success(let validated):
            definition = validated
        }
        switch supervisor.submit(definition, ownerUID: request.peer.uid, ownerGID: request.peer.gid, spoolIdentity: nil) {
        case .success:
            return ["TrainingJobArn": .string(configuration.arn(ofJob: definition.jobName))]
        case .failure(let issue):
            throw APIError(issue.code == .resourceInUse ? .resourceInUse : .internalFailure, issue.message)
        }
    }

    func stopTrainingJob(_ request: APIRequest) throws(APIError) -> JSONValue {
        let name = try request.string("TrainingJobName", in: try request.document())
        let job = try existingJob(name)
        try authorize(request.peer, toChange: job, "stop")
        switch supervisor.stop(job: name) {
        case .success: return .object([])
        case .failure(.unknown): throw APIError.notFound(name)
        case .failure(let refusal):
            throw APIError(.validation, refusal.description)
        }
    }

    /// Trainingd.InterruptTrainingJob (`jobctl interrupt`): ends the job's attempt as a spot
    /// capacity reclaim would; it restarts from its checkpoints when capacity allows.
    func interruptTrainingJob(_ request: APIRequest) throws(APIError) -> JSONValue {
        let document = try request.document()
        let name = try request.string("TrainingJobName", in: document)
        let gap: Double
        switch document["CapacityReturnsInSeconds"] {
        case nil: gap = 0
        case .integer(let seconds)? where seconds >= 0: gap = Double(seconds)
        case .double(let seconds)? where seconds >= 0: gap = seconds
        default: throw APIError(.validation, "CapacityReturnsInSeconds must be a number of seconds, 0 or more")
        }
        let job = try existingJob(name)
        try authorize(request.peer, toChange: job, "interrupt")
        switch supervisor.interrupt(job: name, capacityGap: gap) {
        case .success: return .object([])
        case .failure(.unknown): throw APIError.notFound(name)
        case .failure(let refusal): throw APIError(.validation, refusal.description)
        }
    }

    func deleteTrainingJob(_ request: APIRequest) throws(APIError) -> JSONValue {
        let name = try request.string("TrainingJobName", in: try request.document())
        let job = try existingJob(name)
        try authorize(request.peer, toChange: job, "delete")
        guard job.status.isTerminal else {
            throw APIError(.validation, "The training job \(name) is \(job.status.rawValue); stop it and wait for it to end before deleting it")
        }
        do {
            try store.deleteJob(named: name)
        } catch {
            throw APIError(.internalFailure, "could not delete the job's records: \(error)")
        }
        // The artifacts at S3OutputPath are the user's and stay; the daemon's own files go.
        // By descriptor: the volumes inside belong to the job's owner (the privilege rule).
        try? JobFiles(jobsRoot: configuration.paths.jobs).removeJob(name)
        try? FileManager.default.removeItem(atPath: configuration.paths.logs + "/" + name)
        return .object([])
    }
}

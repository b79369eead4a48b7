import Foundation
import TrainingCore
import TrainingStore

/// Submission and the queue: jobs start in submission order as slots free up.
extension Supervisor {
    /// Records a validated job. A spool file's claim is closed in the same transaction.
    func submit(_ definition: ValidatedDefinition, ownerUID: uid_t, ownerGID: gid_t, spoolIdentity: SpoolFileIdentity?) -> Result<Void, ValidationIssue> {
        dispatchPrecondition(condition: .onQueue(queue))
        let submission = JobSubmission(
            definition: definition, arn: configuration.arn(ofJob: definition.jobName),
            owner: JobOwner(uid: ownerUID, gid: ownerGID), submittedAt: Self.now)
        do {
            if let spoolIdentity {
                try store.acceptSpoolFile(identity: spoolIdentity, job: submission)
            } else {
                _ = try store.recordSubmission(submission)
            }
        } catch let error where error.code == .jobExists {
            return .failure(ValidationIssue(path: "TrainingJobName", code: .resourceInUse,
                message: "Training job \(definition.jobName) already exists; choose another TrainingJobName (or delete the old job)"))
        } catch {
            log("cannot record job \(definition.jobName): \(error)")
            return .failure(ValidationIssue(path: "", code: .unreadable, message: "trainingd could not record the job (\(error)); try again"))
        }
        log("accepted job \(definition.jobName)")
        schedule()
        return .success(())
    }

    /// Starts pending jobs while slots are free, and tells the others what they wait for.
    func schedule() {
        dispatchPrecondition(condition: .onQueue(queue))
        guard !draining else { return }
        let pending: [JobRecord]
        do {
            pending = try store.unfinishedJobs().filter { $0.secondaryStatus == .pending && runs[$0.name] == nil }
        } catch {
            log("cannot read the queue: \(error)")
            return
        }
        var waiting = 0
        for job in pending {
            if runs.count < capacity {
                begin(job)
            } else {
                let message = "Waiting for capacity: \(runs.count) of \(capacity) job slots in use, \(waiting) job\(waiting == 1 ? "" : "s") ahead"
                if job.statusMessage != message { try? store.recordStatusMessage(job: job.id, message) }
                waiting += 1
            }
        }
    }
}

import TrainingCore
import TrainingScheduler
import TrainingStaging
import TrainingStore

/// GPUs: each host of a job gets whole GPUs of its own (as many as its instance type has), for
/// the attempt; the assignment is written to the store before the job starts and taken back from
/// it when a restart adopts the job, so that no GPU is ever handed out twice.
extension Supervisor {
    /// GPUs per host of a job: its instance type's as the site's catalog has them (the figures the
    /// scheduler counted, `[instance_types]` included), or (with `allow_oversubscription`) at most
    /// what the machine has.
    func gpuDemand(_ job: JobRecord) -> [(host: String, count: Int)] {
        guard !gpus.devices.isEmpty else { return [] }
        return ClusterLayout(resources: job.request.resourceConfig).hosts.map { host in
            (host.name, min(site.instanceTypes.spec(of: host.instanceType)?.gpus ?? 0, gpus.devices.count))
        }
    }

    /// The GPUs for a job about to start (empty when it needs none); nil when too few are free
    /// now, and the waiting job's status message says what it waits for.
    func takeGPUs(for job: JobRecord) -> [String: [GPUDevice]]? {
        let demand = gpuDemand(job)
        let wanted = demand.reduce(0) { $0 + $1.count }
        guard wanted > 0 else { return [:] }
        guard let assignment = gpus.assign(job: job.name, perHost: demand) else {
            waiting.setGPUWait(job: job.name, wanted: wanted, free: gpus.free.count, total: gpus.devices.count)
            return nil
        }
        waiting.setGPUWait(job: nil, wanted: 0, free: 0, total: 0)
        do {
            // The intent first: a daemon that restarts after this finds the GPUs held.
            try store.recordGPUAssignment(job: job.id, assignment)
        } catch {
            gpus.release(job: job.name)
            logger.error("cannot record the GPUs of job \(job.name): \(error); it waits", metadata: ["job": "\(job.name)"])
            return nil
        }
        return assignment
    }

    /// The attempt ended: its GPUs serve the next job.
    func releaseGPUs(of name: String, id: JobID) {
        guard gpus.assignment(of: name) != nil else { return }
        gpus.release(job: name)
        do {
            try store.clearGPUAssignment(job: id)
        } catch {
            // Harmless: the next assignment of this job replaces the rows, and only adoption reads them.
            logger.warning("cannot clear the recorded GPUs of job \(name): \(error)", metadata: ["job": "\(name)"])
        }
    }
}

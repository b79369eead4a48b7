public import TrainingCore

extension JobStore {
    /// Records the GPUs a job's hosts are given, replacing what an earlier attempt held.
    public func recordGPUAssignment(job: JobID, _ assignment: [String: [GPUDevice]]) throws(StoreError) {
        let action = "record the GPUs of job \(job)"
        try write(action) { db throws(StoreError) in
            try db.run("DELETE FROM gpu_assignments WHERE job_seq = ?", [.integer(job.rawValue)], action: action)
            for (host, gpus) in assignment {
                for gpu in gpus {
                    try db.run("INSERT INTO gpu_assignments (job_seq, host, gpu_index, gpu_uuid) VALUES (?, ?, ?, ?)",
                               [.integer(job.rawValue), .text(host), .integer(Int64(gpu.index)), .text(gpu.uuid)], action: action)
                }
            }
        }
    }

    /// The GPUs a job's hosts hold, by host; empty when none.
    public func gpuAssignment(job: JobID) throws(StoreError) -> [String: [GPUDevice]] {
        let action = "read the GPUs of job \(job)"
        let rows = try read(action) { db throws(StoreError) in
            try db.query("SELECT host, gpu_index, gpu_uuid FROM gpu_assignments WHERE job_seq = ? ORDER BY gpu_index",
                         [.integer(job.rawValue)], action: action) { row throws(StoreError) in
                (row.text(0), GPUDevice(index: Int(row.int64(1)), uuid: row.text(2)))
            }
        }
        return Dictionary(grouping: rows, by: \.0).mapValues { $0.map(\.1) }
    }

    /// The job holds no GPUs any more (its attempt ended).
    public func clearGPUAssignment(job: JobID) throws(StoreError) {
        let action = "release the GPUs of job \(job)"
        _ = try write(action) { db throws(StoreError) in
            try db.run("DELETE FROM gpu_assignments WHERE job_seq = ?", [.integer(job.rawValue)], action: action)
        }
    }
}

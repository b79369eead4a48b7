import Foundation

extension JobStore {
    /// Records a failed job's details, replacing what an earlier record held.
    public func recordFailureDetails(job: JobID, _ details: FailureDetails, at time: Double = JobStore.now) throws(StoreError) {
        let action = "record the failure details of job \(job)"
        let tail = (try? JSONEncoder().encode(details.logTail)).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
        try write(action) { db throws(StoreError) in
            guard try db.scalar("SELECT count(*) FROM jobs WHERE seq = ?", [.integer(job.rawValue)], action: action) == 1 else {
                throw notFound(job, action: action)
            }
            try db.run(
                "INSERT OR REPLACE INTO failure_details (job_seq, failure_file, log_tail_json, recorded_at) VALUES (?, ?, ?, ?)",
                [.integer(job.rawValue), .optional(details.failureFile), .text(tail), .real(time)], action: action)
        }
    }

    /// A job's failure details; nil when none were recorded.
    public func failureDetails(job: JobID) throws(StoreError) -> FailureDetails? {
        let action = "read the failure details of job \(job)"
        return try read(action) { db throws(StoreError) in
            try db.query(
                "SELECT failure_file, log_tail_json FROM failure_details WHERE job_seq = ?", [.integer(job.rawValue)], action: action
            ) { row throws(StoreError) in
                let tail = (try? JSONDecoder().decode([String].self, from: Data(row.text(1).utf8))) ?? []
                return FailureDetails(failureFile: row.optionalText(0), logTail: tail)
            }.first
        }
    }
}

import Foundation
public import TrainingCore

extension JobStore {
    /// The most tags a job has, as SageMaker allows.
    public static let maximumTags = 50

    /// A job's tags, by key.
    public func tags(job: JobID) throws(StoreError) -> [Tag] {
        let action = "read the tags of job \(job)"
        return try read(action) { db throws(StoreError) in
            try db.query("SELECT key, value FROM tags WHERE job_seq = ? ORDER BY key", [.integer(job.rawValue)], action: action) { row throws(StoreError) in
                Tag(key: row.text(0), value: row.text(1))
            }
        }
    }

    /// Adds tags or replaces the values of keys the job has; nil (nothing written) when the job
    /// would then have more than ``maximumTags``.
    public func addTags(job: JobID, _ tags: [Tag]) throws(StoreError) -> [Tag]? {
        let action = "add tags to job \(job)"
        return try write(action) { db throws(StoreError) -> [Tag]? in
            guard try db.scalar("SELECT count(*) FROM jobs WHERE seq = ?", [.integer(job.rawValue)], action: action) == 1 else {
                throw notFound(job, action: action)
            }
            let existing = try db.query("SELECT key FROM tags WHERE job_seq = ?", [.integer(job.rawValue)], action: action) { row throws(StoreError) in row.text(0) }
            guard Set(existing).union(tags.map(\.key)).count <= Self.maximumTags else { return nil }
            for tag in tags {
                try db.run("INSERT OR REPLACE INTO tags (job_seq, key, value) VALUES (?, ?, ?)",
                           [.integer(job.rawValue), .text(tag.key), .text(tag.value)], action: action)
            }
            return tags
        }
    }

    /// Removes the tags with these keys (keys the job does not have are no error, as in SageMaker).
    public func deleteTags(job: JobID, keys: [String]) throws(StoreError) {
        let action = "delete tags of job \(job)"
        try write(action) { db throws(StoreError) in
            for key in keys {
                try db.run("DELETE FROM tags WHERE job_seq = ? AND key = ?", [.integer(job.rawValue), .text(key)], action: action)
            }
        }
    }
}

import Foundation
import Testing
import TrainingCore
@testable import TrainingStore

/// A job's tags: the request's at submission, then AddTags and DeleteTags; jobs stored before
/// the tags table existed get their request's tags when the database is migrated.
@Suite("tags")
struct TagsTests {
    static func tagged(_ name: String, _ tags: [TrainingCore.Tag]) -> JobSubmission {
        var submission = Fixtures.submission(name)
        submission.definition.request.tags = tags
        return submission
    }

    @Test("the request's tags are the first; added, replaced and deleted by key; at most 50; gone with the job")
    func lifecycle() throws {
        let scratch = try Scratch()
        let store = try scratch.openStore()
        let id = try store.recordSubmission(Self.tagged("tagged", [TrainingCore.Tag(key: "project", value: "vision")])).id
        #expect(try store.tags(job: id) == [TrainingCore.Tag(key: "project", value: "vision")])
        #expect(try store.addTags(job: id, [TrainingCore.Tag(key: "team", value: "cv"), TrainingCore.Tag(key: "project", value: "nlp")]) != nil)
        #expect(try store.tags(job: id) == [TrainingCore.Tag(key: "project", value: "nlp"), TrainingCore.Tag(key: "team", value: "cv")])
        try store.deleteTags(job: id, keys: ["project", "absent"])
        #expect(try store.tags(job: id) == [TrainingCore.Tag(key: "team", value: "cv")])

        let many = (1...49).map { TrainingCore.Tag(key: "k\($0)", value: "") }
        #expect(try store.addTags(job: id, many) != nil)
        #expect(try store.addTags(job: id, [TrainingCore.Tag(key: "one-too-many", value: "")]) == nil)
        #expect(try store.tags(job: id).count == 50)
        #expect(try store.addTags(job: id, [TrainingCore.Tag(key: "team", value: "replaced")]) != nil, "replacing a value adds no tag")
        #expect(storeError { _ = try store.addTags(job: JobID(rawValue: 999), [TrainingCore.Tag(key: "a", value: "b")]) }?.code == .notFound)

        try store.drive(id, [.fail], from: 2)
        try store.deleteJob(named: "tagged")
        let left = try store.read("count tags") { db throws(StoreError) in try db.scalar("SELECT count(*) FROM tags", action: "count tags") }
        #expect(left == 0)
    }

    @Test("a database from before the tags table gets every stored job's request tags")
    func migration() throws {
        let scratch = try Scratch()
        do {
            let store = try scratch.openStore()
            try store.recordSubmission(Self.tagged("old", [TrainingCore.Tag(key: "a", value: "1"), TrainingCore.Tag(key: "b", value: "2")]))
            try store.recordSubmission(Fixtures.submission("untagged"))
        }
        do {
            // As migration 4 left it: no tags table (nor the later GPU assignments).
            let raw = try SQLiteConnection(path: scratch.databasePath, readOnly: false)
            try raw.execute("DROP TABLE gpu_assignments; DROP TABLE tags; PRAGMA user_version = 4", action: "test")
        }
        let store = try scratch.openStore()
        let old = try #require(try store.job(named: "old"))
        #expect(try store.tags(job: old.id) == [TrainingCore.Tag(key: "a", value: "1"), TrainingCore.Tag(key: "b", value: "2")])
        let untagged = try #require(try store.job(named: "untagged"))
        #expect(try store.tags(job: untagged.id).isEmpty)
    }
}

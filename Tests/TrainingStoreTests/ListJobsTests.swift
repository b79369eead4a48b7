import Testing
import TrainingCore

@testable import TrainingStore

@Suite struct ListJobsTests {
    /// Six jobs: names, creation times and statuses in different orders.
    private func sample(_ store: JobStore) throws {
        let plan: [(String, Double, [JobLifecycle.Event])] = [
            ("resnet-a", 10, []),
            ("bert-B", 20, [.fail]),
            ("resnet-c", 30, [.start, .train, .upload, .finish(exitCode: 0)]),
            ("xgb-d", 40, [.stopRequested]),
            ("bert-e", 50, [.stopRequested, .finish(exitCode: nil)]),
            ("ResNet-f", 50, []),
        ]
        for (name, time, events) in plan {
            let id = try store.recordSubmission(Fixtures.submission(name, at: time)).id
            try store.drive(id, events, from: time + 100)
        }
    }

    private func names(_ store: JobStore, _ query: JobListQuery) throws -> [String] {
        try store.listJobs(query).summaries.map(\.name)
    }

    @Test func defaultIsNewestFirstTenAtATime() throws {
        let scratch = try Scratch()
        let store = try scratch.openStore()
        try sample(store)
        // Equal CreationTime: the later submission counts as newer.
        #expect(try names(store, JobListQuery()) == ["ResNet-f", "bert-e", "xgb-d", "resnet-c", "bert-B", "resnet-a"])
        let page = try store.listJobs(JobListQuery())
        #expect(page.nextToken == nil)
        #expect(page.summaries.first?.status == .inProgress && page.summaries.first?.secondaryStatus == .pending)
        #expect(page.summaries.first { $0.name == "resnet-c" }?.lastModifiedTime == 133)
    }

    @Test func everyFilter() throws {
        let scratch = try Scratch()
        let store = try scratch.openStore()
        try sample(store)
        let ascending = JobListQuery(sortOrder: .ascending)
        func with(_ change: (inout JobListQuery) -> Void) -> JobListQuery {
            var query = ascending
            change(&query)
            return query
        }
        #expect(try names(store, with { $0.nameContains = "resnet" }) == ["resnet-a", "resnet-c", "ResNet-f"])
        #expect(try names(store, with { $0.nameContains = "BERT" }) == ["bert-B", "bert-e"])
        #expect(try names(store, with { $0.nameContains = "_" }).isEmpty)  // not a LIKE wildcard
        #expect(try names(store, with { $0.nameContains = "%" }).isEmpty)
        #expect(try names(store, with { $0.statusEquals = .inProgress }) == ["resnet-a", "ResNet-f"])
        #expect(try names(store, with { $0.statusEquals = .stopping }) == ["xgb-d"])
        #expect(try names(store, with { $0.statusEquals = .completed }) == ["resnet-c"])
        #expect(try names(store, with { $0.creationTimeAfter = 30 }) == ["xgb-d", "bert-e", "ResNet-f"])
        #expect(try names(store, with { $0.creationTimeBefore = 30 }) == ["resnet-a", "bert-B"])
        // Never modified after submission: resnet-a (10) and ResNet-f (50); the others at time + 100 + steps.
        #expect(try names(store, with { $0.lastModifiedTimeBefore = 100 }) == ["resnet-a", "ResNet-f"])
        #expect(try names(store, with { $0.lastModifiedTimeAfter = 135 }) == ["xgb-d", "bert-e"])
        let combined = with {
            $0.nameContains = "e"
            $0.statusEquals = .inProgress
            $0.creationTimeAfter = 10
        }
        #expect(try names(store, combined) == ["ResNet-f"])
    }

    @Test(arguments: JobSortKey.allCases, JobSortOrder.allCases)
    func everySortInBothDirections(key: JobSortKey, order: JobSortOrder) throws {
        let scratch = try Scratch()
        let store = try scratch.openStore()
        try sample(store)
        let all = try store.listJobs(JobListQuery(sortBy: key, sortOrder: order, maxResults: 100)).summaries
        let expected = all.sorted { lhs, rhs in
            let (left, right) = order == .ascending ? (lhs, rhs) : (rhs, lhs)
            switch key {
            case .name: return left.name < right.name
            case .creationTime: return (left.creationTime, left.id.rawValue) < (right.creationTime, right.id.rawValue)
            case .status: return (left.status.rawValue, left.id.rawValue) < (right.status.rawValue, right.id.rawValue)
            }
        }
        #expect(all.count == 6)
        #expect(all.map(\.name) == expected.map(\.name))
    }

    @Test(arguments: JobSortKey.allCases, JobSortOrder.allCases)
    func pagesVisitEveryJobOnceWhileJobsAreCreated(key: JobSortKey, order: JobSortOrder) throws {
        let scratch = try Scratch()
        let store = try scratch.openStore()
        // 250 jobs on 25 distinct creation times, so ties need the tiebreaker; some ended.
        var existing: Set<String> = []
        for index in 0..<250 {
            let name = "job-\(String(index * 7919 % 250, radix: 36))-\(index)"
            let id = try store.recordSubmission(Fixtures.submission(name, at: Double(index / 10))).id
            if index % 3 == 0 { try store.drive(id, [.fail], from: 1_000) }
            existing.insert(name)
        }
        var seen: [String] = []
        var query = JobListQuery(sortBy: key, sortOrder: order, maxResults: 7)
        var pages = 0
        repeat {
            let page = try store.listJobs(query)
            seen += page.summaries.map(\.name)
            query.nextToken = page.nextToken
            pages += 1
            // New jobs between pages, at the current newest time and sorting everywhere by name.
            try store.recordSubmission(Fixtures.submission("new-\(pages)-a", at: 24))
            try store.recordSubmission(Fixtures.submission("a-new-\(pages)", at: 24))
        } while query.nextToken != nil && pages < 200
        #expect(query.nextToken == nil)
        #expect(Set(seen).count == seen.count, "a job was listed twice")
        #expect(existing.subtracting(seen).isEmpty, "jobs were skipped")
    }

    @Test func badArgumentsAreRefused() throws {
        let scratch = try Scratch()
        let store = try scratch.openStore()
        try sample(store)
        #expect(storeError { _ = try store.listJobs(JobListQuery(maxResults: 0)) }?.code == .invalidArgument)
        #expect(storeError { _ = try store.listJobs(JobListQuery(maxResults: 101)) }?.code == .invalidArgument)
        #expect(storeError { _ = try store.listJobs(JobListQuery(nextToken: "not a token")) }?.code == .invalidArgument)
        let token = try #require(try store.listJobs(JobListQuery(maxResults: 2)).nextToken)
        // A token continues the query it came from, not another one.
        let other = JobListQuery(sortBy: .name, maxResults: 2, nextToken: token)
        #expect(storeError { _ = try store.listJobs(other) }?.code == .invalidArgument)
        #expect(try store.listJobs(JobListQuery(maxResults: 2, nextToken: token)).summaries.count == 2)
    }
}

import Foundation
import TrainingControl
import TrainingCore
import TrainingStore

/// DescribeTrainingJob and ListTrainingJobs, in SageMaker's shapes.
extension ControlAPI {
    /// What DescribeTrainingJob shows other users for each Environment value.
    static let hiddenValue = "(hidden: only the job's owner, root and the admin group see Environment values)"

    func describeTrainingJob(_ request: APIRequest) throws(APIError) -> JSONValue {
        let name = try request.string("TrainingJobName", in: try request.document())
        var job = try existingJob(name)
        // A waiting job's place in the queue changes with every other job's start: it is computed
        // now, rather than rewritten into the store on every event.
        if job.secondaryStatus == .pending, !job.transitions.isEmpty, let message = supervisor.waiting.statusMessage(for: name) {
            job.transitions[job.transitions.count - 1].statusMessage = message
        }
        // Details are extra: a database that cannot read them still answers the rest.
        let details = job.status == .failed ? (try? store.failureDetails(job: job.id)) ?? nil : nil
        // Environment values are often tokens: only those who may change the job see them.
        let mayChange = request.peer.uid == job.owner.uid || isAdministrator(request.peer)
        return Self.describe(job, failureDetails: details, environmentValues: mayChange)
    }

    /// DescribeTrainingJob's answer: the stored request (defaults applied) with the job's state.
    /// `environmentValues` false: the Environment's keys with `(hidden)` for their values.
    static func describe(_ job: JobRecord, failureDetails: FailureDetails? = nil, environmentValues: Bool = true,
                         now: Double = Date().timeIntervalSince1970) -> JSONValue {
        var members: [JSONValue.Member] = []
        let echoed = (try? JSONEncoder().encode(job.request)).flatMap { try? StrictJSONParser.parse(Array($0)) }?.objectMembers ?? []
        // SageMaker answers a job's tags from ListTags, which also sees AddTags and DeleteTags.
        members += echoed.filter { $0.key != "Tags" }
        func set(_ key: String, _ value: JSONValue?) {
            members.removeAll { $0.key == key }
            if let value { members.append(JSONValue.Member(key, value)) }
        }
        if !environmentValues, let environment = job.request.environment, !environment.isEmpty {
            set("Environment", .object(environment.keys.sorted().map { JSONValue.Member($0, .string(Self.hiddenValue)) }))
        }
        set("TrainingJobName", .string(job.name))
        set("TrainingJobArn", .string(job.arn))
        set("TrainingJobStatus", .string(job.status.rawValue))
        set("SecondaryStatus", .string(job.secondaryStatus.rawValue))
        set("FailureReason", job.failureReason.map(JSONValue.string))
        set("ModelArtifacts", ["S3ModelArtifacts": .string(job.modelArtifacts ?? job.request.modelArtifactsLocation)])
        set("CreationTime", .double(job.creationTime))
        set("LastModifiedTime", .double(job.lastModifiedTime))
        set("TrainingStartTime", job.trainingStartTime.map(JSONValue.double))
        set("TrainingEndTime", job.trainingEndTime.map(JSONValue.double))
        if let start = job.trainingStartTime {
            let seconds = Int64(((job.trainingEndTime ?? now) - start).rounded(.up))
            set("TrainingTimeInSeconds", .integer(seconds))
            // Time actually run: every attempt's training, not the waits and restarts between them.
            let running = job.attemptHistory.last.flatMap { $0.endedAt == nil ? $0.trainingStartedAt.map { now - $0 } : nil } ?? 0
            set("BillableTimeInSeconds", .integer(Int64((job.trainingSecondsUsed + running).rounded())))
        }
        if !job.attemptHistory.isEmpty {
            // trainingd's own: each attempt (first run, resumptions after interruptions, retries) and how it ended.
            set("TrainingdAttempts", .array(job.attemptHistory.map { attempt in
                var entry: [JSONValue.Member] = [
                    .init("AttemptNumber", .integer(Int64(attempt.number))), .init("StartTime", .double(attempt.startedAt)),
                ]
                if let start = attempt.trainingStartedAt { entry.append(.init("TrainingStartTime", .double(start))) }
                if let end = attempt.endedAt {
                    entry.append(.init("EndTime", .double(end)))
                    entry.append(.init("TrainingTimeInSeconds", .double(attempt.trainingSeconds)))
                }
                if let outcome = attempt.outcome { entry.append(.init("Outcome", .string(outcome.rawValue))) }
                if let reason = attempt.reason { entry.append(.init("Reason", .string(reason))) }
                return .object(entry)
            }))
        }
        set("SecondaryStatusTransitions", .array(job.transitions.map { transition in
            var entry: [JSONValue.Member] = [
                .init("Status", .string(transition.status.rawValue)), .init("StartTime", .double(transition.startTime)),
            ]
            if let end = transition.endTime { entry.append(.init("EndTime", .double(end))) }
            entry.append(.init("StatusMessage", .string(transition.statusMessage)))
            return .object(entry)
        }))
        if !job.finalMetrics.isEmpty {
            set("FinalMetricDataList", .array(job.finalMetrics.map {
                ["MetricName": .string($0.metricName), "Value": .double($0.value), "Timestamp": .double($0.timestamp)]
            }))
        }
        var exit: [JSONValue.Member] = []
        if let code = job.exitCode { exit.append(.init("ExitCode", .integer(Int64(code)))) }
        if let signal = job.exitSignal { exit.append(.init("Signal", .integer(Int64(signal)))) }
        // Not SageMaker's: how the algorithm's process ended, under a name SageMaker does not use.
        if !exit.isEmpty { set("TrainingdExitStatus", .object(exit)) }
        if let failureDetails {
            // trainingd's own: what FailureReason's 1,024 characters cut off (a traceback's last line).
            var details: [JSONValue.Member] = []
            if let text = failureDetails.failureFile { details.append(.init("FailureFile", .string(text))) }
            details.append(.init("LogTail", .array(failureDetails.logTail.map(JSONValue.string))))
            set("TrainingdFailureDetails", .object(details))
        }
        return .object(members)
    }

    func listTrainingJobs(_ request: APIRequest) throws(APIError) -> JSONValue {
        let document = try request.document()
        let allowed = ["NameContains", "StatusEquals", "CreationTimeAfter", "CreationTimeBefore", "LastModifiedTimeAfter",
                       "LastModifiedTimeBefore", "SortBy", "SortOrder", "MaxResults", "NextToken", "WarmPoolStatusEquals", "TrainingPlanArnEquals"]
        for member in document.objectMembers ?? [] where !allowed.contains(member.key) {
            throw APIError(.validation, "Unknown member '\(member.key)' in ListTrainingJobs; members are \(allowed.joined(separator: ", "))")
        }
        var query = JobListQuery()
        query.nameContains = document["NameContains"]?.stringValue
        if let status = document["StatusEquals"]?.stringValue {
            guard let value = TrainingJobStatus(rawValue: status) else {
                throw APIError(.validation, "1 validation error detected: Value '\(status)' at 'statusEquals' failed to satisfy constraint: Member must satisfy enum value set: [\(TrainingJobStatus.allCases.map(\.rawValue).joined(separator: ", "))]")
            }
            query.statusEquals = value
        }
        query.creationTimeAfter = Self.time(document["CreationTimeAfter"])
        query.creationTimeBefore = Self.time(document["CreationTimeBefore"])
        query.lastModifiedTimeAfter = Self.time(document["LastModifiedTimeAfter"])
        query.lastModifiedTimeBefore = Self.time(document["LastModifiedTimeBefore"])
        if let sortBy = document["SortBy"]?.stringValue {
            guard let key = JobSortKey(rawValue: sortBy) else {
                throw APIError(.validation, "1 validation error detected: Value '\(sortBy)' at 'sortBy' failed to satisfy constraint: Member must satisfy enum value set: [Name, CreationTime, Status]")
            }
            query.sortBy = key
        }
        if let order = document["SortOrder"]?.stringValue {
            guard let value = JobSortOrder(rawValue: order) else {
                throw APIError(.validation, "1 validation error detected: Value '\(order)' at 'sortOrder' failed to satisfy constraint: Member must satisfy enum value set: [Ascending, Descending]")
            }
            query.sortOrder = value
        }
        if let maximum = document["MaxResults"] {
            guard let count = maximum.integerValue, (1...100).contains(count) else {
                throw APIError(.validation, "1 validation error detected: Value '\(maximum.serialized())' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100")
            }
            query.maxResults = Int(count)
        }
        query.nextToken = document["NextToken"]?.stringValue
        let page: JobListPage
        do {
            page = try store.listJobs(query)
        } catch let error where error.code == .invalidArgument {
            throw APIError(.validation, "Invalid NextToken: \(error.message); start again without it")
        } catch {
            throw APIError(.internalFailure, "the job database could not be read: \(error)")
        }
        var members: [JSONValue.Member] = [.init("TrainingJobSummaries", .array(page.summaries.map { summary in
            var entry: [JSONValue.Member] = [
                .init("TrainingJobName", .string(summary.name)), .init("TrainingJobArn", .string(summary.arn)),
                .init("CreationTime", .double(summary.creationTime)),
            ]
            if let end = summary.trainingEndTime { entry.append(.init("TrainingEndTime", .double(end))) }
            entry += [
                .init("LastModifiedTime", .double(summary.lastModifiedTime)),
                .init("TrainingJobStatus", .string(summary.status.rawValue)),
                .init("SecondaryStatus", .string(summary.secondaryStatus.rawValue)),
            ]
            return .object(entry)
        }))]
        if let token = page.nextToken { members.append(.init("NextToken", .string(token))) }
        return .object(members)
    }

    /// A timestamp member: epoch seconds as a number (the awsJson1_1 form).
    static func time(_ value: JSONValue?) -> Double? {
        switch value {
        case .integer(let seconds)?: return Double(seconds)
        case .double(let seconds)?: return seconds
        default: return nil
        }
    }
}

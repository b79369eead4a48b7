import TrainingControl
import TrainingCore
import TrainingStore

/// AddTags, ListTags and DeleteTags on a training job, named by its ARN as SageMaker names it.
/// Changing tags is a change of the job: its owner, root or the admin group; reading them is not.
extension ControlAPI {
    func addTags(_ request: APIRequest) throws(APIError) -> JSONValue {
        let document = try request.document()
        let job = try taggedJob(request, document)
        try authorize(request.peer, toChange: job, "tag")
        let issues = Schema.tagListIssues(document["Tags"], at: "Tags")
        guard issues.isEmpty else { throw APIError(.validation, ValidationReport.summary(of: issues)) }
        let tags = (document["Tags"]?.arrayValue ?? []).compactMap { entry in
            entry["Key"]?.stringValue.map { Tag(key: $0, value: entry["Value"]?.stringValue ?? "") }
        }
        try Self.refuseReservedKeys(tags.map(\.key))
        let added: [Tag]?
        do {
            added = try store.addTags(job: job.id, tags)
        } catch {
            throw APIError(.internalFailure, "the tags could not be recorded: \(error)")
        }
        guard let added else {
            throw APIError(.resourceLimitExceeded, "training job \(job.name) would have more than \(JobStore.maximumTags) tags; delete some first (DeleteTags)")
        }
        return ["Tags": Self.tagList(added)]
    }

    func listTags(_ request: APIRequest) throws(APIError) -> JSONValue {
        let document = try request.document()
        let job = try taggedJob(request, document)
        let tags: [Tag]
        do {
            tags = try store.tags(job: job.id)
        } catch {
            throw APIError(.internalFailure, "the tags could not be read: \(error)")
        }
        var limit = 50
        if let value = document["MaxResults"] {
            guard let number = value.integerValue, (50...100).contains(number) else {
                throw APIError(.validation, "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value from 50 to 100")
            }
            limit = Int(number)
        }
        var start = 0
        if let token = document["NextToken"] {
            guard let text = token.stringValue, text.hasPrefix("tags."), let offset = Int(text.dropFirst(5)), offset >= 0 else {
                throw APIError(.validation, "NextToken is not one trainingd handed out; start again without it")
            }
            start = min(offset, tags.count)
        }
        let page = Array(tags[start..<min(start + limit, tags.count)])
        var answer: [JSONValue.Member] = [.init("Tags", Self.tagList(page))]
        if start + limit < tags.count { answer.append(.init("NextToken", .string("tags.\(start + limit)"))) }
        return .object(answer)
    }

    func deleteTags(_ request: APIRequest) throws(APIError) -> JSONValue {
        let document = try request.document()
        let job = try taggedJob(request, document)
        try authorize(request.peer, toChange: job, "untag")
        let issues = Schema.tagKeyListIssues(document["TagKeys"], at: "TagKeys")
        guard issues.isEmpty else { throw APIError(.validation, ValidationReport.summary(of: issues)) }
        let keys = (document["TagKeys"]?.arrayValue ?? []).compactMap(\.stringValue)
        try Self.refuseReservedKeys(keys)
        do {
            try store.deleteTags(job: job.id, keys: keys)
        } catch {
            throw APIError(.internalFailure, "the tags could not be deleted: \(error)")
        }
        return .object([])
    }

    /// The job a `ResourceArn` names: `arn:aws:sagemaker:<region>:<account>:training-job/<name>`.
    private func taggedJob(_ request: APIRequest, _ document: JSONValue) throws(APIError) -> JobRecord {
        let arn = try request.string("ResourceArn", in: document)
        let parts = arn.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "arn", parts[2] == "sagemaker", parts[5].hasPrefix("training-job/") else {
            throw APIError(.validation, "ResourceArn \(arn) is not a training job's ARN; trainingd has training jobs only (arn:aws:sagemaker:\(configuration.region):\(configuration.accountID):training-job/NAME)")
        }
        let name = String(parts[5].dropFirst("training-job/".count))
        guard let job = try? store.job(named: name) ?? nil, job.arn.lowercased() == arn.lowercased() else {
            throw APIError(.resourceNotFound, "Resource \(arn) not found: no training job of this trainingd has that ARN")
        }
        return job
    }

    /// Keys beginning with `aws:` are AWS's own.
    private static func refuseReservedKeys(_ keys: [String]) throws(APIError) {
        if let key = keys.first(where: { $0.lowercased().hasPrefix("aws:") }) {
            throw APIError(.validation, "Tag keys beginning with aws: are reserved for AWS's use: \(key)")
        }
    }

    static func tagList(_ tags: [Tag]) -> JSONValue {
        .array(tags.map { ["Key": .string($0.key), "Value": .string($0.value)] })
    }
}

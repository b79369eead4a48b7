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
        guard let list = document["Tags"]?.arrayValue, (1...JobStore.maximumTags).contains(list.count) else {
            throw APIError(.validation, "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must be a list of 1 to \(JobStore.maximumTags) {\"Key\", \"Value\"} tags")
        }
        var tags: [Tag] = []
        for (index, entry) in list.enumerated() {
            guard let key = entry["Key"]?.stringValue else {
                throw APIError(.validation, "1 validation error detected: Value null at 'tags.\(index + 1).member.key' failed to satisfy constraint: Member must not be null")
            }
            let value = entry["Value"]?.stringValue ?? ""
            try Self.checkTagKey(key, at: "tags.\(index + 1).member.key")
            guard value.unicodeScalars.count <= 256 else {
                throw APIError(.validation, "1 validation error detected: Value at 'tags.\(index + 1).member.value' failed to satisfy constraint: Member must have length less than or equal to 256")
            }
            guard Patterns.tag.matches(value) else {
                throw APIError(.validation, "1 validation error detected: Value '\(value)' at 'tags.\(index + 1).member.value' failed to satisfy constraint: Member must satisfy regular expression pattern: \(Patterns.tag.source)")
            }
            tags.append(Tag(key: key, value: value))
        }
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
        guard let list = document["TagKeys"]?.arrayValue, (1...JobStore.maximumTags).contains(list.count) else {
            throw APIError(.validation, "1 validation error detected: Value at 'tagKeys' failed to satisfy constraint: Member must be a list of 1 to \(JobStore.maximumTags) keys")
        }
        var keys: [String] = []
        for (index, entry) in list.enumerated() {
            guard let key = entry.stringValue else {
                throw APIError(.validation, "1 validation error detected: Value at 'tagKeys.\(index + 1).member' failed to satisfy constraint: Member must be a string")
            }
            try Self.checkTagKey(key, at: "tagKeys.\(index + 1).member")
            keys.append(key)
        }
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

    private static func checkTagKey(_ key: String, at path: String) throws(APIError) {
        guard (1...128).contains(key.unicodeScalars.count) else {
            throw APIError(.validation, "1 validation error detected: Value at '\(path)' failed to satisfy constraint: Member must have length from 1 to 128")
        }
        guard Patterns.tag.matches(key) else {
            throw APIError(.validation, "1 validation error detected: Value '\(key)' at '\(path)' failed to satisfy constraint: Member must satisfy regular expression pattern: \(Patterns.tag.source)")
        }
        guard !key.lowercased().hasPrefix("aws:") else {
            throw APIError(.validation, "Tag keys beginning with aws: are reserved for AWS's use: \(key)")
        }
    }

    static func tagList(_ tags: [Tag]) -> JSONValue {
        .array(tags.map { ["Key": .string($0.key), "Value": .string($0.value)] })
    }
}

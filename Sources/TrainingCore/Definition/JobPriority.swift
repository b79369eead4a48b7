/// A job's priority: trainingd's one extension of the definition, carried as the tag
/// `trainingd:priority` so that every SageMaker client can set it unchanged (the AWS CLI, boto3
/// and the SDK refuse members the API does not have, but pass any tag). An integer from -1000 to
/// 1000, 0 when absent; only administrators may submit a job above 0 (docs/definitions.md).
public enum JobPriority {
    public static let tagKey = "trainingd:priority"
    public static let range = -1000...1000

    /// The priority a request asks for (0 without the tag); nil when the tag's value is not one.
    public static func of(_ request: CreateTrainingJobRequest) -> Int? {
        guard let tag = request.tags?.first(where: { $0.key == tagKey }) else { return 0 }
        guard let value = Int(tag.value), range.contains(value) else { return nil }
        return value
    }
}

extension DefinitionValidator {
    /// The priority tag, when present, holds an integer of ``JobPriority/range``.
    func priorityIssues(_ document: JSONValue) -> [ValidationIssue] {
        for (index, tag) in (document["Tags"]?.arrayValue ?? []).enumerated() where tag["Key"]?.stringValue == JobPriority.tagKey {
            guard let text = tag["Value"]?.stringValue, let value = Int(text), JobPriority.range.contains(value) else {
                return [ValidationIssue(path: FieldPath(stringLiteral: "Tags").appending(index: index).appending(member: "Value"), code: .range,
                    message: "The tag \(JobPriority.tagKey) sets the job's priority: an integer from \(JobPriority.range.lowerBound) to \(JobPriority.range.upperBound) (0 is the default; above 0 needs an administrator), not \(ValidationIssue.quote(tag["Value"]))")]
            }
        }
        return []
    }
}

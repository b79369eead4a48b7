/// AddTags' `Tags` and DeleteTags' `TagKeys`, checked by the rules of CreateTrainingJob's `Tags`
/// (one definition of what a tag may be, ``Schema/tag``).
extension Schema {
    public static func tagListIssues(_ value: JSONValue?, at path: FieldPath) -> [ValidationIssue] {
        issues(value, .list(of: .structure(tag), min: 1, max: 50), at: path)
    }

    public static func tagKeyListIssues(_ value: JSONValue?, at path: FieldPath) -> [ValidationIssue] {
        issues(value, .list(of: .string(min: 1, max: 128, pattern: Patterns.tag), min: 1, max: 50), at: path)
    }

    private static func issues(_ value: JSONValue?, _ shape: Shape, at path: FieldPath) -> [ValidationIssue] {
        guard let value else { return [.constraint(nil, at: path, .missingMember, "Member must not be null")] }
        var checker = SchemaChecker()
        checker.check(value, against: shape, at: path)
        return checker.issues
    }
}

/// Walks a JSON value against a ``Shape`` and collects every violation:
/// unknown and missing members, wrong types, lengths, patterns, enums, ranges.
struct SchemaChecker {
    private(set) var issues: [ValidationIssue] = []

    mutating func report(_ issue: ValidationIssue) { issues.append(issue) }

    mutating func check(_ value: JSONValue, against shape: Shape, at path: FieldPath) {
        switch shape {
        case .opaque:
            return
        case .string(let rule):
            guard case .string(let string) = value else { return wrongType(value, "a string", at: path) }
            check(string, value, rule, at: path)
        case .integer(let minimum, let maximum):
            guard case .integer(let number) = value else {
                if case .double(let number) = value, number.rounded() == number {
                    return wrongType(value, "an integer that fits in 64 bits", at: path)
                }
                return wrongType(value, "an integer", at: path)
            }
            if let minimum, number < minimum {
                issues.append(.constraint(value, at: path, .range, "Member must have value greater than or equal to \(minimum)"))
            }
            if let maximum, number > maximum {
                issues.append(.constraint(value, at: path, .range, "Member must have value less than or equal to \(maximum)"))
            }
        case .boolean:
            guard case .bool = value else { return wrongType(value, "a boolean (true or false)", at: path) }
        case .list(let item, let minimum, let maximum):
            guard case .array(let items) = value else { return wrongType(value, "a list", at: path) }
            checkCount(items.count, value, min: minimum, max: maximum, at: path, rule: "length")
            for (index, element) in items.enumerated() {
                check(element, against: item, at: path.appending(index: index))
            }
        case .map(let keyRule, let valueShape, let minimum, let maximum):
            guard case .object(let members) = value else { return wrongType(value, "a map of strings", at: path) }
            checkCount(members.count, value, min: minimum, max: maximum, at: path, rule: "number of entries")
            for member in members {
                for (code, rule) in Self.violations(of: member.key, keyRule) {
                    issues.append(ValidationIssue(
                        path: path, code: code,
                        message: "Map key \(ValidationIssue.quote(.string(member.key))) at '\(path)' failed to satisfy constraint: \(rule)"))
                }
                check(member.value, against: valueShape, at: path.appending(mapKey: member.key))
            }
        case .structure(let structure):
            guard case .object(let members) = value else {
                return wrongType(value, "an object (\(structure.name))", at: path)
            }
            for member in members {
                guard let spec = structure.member(named: member.key) else {
                    issues.append(unknownMember(member.key, in: structure, at: path))
                    continue
                }
                if case .null = member.value {
                    if spec.isRequired {
                        issues.append(.constraint(nil, at: path.appending(member: member.key), .missingMember, "Member must not be null"))
                    }
                    continue
                }
                check(member.value, against: spec.shape, at: path.appending(member: member.key))
            }
            for spec in structure.members where spec.isRequired && !members.contains(where: { $0.key == spec.name }) {
                issues.append(.constraint(nil, at: path.appending(member: spec.name), .missingMember, "Member must not be null"))
            }
        }
    }

    private mutating func check(_ string: String, _ value: JSONValue, _ rule: StringRule, at path: FieldPath) {
        for (code, text) in Self.violations(of: string, rule) {
            issues.append(.constraint(value, at: path, code, text))
        }
    }

    /// The constraints of `rule` that `string` breaks, as SageMaker words them.
    static func violations(of string: String, _ rule: StringRule) -> [(ValidationIssue.Code, String)] {
        var found: [(ValidationIssue.Code, String)] = []
        // In code points, as SQLite's length() counts them (and close to AWS's UTF-16 units):
        // a string of combining marks is as long as it is stored, not as it is drawn.
        let length = string.unicodeScalars.count
        if let minimum = rule.minLength, length < minimum {
            found.append((.length, "Member must have length greater than or equal to \(minimum)"))
        }
        if let maximum = rule.maxLength, length > maximum {
            found.append((.length, "Member must have length less than or equal to \(maximum)"))
        }
        if let allowed = rule.allowedValues, !allowed.contains(string) {
            let listed = allowed.count > 12
                ? allowed.prefix(6).joined(separator: ", ") + ", ... (\(allowed.count) values)"
                : allowed.joined(separator: ", ")
            found.append((.enumValue, "Member must satisfy enum value set: [\(listed)]"))
        }
        // A pattern is not tried on an over-long value: the length message already says what is wrong.
        if let pattern = rule.pattern, rule.maxLength.map({ length <= $0 }) ?? true, !pattern.matches(string) {
            found.append((.pattern, "Member must satisfy regular expression pattern: \(pattern.source)"))
        }
        return found
    }

    private mutating func checkCount(_ count: Int, _ value: JSONValue, min minimum: Int?, max maximum: Int?, at path: FieldPath, rule: String) {
        let shown = JSONValue.string("\(count) \(count == 1 ? "item" : "items")")
        if let minimum, count < minimum {
            issues.append(.constraint(shown, at: path, .length, "Member must have \(rule) greater than or equal to \(minimum)"))
        }
        if let maximum, count > maximum {
            issues.append(.constraint(shown, at: path, .length, "Member must have \(rule) less than or equal to \(maximum)"))
        }
    }

    private mutating func wrongType(_ value: JSONValue, _ expected: String, at path: FieldPath) {
        let article = ["a", "e", "i", "o", "u"].contains(value.typeName.prefix(1)) ? "an" : "a"
        issues.append(.constraint(value, at: path, .wrongType, "Member must be \(expected), not \(article) \(value.typeName)"))
    }

    private func unknownMember(_ name: String, in structure: Shape.Structure, at path: FieldPath) -> ValidationIssue {
        let where_ = path.isEmpty ? "the request" : "'\(path)'"
        var message = "Unknown member '\(name)' in \(where_): \(structure.name) has no such member"
        if let suggestion = Spelling.closest(to: name, among: structure.members.map(\.name)) {
            message += "; did you mean '\(suggestion)'?"
        } else {
            message += "; remove it"
        }
        return ValidationIssue(path: path.appending(member: name), code: .unknownMember, message: message)
    }
}

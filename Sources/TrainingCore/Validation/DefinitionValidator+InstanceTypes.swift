extension DefinitionValidator {
    /// The instance types the catalog does not know (SageMaker's training types, and those the
    /// site's `[instance_types]` adds), each with the known types closest to it.
    func instanceTypeIssues(_ document: JSONValue) -> [ValidationIssue] {
        let catalog = site?.instanceTypes ?? .builtIn
        let resources = document["ResourceConfig"]
        var named: [(JSONValue, FieldPath)] = []
        if let type = resources?["InstanceType"] { named.append((type, FieldPath(stringLiteral: "ResourceConfig.InstanceType"))) }
        for (index, group) in (resources?["InstanceGroups"]?.arrayValue ?? []).enumerated() {
            if let type = group["InstanceType"] {
                named.append((type, FieldPath(stringLiteral: "ResourceConfig.InstanceGroups").appending(index: index).appending(member: "InstanceType")))
            }
        }
        return named.compactMap { value, path in
            // A wrong type or length is the schema's to report.
            guard let name = value.stringValue, !name.isEmpty, name.count <= 64, catalog.spec(of: name) == nil else { return nil }
            let added = site.map { " ([instance_types] in \($0.configurationPath) adds others)" } ?? ""
            return .constraint(value, at: path, .enumValue,
                "Member must be a training instance type (\(catalog.specs.count) are known\(added)); the closest: \(catalog.closest(to: name).joined(separator: ", "))")
        }
    }
}

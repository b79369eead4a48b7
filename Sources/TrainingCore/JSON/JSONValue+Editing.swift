extension JSONValue {
    /// A copy with the value at a dotted path (`"ResourceConfig.InstanceCount"`,
    /// `"InputDataConfig.0.ChannelName"`) replaced, added, or with nil removed.
    /// Missing objects along the path are created.
    public func setting(_ path: String, _ value: JSONValue?) -> JSONValue {
        Self.set(self, path.split(separator: ".").map(String.init)[...], value)
    }

    private static func set(_ container: JSONValue, _ path: ArraySlice<String>, _ value: JSONValue?) -> JSONValue {
        guard let key = path.first else { return value ?? .null }
        let rest = path.dropFirst()
        if case .array(var items) = container, let index = Int(key), items.indices.contains(index) {
            items[index] = rest.isEmpty ? value ?? .null : set(items[index], rest, value)
            return .array(items)
        }
        var members = container.objectMembers ?? []
        let existing = members.firstIndex { $0.key == key }
        let newValue: JSONValue? = rest.isEmpty ? value : set(existing.map { members[$0].value } ?? .object([]), rest, value)
        if let existing {
            if let newValue { members[existing].value = newValue } else { members.remove(at: existing) }
        } else if let newValue {
            members.append(Member(key, newValue))
        }
        return .object(members)
    }
}

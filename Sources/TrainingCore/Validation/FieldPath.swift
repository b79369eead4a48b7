/// Where in a definition a value sits, rendered in SageMaker's message style.
///
/// The style, documented in docs/definitions.md: member names in lower camel
/// case joined by `.`; list items as `<list>.<N>.member` counted from 1; map
/// entries as `<map>.<key>` with the key as written.
/// `inputDataConfig.1.member.dataSource.s3DataSource.s3Uri` is one such path.
public struct FieldPath: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    public enum Component: Sendable, Hashable {
        /// A structure member, by its JSON name (`ResourceConfig`).
        case member(String)
        /// A list item, counted from 0 here and rendered from 1.
        case index(Int)
        /// A map entry, by its key.
        case mapKey(String)
    }

    public private(set) var components: [Component]

    public init(_ components: [Component] = []) {
        self.components = components
    }

    /// A path of structure members given by their JSON names, e.g. `"ResourceConfig.InstanceCount"`.
    public init(stringLiteral value: String) {
        components = value.isEmpty ? [] : value.split(separator: ".").map { .member(String($0)) }
    }

    public var isEmpty: Bool { components.isEmpty }

    public mutating func append(member name: String) { components.append(.member(name)) }
    public mutating func append(index: Int) { components.append(.index(index)) }
    public mutating func removeLast() { components.removeLast() }

    public func appending(member name: String) -> FieldPath { FieldPath(components + [.member(name)]) }
    public func appending(index: Int) -> FieldPath { FieldPath(components + [.index(index)]) }
    public func appending(mapKey key: String) -> FieldPath { FieldPath(components + [.mapKey(key)]) }

    public var description: String {
        components.map { component -> String in
            switch component {
            case .member(let name): return Self.lowerCamel(name)
            case .index(let index): return "\(index + 1).member"
            case .mapKey(let key): return key
            }
        }.joined(separator: ".")
    }

    /// `S3DataSource` -> `s3DataSource`, as SageMaker's messages write member names.
    static func lowerCamel(_ name: String) -> String {
        guard let first = name.first else { return name }
        return first.lowercased() + name.dropFirst()
    }
}

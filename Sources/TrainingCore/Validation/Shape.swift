/// A declarative description of a JSON shape, in the terms of SageMaker's API
/// model (botocore's service-2.json): the schema ``SchemaChecker`` walks.
public indirect enum Shape: Sendable {
    case string(StringRule)
    case integer(min: Int64? = nil, max: Int64? = nil)
    case boolean
    case structure(Structure)
    case list(of: Shape, min: Int? = nil, max: Int? = nil)
    case map(key: StringRule, value: Shape, min: Int? = nil, max: Int? = nil)
    /// Any JSON value: members trainingd stores and echoes without interpreting.
    case opaque

    public struct Structure: Sendable {
        /// The shape's name in SageMaker's model, used in messages (`ResourceConfig`).
        public var name: String
        public var members: [Member]

        public init(_ name: String, _ members: [Member]) {
            self.name = name
            self.members = members
        }

        public func member(named name: String) -> Member? { members.first { $0.name == name } }
    }

    public struct Member: Sendable {
        public var name: String
        public var shape: Shape
        public var isRequired: Bool

        public static func required(_ name: String, _ shape: Shape) -> Member {
            Member(name: name, shape: shape, isRequired: true)
        }

        public static func optional(_ name: String, _ shape: Shape) -> Member {
            Member(name: name, shape: shape, isRequired: false)
        }
    }
}

/// Length, pattern and enumeration constraints on a string.
public struct StringRule: Sendable {
    public var minLength: Int?
    public var maxLength: Int?
    public var pattern: Pattern?
    public var allowedValues: [String]?

    public init(min: Int? = nil, max: Int? = nil, pattern: Pattern? = nil, oneOf allowedValues: [String]? = nil) {
        self.minLength = min
        self.maxLength = max
        self.pattern = pattern
        self.allowedValues = allowedValues
    }

    public static func oneOf<E: RawRepresentable & CaseIterable>(_ type: E.Type) -> StringRule where E.RawValue == String {
        StringRule(oneOf: type.allCases.map(\.rawValue))
    }
}

extension Shape {
    static func string(min: Int? = nil, max: Int? = nil, pattern: Pattern? = nil) -> Shape {
        .string(StringRule(min: min, max: max, pattern: pattern))
    }

    static func oneOf<E: RawRepresentable & CaseIterable>(_ type: E.Type) -> Shape where E.RawValue == String {
        .string(.oneOf(type))
    }
}

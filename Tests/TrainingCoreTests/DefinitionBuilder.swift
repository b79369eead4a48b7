import TrainingCore

/// Builds definitions for tests: a valid base, changed at dotted paths
/// (`"ResourceConfig.InstanceCount"`, `"InputDataConfig.0.ChannelName"`).
struct DefinitionBuilder {
    var document: JSONValue = [
        "TrainingJobName": "linear-regression",
        "AlgorithmSpecification": ["TrainingImage": "/usr/bin/python3", "TrainingInputMode": "File"],
        "InputDataConfig": [[
            "ChannelName": "train",
            "DataSource": ["S3DataSource": ["S3DataType": "S3Prefix", "S3Uri": "file:///srv/data/train/"]],
        ]],
        "OutputDataConfig": ["S3OutputPath": "file:///srv/output/"],
        "ResourceConfig": ["InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10],
        "StoppingCondition": ["MaxRuntimeInSeconds": 3600],
    ]

    /// Sets (or, with nil, removes) the value at a dotted path.
    func with(_ path: String, _ value: JSONValue?) -> DefinitionBuilder {
        DefinitionBuilder(document: document.setting(path, value))
    }

    var bytes: [UInt8] { Array(document.serialized().utf8) }

    func validate(site: SiteCatalog? = nil) -> Result<ValidatedDefinition, DefinitionRejection> {
        DefinitionValidator(site: site).validate(bytes)
    }

    /// The issues as `path code` strings, for compact expectations.
    func issues(site: SiteCatalog? = nil) -> [String] {
        switch validate(site: site) {
        case .success: return []
        case .failure(let rejection): return rejection.issues.map { "\($0.path) \($0.code.rawValue)" }
        }
    }

    func messages(site: SiteCatalog? = nil) -> [String] {
        switch validate(site: site) {
        case .success: return []
        case .failure(let rejection): return rejection.issues.map(\.message)
        }
    }
}

func repeated(_ character: Character, _ count: Int) -> String { String(repeating: character, count: count) }

func channels(_ count: Int) -> JSONValue {
    .array((0..<count).map { ["ChannelName": .string("c\($0)"), "DataSource": ["S3DataSource": ["S3DataType": "S3Prefix", "S3Uri": .string("file:///d/\($0)/")]]] })
}

func stringMap(_ count: Int, value: String = "v") -> JSONValue {
    .object((0..<count).map { JSONValue.Member("k\($0)", .string(value)) })
}

func list(_ count: Int, _ make: (Int) -> JSONValue) -> JSONValue { .array((0..<count).map(make)) }

public import TrainingCore

/// The job's HyperParameters as AWS's training toolkit reads them: every value decoded as JSON
/// where it is valid JSON (the SageMaker SDK JSON-encodes each one, so `"\"gini\""` is the string
/// `gini` and `"3"` the number 3), then split into the user's hyperparameters and SageMaker's own.
///
/// The toolkit counts as SageMaker's every key that starts with `sagemaker_` and a few named ones
/// (`_tuning_objective_metric`, `default_user_module_name`); those never reach `SM_HPS`, `SM_HP_*`
/// or the user's command line. The `sagemaker_` keys it has no name for become the framework
/// parameters (`SM_FRAMEWORK_PARAMS`).
public struct ToolkitHyperparameters: Sendable, Equatable {
    /// The prefix of SageMaker's keys.
    public static let sagemakerPrefix = "sagemaker_"
    /// The keys the toolkit knows by name; all but two carry the prefix as well.
    public static let namedSageMakerKeys: Set<String> = [
        "sagemaker_program", "sagemaker_submit_directory", "sagemaker_enable_cloudwatch_metrics", "sagemaker_region",
        "sagemaker_container_log_level", "sagemaker_job_name", "default_user_module_name", "_tuning_objective_metric",
        "sagemaker_s3_output",
    ]
    /// The toolkit's logging.INFO: the log level when `sagemaker_container_log_level` is absent.
    public static let defaultLogLevel: Int64 = 20

    /// The user's hyperparameters, decoded: `SM_HPS`, `SM_HP_<KEY>` and `SM_USER_ARGS`.
    public let user: [String: JSONValue]
    /// SageMaker's keys, decoded.
    public let sagemaker: [String: JSONValue]

    public init(_ hyperParameters: [String: String]) {
        var user: [String: JSONValue] = [:]
        var sagemaker: [String: JSONValue] = [:]
        for (key, text) in hyperParameters {
            let value = Self.decode(text)
            if key.hasPrefix(Self.sagemakerPrefix) || Self.namedSageMakerKeys.contains(key) {
                sagemaker[key] = value
            } else {
                user[key] = value
            }
        }
        self.user = user
        self.sagemaker = sagemaker
    }

    /// A hyperparameter's value: its JSON meaning when the string is one JSON value, else the string itself.
    public static func decode(_ text: String) -> JSONValue {
        (try? StrictJSONParser.parse(Array(text.utf8))) ?? .string(text)
    }

    /// `sagemaker_` keys the toolkit does not know by name (distribution switches and the like).
    public var frameworkParameters: [String: JSONValue] {
        sagemaker.filter { !Self.namedSageMakerKeys.contains($0.key) }
    }

    /// `sagemaker_program`: the user's entry point, when the job names one.
    public var userEntryPoint: String? { sagemaker["sagemaker_program"]?.stringValue }

    /// The entry point's module name: the program without `.py`.
    public var moduleName: String? {
        userEntryPoint.map { $0.hasSuffix(".py") ? String($0.dropLast(3)) : $0 }
    }

    /// `sagemaker_submit_directory`, else /opt/ml/code.
    public var moduleDirectory: String { sagemaker["sagemaker_submit_directory"]?.stringValue ?? "/opt/ml/code" }

    /// `sagemaker_container_log_level`, else logging.INFO.
    public var logLevel: JSONValue { sagemaker["sagemaker_container_log_level"] ?? .integer(Self.defaultLogLevel) }

    /// The user's hyperparameters as the toolkit passes them to the user's script: `--key value`
    /// (`-k value` for a one-letter key), keys sorted, a map as `k=v,k=v`.
    public var commandLineArguments: [String] {
        user.keys.sorted().flatMap { key -> [String] in
            let value = user[key] ?? .null
            let argument: String
            if let members = value.objectMembers {
                argument = members.sorted { $0.key < $1.key }.map { "\($0.key)=\(Self.argumentText($0.value))" }.joined(separator: ",")
            } else {
                argument = Self.argumentText(value)
            }
            return [(key.count > 1 ? "--" : "-") + key, argument]
        }
    }

    /// A decoded value as Python's `str()` shows the common cases (the toolkit's arguments are Python strings).
    static func argumentText(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): return text
        case .bool(let flag): return flag ? "True" : "False"
        case .null: return ""
        default: return value.serialized(.compactSorted)
        }
    }

    /// An `SM_*` value as the toolkit writes it: a string as it is, nothing (null) as an empty
    /// string, anything else as compact JSON with sorted keys.
    public static func environmentText(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): return text
        case .null: return ""
        default: return value.serialized(.compactSorted)
        }
    }
}

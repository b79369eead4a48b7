import Foundation

/// A CreateAlgorithm request from the algorithms directory: what jobs that name it
/// are validated against and completed from.
public struct AlgorithmDefinition: Codable, Sendable, Equatable {
    public var algorithmName: String
    public var algorithmDescription: String?
    public var trainingSpecification: TrainingSpecification
    public var inferenceSpecification: JSONValue?
    public var validationSpecification: JSONValue?
    public var certifyForMarketplace: Bool?
    public var tags: [Tag]?

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case algorithmName = "AlgorithmName"
        case algorithmDescription = "AlgorithmDescription"
        case trainingSpecification = "TrainingSpecification"
        case inferenceSpecification = "InferenceSpecification"
        case validationSpecification = "ValidationSpecification"
        case certifyForMarketplace = "CertifyForMarketplace"
        case tags = "Tags"
    }
}

public struct TrainingSpecification: Codable, Sendable, Equatable {
    public var trainingImage: String
    public var trainingImageDigest: String?
    public var supportedHyperParameters: [HyperParameterSpecification]?
    public var supportedTrainingInstanceTypes: [String]
    public var supportsDistributedTraining: Bool?
    public var metricDefinitions: [MetricDefinition]?
    public var trainingChannels: [ChannelSpecification]
    public var supportedTuningJobObjectiveMetrics: JSONValue?
    public var additionalS3DataSource: JSONValue?

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case trainingImage = "TrainingImage"
        case trainingImageDigest = "TrainingImageDigest"
        case supportedHyperParameters = "SupportedHyperParameters"
        case supportedTrainingInstanceTypes = "SupportedTrainingInstanceTypes"
        case supportsDistributedTraining = "SupportsDistributedTraining"
        case metricDefinitions = "MetricDefinitions"
        case trainingChannels = "TrainingChannels"
        case supportedTuningJobObjectiveMetrics = "SupportedTuningJobObjectiveMetrics"
        case additionalS3DataSource = "AdditionalS3DataSource"
    }
}

public struct ChannelSpecification: Codable, Sendable, Equatable {
    public var name: String
    public var description: String?
    public var isRequired: Bool?
    public var supportedContentTypes: [String]
    public var supportedCompressionTypes: [ChannelCompressionType]?
    public var supportedInputModes: [TrainingInputMode]

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case name = "Name"
        case description = "Description"
        case isRequired = "IsRequired"
        case supportedContentTypes = "SupportedContentTypes"
        case supportedCompressionTypes = "SupportedCompressionTypes"
        case supportedInputModes = "SupportedInputModes"
    }
}

public struct HyperParameterSpecification: Codable, Sendable, Equatable {
    public enum ParameterType: String, Codable, Sendable, CaseIterable {
        case integer = "Integer"
        case continuous = "Continuous"
        case categorical = "Categorical"
        case freeText = "FreeText"
    }

    public var name: String
    public var description: String?
    public var type: ParameterType
    public var range: ParameterRange?
    public var isTunable: Bool?
    public var isRequired: Bool?
    public var defaultValue: String?

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case name = "Name"
        case description = "Description"
        case type = "Type"
        case range = "Range"
        case isTunable = "IsTunable"
        case isRequired = "IsRequired"
        case defaultValue = "DefaultValue"
    }
}

public struct ParameterRange: Codable, Sendable, Equatable {
    public struct Bounds: Codable, Sendable, Equatable {
        public var minValue: String
        public var maxValue: String

        public enum CodingKeys: String, CodingKey, CaseIterable {
            case minValue = "MinValue"
            case maxValue = "MaxValue"
        }
    }

    public struct Categories: Codable, Sendable, Equatable {
        public var values: [String]

        public enum CodingKeys: String, CodingKey, CaseIterable {
            case values = "Values"
        }
    }

    public var integerParameterRangeSpecification: Bounds?
    public var continuousParameterRangeSpecification: Bounds?
    public var categoricalParameterRangeSpecification: Categories?

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case integerParameterRangeSpecification = "IntegerParameterRangeSpecification"
        case continuousParameterRangeSpecification = "ContinuousParameterRangeSpecification"
        case categoricalParameterRangeSpecification = "CategoricalParameterRangeSpecification"
    }
}

extension Schema {
    static func bounds(_ name: String) -> Shape {
        .structure(Shape.Structure(name, [
            .required("MinValue", .string(max: 256)),
            .required("MaxValue", .string(max: 256)),
        ]))
    }

    /// A CreateAlgorithm request as the algorithms directory holds it.
    public static let createAlgorithmInput = Shape.Structure("CreateAlgorithmInput", [
        .required("AlgorithmName", .string(min: 1, max: 63, pattern: Patterns.jobName)),
        .optional("AlgorithmDescription", .string(max: 1024)),
        .required("TrainingSpecification", .structure(Shape.Structure("TrainingSpecification", [
            .required("TrainingImage", .string(min: 1, max: 255)),
            .optional("TrainingImageDigest", .string(max: 72)),
            .optional("SupportedHyperParameters", .list(of: .structure(Shape.Structure("HyperParameterSpecification", [
                .required("Name", .string(max: 256)),
                .optional("Description", .string(max: 1024)),
                .required("Type", .oneOf(HyperParameterSpecification.ParameterType.self)),
                .optional("Range", .structure(Shape.Structure("ParameterRange", [
                    .optional("IntegerParameterRangeSpecification", bounds("IntegerParameterRangeSpecification")),
                    .optional("ContinuousParameterRangeSpecification", bounds("ContinuousParameterRangeSpecification")),
                    .optional("CategoricalParameterRangeSpecification", .structure(Shape.Structure(
                        "CategoricalParameterRangeSpecification", [
                            .required("Values", .list(of: .string(max: 256), min: 1, max: 30)),
                        ]))),
                ]))),
                .optional("IsTunable", .boolean),
                .optional("IsRequired", .boolean),
                .optional("DefaultValue", .string(max: 2500)),
            ])), max: 100)),
            .required("SupportedTrainingInstanceTypes", .list(of: instanceType)),
            .optional("SupportsDistributedTraining", .boolean),
            .optional("MetricDefinitions", .list(of: .structure(metricDefinition), max: 40)),
            .required("TrainingChannels", .list(of: .structure(Shape.Structure("ChannelSpecification", [
                .required("Name", .string(min: 1, max: 64, pattern: Patterns.channelName)),
                .optional("Description", .string(max: 1024)),
                .optional("IsRequired", .boolean),
                .required("SupportedContentTypes", .list(of: .string(max: 256))),
                .optional("SupportedCompressionTypes", .list(of: .oneOf(ChannelCompressionType.self))),
                .required("SupportedInputModes", .list(of: .oneOf(TrainingInputMode.self), min: 1)),
            ])), min: 1, max: 8)),
            .optional("SupportedTuningJobObjectiveMetrics", .opaque),
            .optional("AdditionalS3DataSource", .opaque),
        ]))),
        .optional("InferenceSpecification", .opaque),
        .optional("ValidationSpecification", .opaque),
        .optional("CertifyForMarketplace", .boolean),
        .optional("Tags", .list(of: .structure(tag), max: 50)),
    ])
}

extension AlgorithmDefinition {
    /// Parses and checks a CreateAlgorithm request (an algorithms-directory file).
    public static func validate(_ bytes: [UInt8]) -> Result<AlgorithmDefinition, DefinitionRejection> {
        let document: JSONValue
        do {
            document = try StrictJSONParser.parse(bytes)
        } catch {
            return .failure(DefinitionRejection(issues: [DefinitionValidator.syntaxIssue(error)]))
        }
        var checker = SchemaChecker()
        checker.check(document, against: .structure(Schema.createAlgorithmInput), at: FieldPath())
        for (index, parameter) in (document["TrainingSpecification"]?["SupportedHyperParameters"]?.arrayValue ?? []).enumerated() {
            if let name = parameter["Name"]?.stringValue, name.isEmpty {
                checker.report(ValidationIssue(
                    path: FieldPath("TrainingSpecification").appending(member: "SupportedHyperParameters").appending(index: index).appending(member: "Name"),
                    code: .length, message: "A hyperparameter specification needs a Name"))
            }
        }
        guard checker.issues.isEmpty else { return .failure(DefinitionRejection(issues: checker.issues)) }
        do {
            return .success(try JSONDecoder().decode(AlgorithmDefinition.self, from: Data(document.serialized().utf8)))
        } catch {
            return .failure(DefinitionRejection(issues: [ValidationIssue(path: "", code: .wrongType, message: "The algorithm could not be decoded: \(error)")]))
        }
    }
}

import Foundation

/// A definition that passed every check, with SageMaker's defaults applied.
public struct ValidatedDefinition: Sendable, Equatable {
    /// The job's name: the request's, or the spool file's base name.
    public var jobName: String
    /// The request with defaults filled in; `TrainingInputMode` is always inside AlgorithmSpecification.
    public var request: CreateTrainingJobRequest
    /// The request exactly as submitted, for echoing back.
    public var submitted: JSONValue
}

/// A definition that failed validation: every issue found, not only the first.
public struct DefinitionRejection: Error, Sendable, Equatable, CustomStringConvertible {
    public var issues: [ValidationIssue]

    public init(issues: [ValidationIssue]) {
        self.issues = issues
    }

    public var description: String { ValidationReport.summary(of: issues) }
}

/// Turns the bytes of a CreateTrainingJob request into a ``ValidatedDefinition``,
/// collecting every problem: syntax, schema, cross-field rules and, when a
/// ``SiteCatalog`` is given, the checks that depend on the daemon's configuration.
///
/// The same validator serves `jobctl validate`, the spool and the control API,
/// so a definition gets the same words wherever it is submitted.
public struct DefinitionValidator: Sendable {
    /// The largest definition accepted anywhere: 4 MiB.
    public static let maximumDefinitionSize = 4 * 1024 * 1024

    public var site: SiteCatalog?

    public init(site: SiteCatalog? = nil) {
        self.site = site
    }

    /// Validates a definition.
    /// - Parameter defaultJobName: the name a definition without TrainingJobName takes
    ///   (a spool file's base name); nil where the name is required (the control API).
    public func validate(_ bytes: [UInt8], defaultJobName: String? = nil) -> Result<ValidatedDefinition, DefinitionRejection> {
        if bytes.count > Self.maximumDefinitionSize {
            return .failure(DefinitionRejection(issues: [Self.tooLarge(size: bytes.count)]))
        }
        let document: JSONValue
        do {
            document = try StrictJSONParser.parse(bytes)
        } catch {
            return .failure(DefinitionRejection(issues: [Self.syntaxIssue(error)]))
        }
        return validate(document: document, defaultJobName: defaultJobName)
    }

    /// Validates an already parsed definition.
    public func validate(document: JSONValue, defaultJobName: String? = nil) -> Result<ValidatedDefinition, DefinitionRejection> {
        guard case .object = document else {
            return .failure(DefinitionRejection(issues: [ValidationIssue(
                path: "", code: .notAnObject,
                message: "The definition must be a JSON object (a CreateTrainingJob request), not \(document.typeName == "array" ? "an" : "a") \(document.typeName)")]))
        }
        var schema = SchemaChecker()
        schema.check(document, against: .structure(Schema.createTrainingJobRequest), at: FieldPath())
        var issues = schema.issues + instanceTypeIssues(document) + priorityIssues(document)
        let jobName = resolveJobName(document, defaultJobName: defaultJobName, issues: &issues)
        var rules = CrossFieldRules(document: document)
        rules.run()
        issues += rules.issues
        guard issues.isEmpty else { return .failure(DefinitionRejection(issues: issues)) }

        let request: CreateTrainingJobRequest
        do {
            request = try JSONDecoder().decode(CreateTrainingJobRequest.self, from: Data(document.serialized().utf8))
        } catch {
            // The schema admits only what the model decodes; reaching this is a bug in the schema.
            return .failure(DefinitionRejection(issues: [ValidationIssue(
                path: "", code: .wrongType, message: "The definition could not be decoded (\(error)); please report this as a trainingd bug")]))
        }
        var definition = ValidatedDefinition(jobName: jobName ?? "", request: request.applyingDefaults(), submitted: document)
        definition.request.trainingJobName = definition.jobName
        if let site {
            let siteIssues = site.check(&definition)
            if !siteIssues.isEmpty { return .failure(DefinitionRejection(issues: siteIssues)) }
        }
        return .success(definition)
    }

    private func resolveJobName(_ document: JSONValue, defaultJobName: String?, issues: inout [ValidationIssue]) -> String? {
        if let name = document["TrainingJobName"]?.stringValue { return name }
        if document["TrainingJobName"] != nil { return nil }
        guard let defaultJobName else {
            issues.append(.constraint(nil, at: "TrainingJobName", .missingMember, "Member must not be null"))
            return nil
        }
        for (code, rule) in SchemaChecker.violations(of: defaultJobName, StringRule(min: 1, max: 63, pattern: Patterns.jobName)) {
            issues.append(ValidationIssue(path: "TrainingJobName", code: code,
                message: "Value '\(defaultJobName)' at 'trainingJobName' (taken from the file name, as the definition has no TrainingJobName) failed to satisfy constraint: \(rule); rename the file or set TrainingJobName"))
        }
        return defaultJobName
    }

    /// The issue for a definition over ``maximumDefinitionSize``; also used before reading a file.
    public static func tooLarge(size: Int) -> ValidationIssue {
        ValidationIssue(path: "", code: .tooLarge,
            message: "The definition is \(size) bytes; definitions are limited to \(maximumDefinitionSize) bytes (4 MiB). Move large values (data, code) to files the job reads")
    }

    static func syntaxIssue(_ error: JSONSyntaxError) -> ValidationIssue {
        let isDuplicate = error.message.hasPrefix("duplicate key")
        return ValidationIssue(
            path: error.path ?? FieldPath(), code: isDuplicate ? .duplicateKey : .syntax,
            message: "The definition is not valid JSON: \(error)")
    }
}

/// A regular expression that must match a whole string, kept with its source
/// text so that messages can quote it as SageMaker does.
public struct Pattern: Sendable {
    /// The pattern as quoted in messages, anchored (`^...$`).
    public let source: String
    private let matcher: @Sendable (String) -> Bool

    public init(_ source: String, matcher: @escaping @Sendable (String) -> Bool) {
        self.source = source
        self.matcher = matcher
    }

    /// A pattern in Swift's regex syntax; `source` must be anchored with `^` and `$`.
    public init(regex source: String) {
        let compiled = CompiledRegex(source)
        self.init(source, matcher: { compiled.wholeMatches($0) })
    }

    public func matches(_ value: String) -> Bool { matcher(value) }
}

/// Swift's `Regex` is not Sendable; it is immutable once built, so sharing it is safe.
private final class CompiledRegex: @unchecked Sendable {
    private let regex: Regex<AnyRegexOutput>

    init(_ source: String) {
        do {
            regex = try Regex(source)
        } catch {
            preconditionFailure("invalid built-in pattern \(source): \(error)")
        }
    }

    func wholeMatches(_ value: String) -> Bool {
        (try? regex.wholeMatch(in: value)) != nil
    }
}

/// The patterns of SageMaker's API model that trainingd enforces.
public enum Patterns {
    public static let jobName = Pattern(regex: "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
    public static let channelName = Pattern(regex: "^[A-Za-z0-9\\.\\-_]+$")
    public static let environmentKey = Pattern(regex: "^[a-zA-Z_][a-zA-Z0-9_]*$")
    public static let fileSystemId = Pattern(regex: "^fs-[0-9a-f]{8,}$")
    public static let roleArn = Pattern(regex: "^arn:aws[a-z\\-]*:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+$")
    public static let kmsKeyId = Pattern(regex: "^[a-zA-Z0-9:/_-]*$")
    /// SageMaker's ArnOrName, with its trailing look-behind `(?<!-)` written as a final alphanumeric.
    public static let algorithmName = Pattern(
        regex: "^(arn:aws[a-z\\-]*:sagemaker:[a-z0-9\\-]*:[0-9]{12}:[a-z\\-]*/)?[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$")
    public static let tag = Pattern(regex: "^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$")
    public static let experimentEntityName = Pattern(regex: "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,119}$")
    public static let vpcIdentifier = Pattern(regex: "^[-0-9a-zA-Z]+$")
    public static let trainingPlanArn = Pattern(
        regex: "^arn:aws[a-z\\-]*:sagemaker:[a-z0-9\\-]*:[0-9]{12}:training-plan/.*$")
    /// SageMaker's S3Uri pattern, plus `file://` for local data (see ``StorageURI``).
    public static let storageURI = Pattern("^(https|s3)://([^/]+)/?(.*)$ or file:///absolute/path") {
        StorageURI.parse($0) != nil
    }
}

/// One named input of the algorithm, seen at /opt/ml/input/data/<ChannelName>.
public struct Channel: Codable, Sendable, Equatable {
    public var channelName: String
    public var dataSource: DataSource
    public var contentType: String?
    public var compressionType: ChannelCompressionType?
    public var recordWrapperType: RecordWrapperType?
    /// Overrides the job's TrainingInputMode for this channel.
    public var inputMode: TrainingInputMode?
    public var shuffleConfig: ShuffleConfig?

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case channelName = "ChannelName"
        case dataSource = "DataSource"
        case contentType = "ContentType"
        case compressionType = "CompressionType"
        case recordWrapperType = "RecordWrapperType"
        case inputMode = "InputMode"
        case shuffleConfig = "ShuffleConfig"
    }
}

/// Where a channel's data comes from: exactly one of the two sources.
public struct DataSource: Codable, Sendable, Equatable {
    public var s3DataSource: S3DataSource?
    public var fileSystemDataSource: FileSystemDataSource?
    /// SageMaker's dataset source; accepted by the schema, refused as not available locally.
    public var datasetSource: JSONValue?

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case s3DataSource = "S3DataSource"
        case fileSystemDataSource = "FileSystemDataSource"
        case datasetSource = "DatasetSource"
    }
}

public struct S3DataSource: Codable, Sendable, Equatable {
    public var s3DataType: S3DataType
    /// `s3://`, `https://` or, locally, `file:///absolute/path`.
    public var s3Uri: String
    public var s3DataDistributionType: S3DataDistributionType?
    public var attributeNames: [String]?
    public var instanceGroupNames: [String]?
    public var modelAccessConfig: JSONValue?
    public var hubAccessConfig: JSONValue?

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case s3DataType = "S3DataType"
        case s3Uri = "S3Uri"
        case s3DataDistributionType = "S3DataDistributionType"
        case attributeNames = "AttributeNames"
        case instanceGroupNames = "InstanceGroupNames"
        case modelAccessConfig = "ModelAccessConfig"
        case hubAccessConfig = "HubAccessConfig"
    }
}

/// A shared file system mounted at the channel's path; locally, the daemon's
/// configuration maps `FileSystemId` to a directory.
public struct FileSystemDataSource: Codable, Sendable, Equatable {
    public var fileSystemId: String
    public var fileSystemAccessMode: FileSystemAccessMode
    public var fileSystemType: FileSystemType
    public var directoryPath: String

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case fileSystemId = "FileSystemId"
        case fileSystemAccessMode = "FileSystemAccessMode"
        case fileSystemType = "FileSystemType"
        case directoryPath = "DirectoryPath"
    }
}

public struct ShuffleConfig: Codable, Sendable, Equatable {
    public var seed: Int64

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case seed = "Seed"
    }
}

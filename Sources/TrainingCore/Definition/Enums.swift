/// How a channel's data reaches the algorithm.
public enum TrainingInputMode: String, Codable, Sendable, CaseIterable {
    case pipe = "Pipe"
    case file = "File"
    case fastFile = "FastFile"
}

/// A channel's compression; Gzip is decompressed on the way, in Pipe mode only.
public enum ChannelCompressionType: String, Codable, Sendable, CaseIterable {
    case none = "None"
    case gzip = "Gzip"
}

public enum RecordWrapperType: String, Codable, Sendable, CaseIterable {
    case none = "None"
    case recordIO = "RecordIO"
}

public enum S3DataType: String, Codable, Sendable, CaseIterable {
    case s3Prefix = "S3Prefix"
    case manifestFile = "ManifestFile"
    case augmentedManifestFile = "AugmentedManifestFile"
}

public enum S3DataDistributionType: String, Codable, Sendable, CaseIterable {
    case fullyReplicated = "FullyReplicated"
    case shardedByS3Key = "ShardedByS3Key"
}

public enum FileSystemAccessMode: String, Codable, Sendable, CaseIterable {
    case readWrite = "rw"
    case readOnly = "ro"
}

public enum FileSystemType: String, Codable, Sendable, CaseIterable {
    case efs = "EFS"
    case fsxLustre = "FSxLustre"
}

/// How model artifacts are delivered: one `model.tar.gz`, or the files themselves.
public enum OutputCompressionType: String, Codable, Sendable, CaseIterable {
    case gzip = "GZIP"
    case none = "NONE"
}

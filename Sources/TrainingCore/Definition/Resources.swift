public struct OutputDataConfig: Codable, Sendable, Equatable {
    public var s3OutputPath: String
    public var kmsKeyId: String?
    public var compressionType: OutputCompressionType?

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case s3OutputPath = "S3OutputPath"
        case kmsKeyId = "KmsKeyId"
        case compressionType = "CompressionType"
    }
}

/// The hosts a job runs on: one homogeneous cluster, or up to five instance groups.
public struct ResourceConfig: Codable, Sendable, Equatable {
    public var instanceType: String?
    public var instanceCount: Int?
    public var volumeSizeInGB: Int?
    public var volumeKmsKeyId: String?
    public var keepAlivePeriodInSeconds: Int?
    public var instanceGroups: [InstanceGroup]?
    public var trainingPlanArn: String?
    public var instancePlacementConfig: JSONValue?

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case instanceType = "InstanceType"
        case instanceCount = "InstanceCount"
        case volumeSizeInGB = "VolumeSizeInGB"
        case volumeKmsKeyId = "VolumeKmsKeyId"
        case keepAlivePeriodInSeconds = "KeepAlivePeriodInSeconds"
        case instanceGroups = "InstanceGroups"
        case trainingPlanArn = "TrainingPlanArn"
        case instancePlacementConfig = "InstancePlacementConfig"
    }

    /// The job's groups, with the homogeneous form as one group named `homogeneousCluster`.
    public var effectiveInstanceGroups: [InstanceGroup] {
        if let instanceGroups, !instanceGroups.isEmpty { return instanceGroups }
        return [
            InstanceGroup(
                instanceType: instanceType ?? "ml.m5.large", instanceCount: instanceCount ?? 1,
                instanceGroupName: "homogeneousCluster")
        ]
    }
}

public struct InstanceGroup: Codable, Sendable, Equatable {
    public var instanceType: String
    public var instanceCount: Int
    public var instanceGroupName: String

    public init(instanceType: String, instanceCount: Int, instanceGroupName: String) {
        self.instanceType = instanceType
        self.instanceCount = instanceCount
        self.instanceGroupName = instanceGroupName
    }

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case instanceType = "InstanceType"
        case instanceCount = "InstanceCount"
        case instanceGroupName = "InstanceGroupName"
    }
}

public struct StoppingCondition: Codable, Sendable, Equatable {
    /// Training time allowed across all attempts; defaulted to 86400 by validation.
    public var maxRuntimeInSeconds: Int?
    public var maxWaitTimeInSeconds: Int?
    public var maxPendingTimeInSeconds: Int?

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case maxRuntimeInSeconds = "MaxRuntimeInSeconds"
        case maxWaitTimeInSeconds = "MaxWaitTimeInSeconds"
        case maxPendingTimeInSeconds = "MaxPendingTimeInSeconds"
    }
}

public struct CheckpointConfig: Codable, Sendable, Equatable {
    public var s3Uri: String
    /// Where the algorithm reads and writes checkpoints; defaulted to `/opt/ml/checkpoints/`.
    public var localPath: String?

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case s3Uri = "S3Uri"
        case localPath = "LocalPath"
    }
}

public struct RetryStrategy: Codable, Sendable, Equatable {
    public var maximumRetryAttempts: Int

    public enum CodingKeys: String, CodingKey, CaseIterable {
        case maximumRetryAttempts = "MaximumRetryAttempts"
    }
}

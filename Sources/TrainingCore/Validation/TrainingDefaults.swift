/// The values SageMaker assumes for members a definition leaves out.
public enum TrainingDefaults {
    public static let maxRuntimeInSeconds: Int64 = 86_400
    public static let checkpointLocalPath = "/opt/ml/checkpoints/"
    public static let outputCompression = OutputCompressionType.gzip
    public static let distribution = S3DataDistributionType.fullyReplicated
    public static let recordWrapper = RecordWrapperType.none
    public static let channelCompression = ChannelCompressionType.none
}

extension CreateTrainingJobRequest {
    /// The request with every defaulted member filled in, as DescribeTrainingJob shows it.
    func applyingDefaults() -> CreateTrainingJobRequest {
        var request = self
        if request.algorithmSpecification.trainingInputMode == nil {
            request.algorithmSpecification.trainingInputMode = request.trainingInputMode
        }
        request.trainingInputMode = nil
        if request.stoppingCondition.maxRuntimeInSeconds == nil {
            request.stoppingCondition.maxRuntimeInSeconds = Int(TrainingDefaults.maxRuntimeInSeconds)
        }
        if request.outputDataConfig.compressionType == nil {
            request.outputDataConfig.compressionType = TrainingDefaults.outputCompression
        }
        if request.checkpointConfig != nil, request.checkpointConfig?.localPath == nil {
            request.checkpointConfig?.localPath = TrainingDefaults.checkpointLocalPath
        }
        request.inputDataConfig = request.inputDataConfig?.map { channel in
            var channel = channel
            channel.compressionType = channel.compressionType ?? TrainingDefaults.channelCompression
            channel.recordWrapperType = channel.recordWrapperType ?? TrainingDefaults.recordWrapper
            if channel.dataSource.s3DataSource != nil, channel.dataSource.s3DataSource?.s3DataDistributionType == nil {
                channel.dataSource.s3DataSource?.s3DataDistributionType = TrainingDefaults.distribution
            }
            return channel
        }
        return request
    }
}

extension CreateTrainingJobRequest {
    /// Where the job's artifacts go: `<S3OutputPath without trailing slashes>/<TrainingJobName>/output`.
    public var outputLocation: String {
        var base = outputDataConfig.s3OutputPath
        while base.hasSuffix("/") { base.removeLast() }
        return "\(base)/\(trainingJobName ?? "")/output"
    }

    /// ModelArtifacts.S3ModelArtifacts: `model.tar.gz` under ``outputLocation``, or the `model/`
    /// prefix with OutputDataConfig.CompressionType NONE.
    public var modelArtifactsLocation: String {
        outputLocation + (outputDataConfig.compressionType == OutputCompressionType.none ? "/model/" : "/model.tar.gz")
    }
}

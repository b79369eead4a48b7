/// The operations of the control API, by their `X-Amz-Target` header.
///
/// SageMaker's own operations use its target prefix and shapes; what SageMaker does
/// through other services (logs, metrics, events) has trainingd's own prefix.
public enum Operation: String, Sendable, CaseIterable {
    case createTrainingJob = "SageMaker.CreateTrainingJob"
    case describeTrainingJob = "SageMaker.DescribeTrainingJob"
    case listTrainingJobs = "SageMaker.ListTrainingJobs"
    case stopTrainingJob = "SageMaker.StopTrainingJob"
    case deleteTrainingJob = "SageMaker.DeleteTrainingJob"
    /// A job's tags, by its ARN (SageMaker keeps them out of DescribeTrainingJob).
    case addTags = "SageMaker.AddTags"
    case listTags = "SageMaker.ListTags"
    case deleteTags = "SageMaker.DeleteTags"
    /// CloudWatch Logs' view of the job logs (log group `/aws/sagemaker/TrainingJobs`, a stream
    /// `<job>/algo-N-<epoch>` per host), which `Estimator.fit(logs=True)` and `sagemaker.logs` read.
    case describeLogStreams = "Logs_20140328.DescribeLogStreams"
    case getLogEvents = "Logs_20140328.GetLogEvents"
    /// Ends a running job's attempt as a spot capacity reclaim would: SIGTERM, the grace period,
    /// checkpoints synced, Interrupted; it restarts when capacity allows (`jobctl interrupt`).
    case interruptTrainingJob = "Trainingd.InterruptTrainingJob"
    /// The log lines of a job host so far.
    case getLogs = "Trainingd.GetLogs"
    /// The log lines of a job host, then new ones as they are written, until the job ends (chunked).
    case followLogs = "Trainingd.FollowLogs"
    /// Every metric's values over time, from the job's log lines.
    case getMetrics = "Trainingd.GetMetrics"
    /// Status changes as they happen, one JSON object per line (chunked); with a
    /// TrainingJobName, only that job's, ending when it ends.
    case watchEvents = "Trainingd.WatchEvents"
    /// The images jobs can name: the image table's entries and the images of root's containers-storage.
    case listImages = "Trainingd.ListImages"
    /// Does nothing: a health check, and the benchmarks' baseline.
    case ping = "Trainingd.Ping"
    /// Drains the daemon as SIGTERM does (root or the admin group only): running jobs get SIGTERM
    /// and their grace period, are recorded Interrupted, and the daemon exits.
    case drain = "Trainingd.Drain"

    /// The target prefix of the CloudWatch Logs operations (signed for service `logs`).
    public static let logsTargetPrefix = "Logs_20140328."

    /// The content type of requests and of non-streaming responses.
    public static let contentType = "application/x-amz-json-1.1"
}

/// SageMaker's TrainingJobStatus.
public enum TrainingJobStatus: String, Codable, Sendable, CaseIterable {
    case inProgress = "InProgress"
    case completed = "Completed"
    case failed = "Failed"
    case stopping = "Stopping"
    case stopped = "Stopped"

    /// Whether the job has ended: nothing of it runs any more.
    public var isTerminal: Bool { self == .completed || self == .failed || self == .stopped }
}

/// SageMaker's SecondaryStatus: the step a job is at.
public enum SecondaryStatus: String, Codable, Sendable, CaseIterable {
    case starting = "Starting"
    case pending = "Pending"
    case downloading = "Downloading"
    case training = "Training"
    case uploading = "Uploading"
    case stopping = "Stopping"
    case stopped = "Stopped"
    case maxRuntimeExceeded = "MaxRuntimeExceeded"
    case maxWaitTimeExceeded = "MaxWaitTimeExceeded"
    case completed = "Completed"
    case failed = "Failed"
    case interrupted = "Interrupted"
    case restarting = "Restarting"
}

/// One entry of SecondaryStatusTransitions.
public struct StatusTransition: Codable, Sendable, Equatable {
    public var status: SecondaryStatus
    /// Epoch seconds.
    public var startTime: Double
    public var endTime: Double?
    public var statusMessage: String

    public init(status: SecondaryStatus, startTime: Double, endTime: Double? = nil, statusMessage: String) {
        self.status = status
        self.startTime = startTime
        self.endTime = endTime
        self.statusMessage = statusMessage
    }

    public enum CodingKeys: String, CodingKey {
        case status = "Status"
        case startTime = "StartTime"
        case endTime = "EndTime"
        case statusMessage = "StatusMessage"
    }
}

/// The class of a FailureReason, as its prefix says.
public enum FailureKind: String, Codable, Sendable {
    case algorithmError = "AlgorithmError"
    case clientError = "ClientError"
    case capacityError = "CapacityError"
    case internalServerError = "InternalServerError"

    /// `<Kind>: <detail>`, cut to SageMaker's 1024 characters (Unicode scalars, as the API counts them).
    public func reason(_ detail: String) -> String {
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: "\(rawValue): \(detail)".unicodeScalars.prefix(1024))
        return String(scalars)
    }
}

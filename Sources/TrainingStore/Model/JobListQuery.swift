public import TrainingCore

/// A ListTrainingJobs request.
///
/// Filters combine with AND; times are exclusive bounds in epoch seconds.
/// Unlike SageMaker, which takes MaxResults jobs first and filters them by
/// StatusEquals afterwards (so a page may come back short or empty), every
/// filter here applies before the page is cut.
public struct JobListQuery: Sendable, Equatable {
    /// Jobs whose name contains this, ignoring ASCII case (job names are ASCII).
    public var nameContains: String?
    /// Jobs with exactly this TrainingJobStatus.
    public var statusEquals: TrainingJobStatus?
    /// Jobs created after (not at) this time.
    public var creationTimeAfter: Double?
    /// Jobs created before (not at) this time.
    public var creationTimeBefore: Double?
    /// Jobs whose status last changed after (not at) this time.
    public var lastModifiedTimeAfter: Double?
    /// Jobs whose status last changed before (not at) this time.
    public var lastModifiedTimeBefore: Double?
    /// The sort key; CreationTime by default.
    public var sortBy: JobSortKey
    /// Descending by default (newest first).
    public var sortOrder: JobSortOrder
    /// 1...100.
    public var maxResults: Int
    /// The `nextToken` of the previous page of the same query.
    public var nextToken: String?

    /// The default page size, as SageMaker's.
    public static let defaultMaxResults = 10
    /// The largest page size.
    public static let maxResultsLimit = 100

    /// A query; the defaults are SageMaker's (CreationTime, Descending, 10 per page).
    public init(
        nameContains: String? = nil, statusEquals: TrainingJobStatus? = nil,
        creationTimeAfter: Double? = nil, creationTimeBefore: Double? = nil,
        lastModifiedTimeAfter: Double? = nil, lastModifiedTimeBefore: Double? = nil,
        sortBy: JobSortKey = .creationTime, sortOrder: JobSortOrder = .descending,
        maxResults: Int = JobListQuery.defaultMaxResults, nextToken: String? = nil
    ) {
        self.nameContains = nameContains
        self.statusEquals = statusEquals
        self.creationTimeAfter = creationTimeAfter
        self.creationTimeBefore = creationTimeBefore
        self.lastModifiedTimeAfter = lastModifiedTimeAfter
        self.lastModifiedTimeBefore = lastModifiedTimeBefore
        self.sortBy = sortBy
        self.sortOrder = sortOrder
        self.maxResults = maxResults
        self.nextToken = nextToken
    }
}

/// SortBy of ListTrainingJobs. Ties are broken by submission order.
public enum JobSortKey: String, Sendable, CaseIterable {
    case name = "Name"
    case creationTime = "CreationTime"
    case status = "Status"
}

/// SortOrder of ListTrainingJobs.
public enum JobSortOrder: String, Sendable, CaseIterable {
    case ascending = "Ascending"
    case descending = "Descending"
}

/// One TrainingJobSummary.
public struct JobSummary: Sendable, Equatable {
    /// The job's submission number (not part of SageMaker's summary).
    public var id: JobID
    /// TrainingJobName.
    public var name: String
    /// TrainingJobArn.
    public var arn: String
    /// CreationTime, epoch seconds.
    public var creationTime: Double
    /// TrainingEndTime, once training has ended.
    public var trainingEndTime: Double?
    /// LastModifiedTime: when the status last changed.
    public var lastModifiedTime: Double
    /// TrainingJobStatus.
    public var status: TrainingJobStatus
    /// SecondaryStatus.
    public var secondaryStatus: SecondaryStatus
}

/// One page of ListTrainingJobs.
public struct JobListPage: Sendable, Equatable {
    /// TrainingJobSummaries, in the requested order.
    public var summaries: [JobSummary]
    /// Present when more jobs match; pass it back in ``JobListQuery/nextToken``.
    public var nextToken: String?
}

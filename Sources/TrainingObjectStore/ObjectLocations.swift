public import TrainingCore

/// Which store serves a location: `file://` paths and local buckets are directories
/// (``DirectoryObjectStore``), any other `s3://` bucket is on the S3 endpoint when one is set up
/// (TrainingS3's `S3ObjectStore`). The same rule decides at submission (`SiteCatalog`, from whether S3 is
/// configured) and in the workers that move the data, which get these settings in their request.
public struct ObjectLocations: Sendable, Equatable, Codable {
    public var buckets: LocalBuckets
    /// The S3 endpoint and credentials; nil when only local buckets are served.
    public var s3: S3Settings?
    /// Buckets with settings of their own (`[buckets."NAME"]` with S3 keys): always remote.
    public var bucketS3: [String: S3Settings]

    public init(buckets: LocalBuckets = LocalBuckets(), s3: S3Settings? = nil, bucketS3: [String: S3Settings] = [:]) {
        self.buckets = buckets
        self.s3 = s3
        self.bucketS3 = bucketS3
    }

    /// The settings that serve `bucket` on an S3 endpoint: its own, else the endpoint's.
    public func settings(ofBucket bucket: String) -> S3Settings? { bucketS3[bucket] ?? s3 }

    /// Whether `uri` is in a bucket of the S3 endpoint (and so is reached over the network).
    public func isRemote(_ uri: String) -> Bool {
        guard case .s3(let bucket, _) = StorageURI.parse(uri) else { return false }
        if bucketS3[bucket] != nil { return true }
        return s3 != nil && !buckets.servesLocally(bucket, isDirectory: DirectoryObjectStore.isDirectory)
    }

    /// The local path of a `file://` location or one in a local bucket; nil for a remote one.
    public func localPath(of uri: String) -> String? {
        isRemote(uri) ? nil : buckets.localPath(of: uri)
    }

    /// Where `uri` is served: a directory (a `file://` path or a local bucket) or a bucket on an
    /// S3 endpoint. The S3 client is another module's (TrainingS3's `resolve`), so that what
    /// only reads settings (jobctl, the config) does not link the HTTP stack.
    public enum Route: Sendable, Equatable {
        case directory(root: String, key: String)
        case s3(S3Settings, bucket: String, key: String)
    }

    /// The route of `uri`, or why it has none.
    public func route(_ uri: String) throws(StorageError) -> Route {
        switch StorageURI.parse(uri) {
        case .file(let path):
            return .directory(root: "/", key: String(path.dropFirst()))
        case .s3(let bucket, let key):
            if bucketS3[bucket] == nil, buckets.servesLocally(bucket, isDirectory: DirectoryObjectStore.isDirectory) || s3 == nil {
                if let refusal = buckets.refusal(of: uri) {
                    throw StorageError(location: uri, message: refusal, isClientError: true)
                }
                guard let directory = buckets.directory(ofBucket: bucket) else {
                    throw StorageError(location: uri, message: "\(uri) is in no local bucket", isClientError: true)
                }
                return .directory(root: directory, key: key)
            }
            guard LocalBuckets.isValidBucketName(bucket), let settings = settings(ofBucket: bucket) else {
                throw StorageError(location: uri, message: "\(uri) names the bucket '\(bucket)', which is not a valid S3 bucket name", isClientError: true)
            }
            return .s3(settings, bucket: bucket, key: key)
        default:
            throw StorageError(location: uri, message: "\(uri) is neither an s3:// nor a file:// location", isClientError: true)
        }
    }
}

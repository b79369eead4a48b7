/// Named S3 buckets served from local directories (`[buckets]` in the configuration), so that a
/// definition with `s3://` locations runs unchanged on a machine with no object store.
///
/// `s3://my-bucket/some/key` is `<the bucket's directory>/some/key`, with S3's semantics as for
/// `file://` locations (a prefix is a string, keys are relative to its last `/`), read and written
/// with the job owner's rights. A bucket is served when it is mapped by name, or when a default
/// directory is set and the bucket is a subdirectory of it.
public struct LocalBuckets: Sendable, Equatable, Codable {
    /// Bucket name -> directory.
    public var directories: [String: String]
    /// Any bucket `name` is `<defaultDirectory>/<name>` (when it is not mapped by name).
    public var defaultDirectory: String?

    public init(directories: [String: String] = [:], defaultDirectory: String? = nil) {
        self.directories = directories
        self.defaultDirectory = defaultDirectory
    }

    public var isEmpty: Bool { directories.isEmpty && defaultDirectory == nil }

    /// S3's bucket naming rules (3 to 63 of a-z, 0-9, '.' and '-', starting and ending with a letter
    /// or digit, no '..'): what keeps a bucket name from naming anything but one subdirectory.
    public static func isValidBucketName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (3...63).contains(bytes.count), !name.contains(".."), let first = bytes.first, let last = bytes.last else { return false }
        func isAlphanumeric(_ byte: UInt8) -> Bool { (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) }
        return isAlphanumeric(first) && isAlphanumeric(last) && bytes.allSatisfy { isAlphanumeric($0) || $0 == 0x2E || $0 == 0x2D }
    }

    /// The directory that holds bucket `name`, or nil when this daemon does not serve it.
    public func directory(ofBucket name: String) -> String? {
        guard Self.isValidBucketName(name) else { return nil }
        if let mapped = directories[name] { return mapped }
        return defaultDirectory.map { $0 + "/" + name }
    }

    /// Whether `bucket` is one of these local buckets rather than one of an S3 endpoint: it is
    /// mapped by name, or its directory exists under the default directory.
    public func servesLocally(_ bucket: String, isDirectory: (String) -> Bool) -> Bool {
        guard Self.isValidBucketName(bucket) else { return false }
        if directories[bucket] != nil { return true }
        return defaultDirectory.map { isDirectory($0 + "/" + bucket) } ?? false
    }

    /// The local path a location names: a `file://` path as it is, an `s3://` one under its
    /// bucket's directory (a trailing `/` kept: prefixes are strings); nil when it is not served.
    public func localPath(of uri: String) -> String? {
        switch StorageURI.parse(uri) {
        case .file(let path): return path
        case .s3(let bucket, let key):
            guard refusal(of: uri) == nil, let directory = directory(ofBucket: bucket) else { return nil }
            return directory + "/" + key
        default: return nil
        }
    }

    /// Why `uri` cannot be served here, in words that say what to do; nil when it can.
    public func refusal(of uri: String) -> String? {
        switch StorageURI.parse(uri) {
        case .file:
            return nil
        case .s3(let bucket, let key):
            guard Self.isValidBucketName(bucket) else {
                return "\(uri) names the bucket '\(bucket)', which is not a valid S3 bucket name"
            }
            guard directory(ofBucket: bucket) != nil else {
                return "\(uri) is in the bucket '\(bucket)', which this trainingd does not serve: map it to a directory with [buckets.\"\(bucket)\"] path = \"/srv/buckets/\(bucket)\" (or set [buckets] default_directory) in the daemon's configuration, or use a file:///absolute/path location"
            }
            if key.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
                return "\(uri) has a control character (NUL, a newline, ...) in its key, which a local bucket cannot hold; rename the objects"
            }
            let segments = key.split(separator: "/", omittingEmptySubsequences: false)
            if segments.dropLast().contains(where: { $0.isEmpty || $0 == "." || $0 == ".." }) || segments.last == "." || segments.last == ".." {
                return "\(uri) has an empty, '.' or '..' path segment in its key, which a local bucket cannot hold as S3 does; rename the objects"
            }
            return nil
        default:
            return "\(uri) cannot be reached by this trainingd: it serves file:// locations and local s3:// buckets"
        }
    }
}

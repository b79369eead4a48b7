public import Foundation
public import TrainingSigV4


/// How to reach an S3-compatible store: the endpoint, region, addressing and credentials, as
/// resolved once by the daemon (``resolve(_:environment:homeDirectory:defaultRegion:)``).
public struct S3Settings: Sendable, Hashable, Codable {
    /// `http://127.0.0.1:9000`, or `https://s3.<region>.amazonaws.com` for AWS.
    public var endpoint: String
    public var region: String
    /// `endpoint/bucket/key` (true) or `bucket.endpoint/key`.
    public var pathStyle: Bool
    public var credentials: AWSCredentials
    /// Where each value came from, for `jobctl`'s and the log's account of the set-up.
    public var sources: [String]

    public init(endpoint: String, region: String, pathStyle: Bool, credentials: AWSCredentials, sources: [String] = []) {
        self.endpoint = endpoint
        self.region = region
        self.pathStyle = pathStyle
        self.credentials = credentials
        self.sources = sources
    }

    /// The `[s3]` section of the daemon's configuration: each value, when set, wins over the AWS
    /// environment variables and the shared files.
    public struct Configured: Sendable, Equatable, Codable {
        public var endpoint: String?
        public var region: String?
        /// "path" or "virtual"; by default path-style for a configured endpoint, virtual-host for AWS's.
        public var addressing: String?
        public var profile: String?
        public var accessKeyID: String?
        public var secretAccessKey: String?
        public var sessionToken: String?

        /// These values, with `base`'s where these are not set (a bucket's keys over `[s3]`).
        public func over(_ base: Configured) -> Configured {
            let keys = accessKeyID != nil
            return Configured(endpoint: endpoint ?? base.endpoint, region: region ?? base.region, addressing: addressing ?? base.addressing,
                              profile: profile ?? base.profile, accessKeyID: keys ? accessKeyID : base.accessKeyID,
                              secretAccessKey: keys ? secretAccessKey : base.secretAccessKey, sessionToken: keys ? sessionToken : base.sessionToken)
        }

        public init(endpoint: String? = nil, region: String? = nil, addressing: String? = nil, profile: String? = nil,
                    accessKeyID: String? = nil, secretAccessKey: String? = nil, sessionToken: String? = nil) {
            self.endpoint = endpoint
            self.region = region
            self.addressing = addressing
            self.profile = profile
            self.accessKeyID = accessKeyID
            self.secretAccessKey = secretAccessKey
            self.sessionToken = sessionToken
        }
    }

    /// Resolves the settings the way the AWS CLI and SDKs do, the configuration first:
    /// - credentials: `[s3]` access_key_id and secret_access_key (session_token); else
    ///   `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` (`AWS_SESSION_TOKEN`); else the profile
    ///   (`[s3] profile`, else `AWS_PROFILE`, else `default`) in the shared credentials file
    ///   (`AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/credentials`), then in the config file
    ///   (`AWS_CONFIG_FILE`, else `~/.aws/config`);
    /// - region: `[s3] region`, `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`, `defaultRegion`;
    /// - endpoint: `[s3] endpoint`, `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, the profile's
    ///   `endpoint_url`, else AWS's endpoint of the region.
    /// Returns nil when no credentials are found anywhere: then only local buckets are served.
    public static func resolve(_ configured: Configured, environment: [String: String], homeDirectory: String?,
                               defaultRegion: String) throws(StorageError) -> S3Settings?
    {
        var sources: [String] = []
        let profileName = configured.profile ?? environment["AWS_PROFILE"] ?? "default"
        let credentialsFile = environment["AWS_SHARED_CREDENTIALS_FILE"] ?? homeDirectory.map { $0 + "/.aws/credentials" }
        let configFile = environment["AWS_CONFIG_FILE"] ?? homeDirectory.map { $0 + "/.aws/config" }
        let fromCredentialsFile = try credentialsFile.map { path throws(StorageError) in try SharedFile.read(path)[profileName] ?? [:] } ?? [:]
        // In the config file, profiles other than the default are `[profile NAME]`.
        let configSections = try configFile.map { path throws(StorageError) in try SharedFile.read(path) } ?? [:]
        let fromConfigFile = configSections[profileName == "default" ? "default" : "profile " + profileName] ?? [:]

        let credentials: AWSCredentials
        if let key = configured.accessKeyID, let secret = configured.secretAccessKey {
            credentials = AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: configured.sessionToken)
            sources.append("credentials from [s3] in the configuration")
        } else if let key = environment["AWS_ACCESS_KEY_ID"], let secret = environment["AWS_SECRET_ACCESS_KEY"], !key.isEmpty {
            credentials = AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: environment["AWS_SESSION_TOKEN"])
            sources.append("credentials from AWS_ACCESS_KEY_ID")
        } else if let key = fromCredentialsFile["aws_access_key_id"], let secret = fromCredentialsFile["aws_secret_access_key"] {
            credentials = AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: fromCredentialsFile["aws_session_token"])
            sources.append("credentials of profile \(profileName) in \(credentialsFile ?? "")")
        } else if let key = fromConfigFile["aws_access_key_id"], let secret = fromConfigFile["aws_secret_access_key"] {
            credentials = AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: fromConfigFile["aws_session_token"])
            sources.append("credentials of profile \(profileName) in \(configFile ?? "")")
        } else {
            return nil
        }
        let region = nonEmpty(configured.region) ?? nonEmpty(environment["AWS_REGION"]) ?? nonEmpty(environment["AWS_DEFAULT_REGION"])
            ?? nonEmpty(fromConfigFile["region"]) ?? defaultRegion
        let custom = nonEmpty(configured.endpoint) ?? nonEmpty(environment["AWS_ENDPOINT_URL_S3"]) ?? nonEmpty(environment["AWS_ENDPOINT_URL"])
            ?? nonEmpty(fromConfigFile["endpoint_url"])
        if let custom { sources.append("endpoint \(custom)") }
        let endpoint = custom ?? "https://s3.\(region).amazonaws.com"
        guard let url = URL(string: endpoint), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw StorageError(location: endpoint, message: "the S3 endpoint \(endpoint) is not an http:// or https:// URL; set [s3] endpoint = \"https://host:port\"",
                               isClientError: true)
        }
        let pathStyle: Bool
        switch configured.addressing {
        case "path": pathStyle = true
        case "virtual": pathStyle = false
        case nil: pathStyle = custom != nil
        case let other?:
            throw StorageError(location: "[s3] addressing", message: "[s3] addressing is \"\(other)\"; use \"path\" or \"virtual\"", isClientError: true)
        }
        return S3Settings(endpoint: endpoint, region: region, pathStyle: pathStyle, credentials: credentials, sources: sources)
    }

    private static func nonEmpty(_ value: String?) -> String? { value.flatMap { $0.isEmpty ? nil : $0 } }
}

/// The AWS shared files (``AWSSharedFile``), read from a path.
enum SharedFile {
    static func read(_ path: String) throws(StorageError) -> [String: [String: String]] {
        guard let data = FileManager.default.contents(atPath: path) else {
            if errno == ENOENT || !FileManager.default.fileExists(atPath: path) { return [:] }
            throw FileCopy.failure("cannot read", path, errno)
        }
        return parse(String(decoding: data, as: UTF8.self))
    }

    static func parse(_ text: String) -> [String: [String: String]] { AWSSharedFile.parse(text) }
}

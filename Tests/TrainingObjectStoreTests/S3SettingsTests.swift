import Foundation
import Testing
import TrainingObjectStore
import TrainingS3
import TrainingSigV4

/// Where the S3 endpoint, region and credentials come from: the configuration, then the AWS
/// environment variables, then the shared files' profile, as the AWS CLI resolves them.
@Suite("S3Settings: the configuration, the AWS environment and the profiles, in that order")
struct S3SettingsTests {
    let home = NSTemporaryDirectory() + "trainingd-home-" + UUID().uuidString

    init() throws {
        try FileManager.default.createDirectory(atPath: home + "/.aws", withIntermediateDirectories: true)
        try """
            [default]
            aws_access_key_id = FILEKEY
            aws_secret_access_key = filesecret

            [ci]
            aws_access_key_id = CIKEY
            aws_secret_access_key = cisecret
            aws_session_token = citoken
            """.write(toFile: home + "/.aws/credentials", atomically: true, encoding: .utf8)
        try """
            [default]
            region = eu-west-1
            # a comment
            [profile ci]
            region = ap-south-1
            endpoint_url = http://ci-store:9000
            s3 =
              addressing_style = path
            """.write(toFile: home + "/.aws/config", atomically: true, encoding: .utf8)
    }

    func resolve(_ configured: S3Settings.Configured = .init(), _ environment: [String: String] = [:]) throws -> S3Settings? {
        try S3Settings.resolve(configured, environment: environment, homeDirectory: home, defaultRegion: "us-east-1")
    }

    @Test("the default profile of the shared files: its key, its region, AWS's endpoint with virtual-host addressing")
    func defaultProfile() throws {
        defer { try? FileManager.default.removeItem(atPath: home) }
        let settings = try #require(try resolve())
        #expect(settings.credentials == AWSCredentials(accessKeyID: "FILEKEY", secretAccessKey: "filesecret"))
        #expect(settings.region == "eu-west-1")
        #expect(settings.endpoint == "https://s3.eu-west-1.amazonaws.com")
        #expect(settings.pathStyle == false)
    }

    @Test("AWS_PROFILE picks a profile, with its session token, region and endpoint_url (path-style for a custom endpoint)")
    func namedProfile() throws {
        defer { try? FileManager.default.removeItem(atPath: home) }
        let settings = try #require(try resolve(.init(), ["AWS_PROFILE": "ci"]))
        #expect(settings.credentials == AWSCredentials(accessKeyID: "CIKEY", secretAccessKey: "cisecret", sessionToken: "citoken"))
        #expect(settings.region == "ap-south-1")
        #expect(settings.endpoint == "http://ci-store:9000")
        #expect(settings.pathStyle)
    }

    @Test("the environment wins over the files; the configuration wins over both")
    func precedence() throws {
        defer { try? FileManager.default.removeItem(atPath: home) }
        let environment = ["AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "envsecret", "AWS_SESSION_TOKEN": "envtoken",
                           "AWS_REGION": "us-west-2", "AWS_DEFAULT_REGION": "ignored", "AWS_ENDPOINT_URL": "http://general:1",
                           "AWS_ENDPOINT_URL_S3": "http://s3-only:2"]
        let fromEnvironment = try #require(try resolve(.init(), environment))
        #expect(fromEnvironment.credentials == AWSCredentials(accessKeyID: "ENVKEY", secretAccessKey: "envsecret", sessionToken: "envtoken"))
        #expect(fromEnvironment.region == "us-west-2")
        #expect(fromEnvironment.endpoint == "http://s3-only:2")
        let configured = S3Settings.Configured(endpoint: "http://configured:3", region: "eu-north-1", addressing: "virtual",
                                               accessKeyID: "CONFKEY", secretAccessKey: "confsecret")
        let fromConfiguration = try #require(try resolve(configured, environment))
        #expect(fromConfiguration.credentials == AWSCredentials(accessKeyID: "CONFKEY", secretAccessKey: "confsecret"))
        #expect(fromConfiguration.region == "eu-north-1")
        #expect(fromConfiguration.endpoint == "http://configured:3")
        #expect(fromConfiguration.pathStyle == false)
    }

    @Test("a bucket's own keys over [s3]: what the bucket sets wins, the rest is [s3]'s; keys travel as a pair")
    func bucketOverGlobal() throws {
        defer { try? FileManager.default.removeItem(atPath: home) }
        let global = S3Settings.Configured(endpoint: "http://global:1", region: "eu-west-3", accessKeyID: "GLOBAL", secretAccessKey: "g", sessionToken: "gt")
        let merged = S3Settings.Configured(endpoint: "http://bucket:2", accessKeyID: "BUCKET", secretAccessKey: "b").over(global)
        #expect(merged.endpoint == "http://bucket:2")
        #expect(merged.region == "eu-west-3")
        #expect(merged.accessKeyID == "BUCKET" && merged.secretAccessKey == "b" && merged.sessionToken == nil)
        let onlyEndpoint = S3Settings.Configured(endpoint: "http://bucket:2").over(global)
        #expect(onlyEndpoint.accessKeyID == "GLOBAL" && onlyEndpoint.sessionToken == "gt")
    }

    @Test("no credentials anywhere: no S3 endpoint (only local buckets); a bad endpoint or addressing is an error that says what to set")
    func nothingOrWrong() throws {
        defer { try? FileManager.default.removeItem(atPath: home) }
        #expect(try S3Settings.resolve(.init(), environment: [:], homeDirectory: home + "/nowhere", defaultRegion: "us-east-1") == nil)
        #expect(throws: StorageError.self) { try resolve(.init(endpoint: "ftp://x"), [:]) }
        #expect(throws: StorageError.self) { try resolve(.init(addressing: "sideways"), [:]) }
    }
}

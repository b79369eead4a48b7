import Foundation
public import TrainingObjectStore
public import TrainingS3
public import TrainingSigV4

/// The endpoint URL of a moto server, for configurations and the AWS tools.
extension MotoServer {
    public var endpoint: String { "http://127.0.0.1:\(port)" }

    /// The multipart uploads in progress in `bucket` (their keys), from boto3's ListMultipartUploads.
    public func multipartUploads(in bucket: String) throws -> [String] {
        try boto3("""
            for upload in s3.list_multipart_uploads(Bucket=sys.argv[4]).get("Uploads", []):
                print(upload["Key"])
            """, bucket).split(separator: "\n").map(String.init)
    }

    /// The CRC32 the server keeps for an object (HeadObject with checksums on), or nil: for a
    /// multipart object the checksum of the parts' checksums (AWS adds "-N", the part count).
    public func storedCRC32(bucket: String, key: String) throws -> String? {
        let answer = try boto3("""
            head = s3.head_object(Bucket=sys.argv[4], Key=sys.argv[5], ChecksumMode="ENABLED")
            print(head.get("ChecksumCRC32", ""))
            """, bucket, key).trimmingCharacters(in: .whitespacesAndNewlines)
        return answer.isEmpty ? nil : answer
    }

    /// An object's ETag, quotes removed: a multipart upload's ends in "-N", its part count.
    public func etag(bucket: String, key: String) throws -> String {
        try boto3("""
            print(s3.head_object(Bucket=sys.argv[4], Key=sys.argv[5])["ETag"].strip('"'))
            """, bucket, key).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs `body` with `s3`, a boto3 client of this server, and sys.argv[4...] = `arguments`; its output.
    private func boto3(_ body: String, _ arguments: String...) throws -> String {
        let script = Process()
        script.executableURL = URL(fileURLWithPath: Self.tools + "/python3")
        script.arguments = ["-c", """
            import boto3, sys
            s3 = boto3.client("s3", endpoint_url=sys.argv[1], region_name="us-east-1",
                              aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
            """ + "\n" + body, endpoint, credentials.accessKeyID, credentials.secretAccessKey] + arguments
        let output = Pipe()
        script.standardOutput = output
        try script.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        script.waitUntilExit()
        guard script.terminationStatus == 0 else { throw POSIXError(.EIO) }
        return String(decoding: data, as: UTF8.self)
    }
}

/// moto's S3-compatible server (installed by scripts/test-tools.sh), started once for these tests
/// on a free port of 127.0.0.1 with signature checking on: the three unauthenticated calls moto
/// allows create an IAM user, its key and an allow-all policy; every later call must be signed
/// with that key, so a wrong signature fails as it would against AWS.
public final class MotoServer: @unchecked Sendable {
    public static let tools = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .path + "/.build/test-tools/moto/bin"
    public static let shared: MotoServer? = try? MotoServer()

    public let port: Int
    public let credentials: AWSCredentials
    /// The server process, when this test process started it (nil for one named in the environment).
    private let process: Process?

    public init() throws {
        // One started for the whole run (scripts/s3-test-server.sh, as .ci/run does).
        let environment = ProcessInfo.processInfo.environment
        if let endpoint = environment["TRAININGD_TEST_S3_ENDPOINT"], let id = environment["TRAININGD_TEST_S3_ACCESS_KEY_ID"],
           let secret = environment["TRAININGD_TEST_S3_SECRET_ACCESS_KEY"], let port = URL(string: endpoint)?.port {
            self.port = port
            credentials = AWSCredentials(accessKeyID: id, secretAccessKey: secret)
            process = nil
            return
        }
        let port = freeLoopbackPort()
        self.port = port
        let process = Process()
        self.process = process
        // Through a shell that ends the server when this test process is gone, however it ends.
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "\"$0\" -H 127.0.0.1 -p \"$1\" & server=$!; while kill -0 $PPID 2>/dev/null; do sleep 1; done; kill -9 $server",
                             Self.tools + "/moto_server", String(port)]
        process.environment = ProcessInfo.processInfo.environment.merging(["INITIAL_NO_AUTH_ACTION_COUNT": "3"]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()

        // The IAM user whose key signs every request, made with the three free calls.
        let setup = Process()
        setup.executableURL = URL(fileURLWithPath: Self.tools + "/python3")
        setup.arguments = ["-c", """
            import boto3, json, sys, time
            endpoint = "http://127.0.0.1:%s" % sys.argv[1]
            iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
            for _ in range(100):
                try:
                    iam.create_user(UserName="trainingd"); break
                except Exception:
                    time.sleep(0.1)
            key = iam.create_access_key(UserName="trainingd")["AccessKey"]
            iam.put_user_policy(UserName="trainingd", PolicyName="all", PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
            print(key["AccessKeyId"], key["SecretAccessKey"])
            """, String(port)]
        let output = Pipe()
        setup.standardOutput = output
        try setup.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        setup.waitUntilExit()
        let words = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isWhitespace).map(String.init)
        guard setup.terminationStatus == 0, words.count == 2 else { throw POSIXError(.EIO) }
        credentials = AWSCredentials(accessKeyID: words[0], secretAccessKey: words[1])
    }

    public func client(secret: String? = nil, attempts: Int = 4) -> S3Client {
        var credentials = self.credentials
        if let secret { credentials.secretAccessKey = secret }
        return S3Client(S3Client.Configuration(endpoint: URL(string: "http://127.0.0.1:\(port)")!, region: "us-east-1",
                                               credentials: credentials, attempts: attempts, backoff: 0.05))
    }

    /// A bucket of its own for a test, made with boto3's CreateBucket (the client under test only reads and writes objects).
    public func makeBucket() throws -> String {
        let name = "b-" + UUID().uuidString.lowercased().prefix(12)
        let create = Process()
        create.executableURL = URL(fileURLWithPath: Self.tools + "/python3")
        create.arguments = ["-c", """
            import boto3, sys
            s3 = boto3.client("s3", endpoint_url="http://127.0.0.1:%s" % sys.argv[1], region_name="us-east-1",
                              aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
            s3.create_bucket(Bucket=sys.argv[4])
            """, String(port), credentials.accessKeyID, credentials.secretAccessKey, String(name)]
        try create.run()
        create.waitUntilExit()
        guard create.terminationStatus == 0 else { throw POSIXError(.EIO) }
        return String(name)
    }
}

/// A TCP port of 127.0.0.1 that nothing listens on now (the kernel's pick for a bind to port 0).
public func freeLoopbackPort() -> Int {
    let probe = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(probe) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = bind(probe, $0, length); _ = getsockname(probe, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

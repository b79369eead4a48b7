import Foundation
import Testing
import TrainingObjectStore

/// moto's S3-compatible server (installed by scripts/test-tools.sh), started once for these tests
/// on a free port of 127.0.0.1 with signature checking on: the three unauthenticated calls moto
/// allows create an IAM user, its key and an allow-all policy; every later call must be signed
/// with that key, so a wrong signature fails as it would against AWS.
final class MotoServer: @unchecked Sendable {
    static let tools = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .path + "/.build/test-tools/moto/bin"
    static let shared: MotoServer? = try? MotoServer()

    let port: Int
    let credentials: AWSCredentials
    private let process: Process

    init() throws {
        var port = 0
        let probe = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = bind(probe, $0, length); _ = getsockname(probe, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        close(probe)
        self.port = port
        process = Process()
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

    func client(secret: String? = nil, attempts: Int = 4) -> S3Client {
        var credentials = self.credentials
        if let secret { credentials.secretAccessKey = secret }
        return S3Client(S3Client.Configuration(endpoint: URL(string: "http://127.0.0.1:\(port)")!, region: "us-east-1",
                                               credentials: credentials, attempts: attempts, backoff: 0.05))
    }

    /// A bucket of its own for a test, made with boto3's CreateBucket (the client under test only reads and writes objects).
    func makeBucket() throws -> String {
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

@Suite("S3Client against moto's S3 server, signatures checked", .serialized,
       .enabled(if: FileManager.default.isExecutableFile(atPath: MotoServer.tools + "/moto_server"), "run scripts/test-tools.sh (make test does)"))
struct S3ClientTests {
    let directory = NSTemporaryDirectory() + "trainingd-s3-" + UUID().uuidString

    init() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    func server() throws -> MotoServer { try #require(MotoServer.shared, "moto's server did not start") }

    @Test("an object put from a file comes back byte for byte, keys with spaces and unicode included")
    func roundTrip() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let moto = try server()
        let client = moto.client()
        let bucket = try moto.makeBucket()
        var bytes = [UInt8](repeating: 0, count: 3 * 1024 * 1024 + 17)
        for index in bytes.indices { bytes[index] = UInt8(truncatingIfNeeded: index &* 2654435761 >> 13) }
        try Data(bytes).write(to: URL(fileURLWithPath: directory + "/source"))
        for key in ["plain/model.bin", "with space/and+plus.bin", "unicodé/データ.bin"] {
            try client.putObject(bucket: bucket, key: key, from: directory + "/source")
            try client.getObject(bucket: bucket, key: key, to: directory + "/copy")
            #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/copy")) == Data(bytes), "\(key)")
            #expect(try client.headObject(bucket: bucket, key: key) == UInt64(bytes.count))
        }
        #expect(try client.listObjects(bucket: bucket, prefix: "").map(\.key).sorted()
            == ["plain/model.bin", "unicodé/データ.bin", "with space/and+plus.bin"])
        try client.deleteObject(bucket: bucket, key: "plain/model.bin")
        #expect(try client.headObject(bucket: bucket, key: "plain/model.bin") == nil)
    }

    @Test("a listing of more than 1,000 objects is read across its pages, in key order")
    func pagination() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let moto = try server()
        let client = moto.client()
        let bucket = try moto.makeBucket()
        try Data("x".utf8).write(to: URL(fileURLWithPath: directory + "/one"))
        let keys = (0..<1_005).map { String(format: "data/part-%05d", $0) }
        for key in keys { try client.putObject(bucket: bucket, key: key, from: directory + "/one") }
        try client.putObject(bucket: bucket, key: "other/file", from: directory + "/one")
        let listed = try client.listObjects(bucket: bucket, prefix: "data/")
        #expect(listed.map(\.key) == keys)
        #expect(listed.allSatisfy { $0.size == 1 })
    }

    @Test("a wrong secret is refused as SignatureDoesNotMatch; a missing bucket is NoSuchBucket; a missing key NoSuchKey")
    func errors() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let moto = try server()
        let bucket = try moto.makeBucket()
        do {
            _ = try moto.client(secret: "not-the-secret").listObjects(bucket: bucket, prefix: "")
            Issue.record("a request signed with the wrong secret was accepted")
        } catch {
            #expect(error.code == "SignatureDoesNotMatch" && error.status == 403, "\(error)")
        }
        do {
            _ = try moto.client().listObjects(bucket: "no-such-bucket-here", prefix: "")
            Issue.record("a missing bucket was listed")
        } catch {
            #expect(error.code == "NoSuchBucket", "\(error)")
            #expect(error.description.contains("s3://no-such-bucket-here"))
        }
        do {
            try moto.client().getObject(bucket: bucket, key: "absent", to: directory + "/x")
            Issue.record("a missing key was read")
        } catch {
            #expect(error.code == "NoSuchKey", "\(error)")
            #expect(!FileManager.default.fileExists(atPath: directory + "/x"))
        }
    }
}

@Suite("S3Client retries")
struct S3ClientRetryTests {
    @Test("a server that answers 503 twice, then succeeds, is tried again with backoff; one that keeps failing is reported")
    func retries() throws {
        // A stand-in for S3 that answers 503 SlowDown to its first N requests, then a listing of one object.
        let script = """
            import http.server, sys
            failures = int(sys.argv[1]); seen = [0]
            class Handler(http.server.BaseHTTPRequestHandler):
                def do_GET(self):
                    seen[0] += 1
                    if seen[0] <= failures:
                        body = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
                        self.send_response(503)
                    else:
                        body = b"<ListBucketResult><IsTruncated>false</IsTruncated><Contents><Key>k</Key><Size>3</Size></Contents></ListBucketResult>"
                        self.send_response(200)
                    self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
                def log_message(self, *args): pass
            server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
            open(sys.argv[2] + ".tmp", "w").write(str(server.server_port))
            import os; os.rename(sys.argv[2] + ".tmp", sys.argv[2])
            server.serve_forever()
            """
        for (failures, attempts, succeeds) in [(2, 4, true), (5, 3, false)] {
            let portFile = NSTemporaryDirectory() + "s3-retry-port-" + UUID().uuidString
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = ["-c", script, String(failures), portFile]
            try process.run()
            let pid = process.processIdentifier
            defer {
                kill(pid, SIGKILL)
                unlink(portFile)
            }
            var port: Int?
            for _ in 0..<200 where port == nil {
                port = (try? String(contentsOfFile: portFile, encoding: .utf8)).flatMap { Int($0) }
                if port == nil { usleep(25_000) }
            }
            let endpoint = try #require(port.flatMap { URL(string: "http://127.0.0.1:\($0)") })
            let client = S3Client(S3Client.Configuration(endpoint: endpoint, region: "us-east-1",
                                                         credentials: AWSCredentials(accessKeyID: "a", secretAccessKey: "b"),
                                                         attempts: attempts, backoff: 0.01))
            do {
                let objects = try client.listObjects(bucket: "bucket", prefix: "")
                #expect(succeeds, "it should have given up after \(attempts) attempts")
                #expect(objects == [S3Object(key: "k", size: 3)])
            } catch {
                #expect(!succeeds, "\(error)")
                #expect(error.code == "SlowDown" && error.status == 503)
            }
        }
    }
}

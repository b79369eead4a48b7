import Foundation
import Testing
import TrainingObjectStore
import TrainingS3
import TrainingSigV4
import TrainingTestSupport

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
                #expect(objects == [StoredObject(key: "k", size: 3)])
            } catch {
                #expect(!succeeds, "\(error)")
                #expect(error.code == "SlowDown" && error.status == 503)
            }
        }
    }
}

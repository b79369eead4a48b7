import Foundation
import Testing
import TrainingCore
import TrainingSigV4
import TrainingTestSupport

/// An access key of a test daemon's credentials file.
struct TestAccessKey: Sendable {
    let user: String
    let id: String
    let secret: String
}

/// A daemon serving the SageMaker API on a free loopback port (`[aws_api] listen`), and the AWS
/// tools (scripts/test-tools.sh installs awscli and the SageMaker SDK with its boto3) pointed at it.
struct AWSAPIDaemon {
    static let tools = SpoolEndToEndTests.repository + "/.build/test-tools"
    static let aws = tools + "/awscli/bin/aws"
    static let python = tools + "/sagemaker/bin/python"
    static let rootKey = TestAccessKey(user: "root", id: "AKIATRAININGDROOT001", secret: "trainingd-root-secret-0123456789abcdefghij")
    static let nobodyKey = TestAccessKey(user: "nobody", id: "AKIATRAININGDNOBODY1", secret: "trainingd-nobody-secret-0123456789abcdefg")

    let daemon: DaemonHarness
    let port: Int
    var endpoint: String { "http://127.0.0.1:\(port)" }
    var credentialsFile: String { daemon.root + "/aws-credentials" }

    /// `apiSettings` go in `[aws_api]`, `config` after it.
    init(keys: [TestAccessKey] = [rootKey, nobodyKey], apiSettings: String = "", config: String = "", start: Bool = true) throws {
        port = freeLoopbackPort()
        daemon = try DaemonHarness(config: """
            [daemon]
            region = "us-east-1"
            [aws_api]
            listen = "127.0.0.1:\(port)"
            \(apiSettings)
            \(config)
            """)
        try writeKeys(keys)
        if start { try daemon.start() }
    }

    func writeKeys(_ keys: [TestAccessKey], mode: mode_t = 0o600) throws {
        let text = keys.map { "[\($0.user)-key]\nuser = \($0.user)\naws_access_key_id = \($0.id)\naws_secret_access_key = \($0.secret)\n" }.joined()
        let temporary = credentialsFile + ".new"
        try text.write(toFile: temporary, atomically: false, encoding: .utf8)
        chmod(temporary, mode)
        rename(temporary, credentialsFile)
    }

    func appendConfiguration(_ text: String) throws {
        let handle = try #require(FileHandle(forWritingAtPath: daemon.configPath))
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(("\n" + text + "\n").utf8))
    }

    /// The environment the AWS tools read: this endpoint for SageMaker and CloudWatch Logs, the
    /// key, the region, and no shared files of the machine's.
    func environment(_ key: TestAccessKey, secret: String? = nil) -> [String: String] {
        [
            "AWS_ACCESS_KEY_ID": key.id, "AWS_SECRET_ACCESS_KEY": secret ?? key.secret, "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_SAGEMAKER": endpoint, "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": endpoint,
            "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_PAGER": "", "AWS_MAX_ATTEMPTS": "1",
        ]
    }

    func aws(_ arguments: [String], as key: TestAccessKey = rootKey, secret: String? = nil) throws -> CommandResult {
        try runCommand([Self.aws, "--output", "json"] + arguments, environment: environment(key, secret: secret))
    }

    /// Runs a Python script (with boto3 and the SDK) as `key`; its arguments follow.
    func python(_ script: String, _ arguments: [String] = [], as key: TestAccessKey = rootKey, environment extra: [String: String] = [:],
                timeout: Int = 120) throws -> CommandResult
    {
        let path = daemon.root + "/script-\(UUID().uuidString.prefix(8)).py"
        try script.write(toFile: path, atomically: false, encoding: .utf8)
        return try runCommand([Self.python, path] + arguments, environment: environment(key).merging(extra) { $1 }, timeout: timeout)
    }

    /// The JSON a tool printed: the whole output, or (after the SDK's notices) its last line.
    func json(_ result: CommandResult) throws -> JSONValue {
        if let whole = try? StrictJSONParser.parse(Array(result.stdout.utf8)) { return whole }
        let last = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        return try StrictJSONParser.parse(Array(last.utf8))
    }

    /// A request signed by `key` as it would have been at `date`, sent with curl: the status line and body.
    func signedRequest(target: String, body: String, key: TestAccessKey, date: Date, service: String = "sagemaker") throws -> CommandResult {
        let signer = SigV4Signer(credentials: AWSCredentials(accessKeyID: key.id, secretAccessKey: key.secret), region: "us-east-1", service: service)
        let headers: [(name: String, value: String)] = [
            (name: "Host", value: "127.0.0.1:\(port)"), (name: "Content-Type", value: "application/x-amz-json-1.1"),
            (name: "X-Amz-Target", value: target),
        ] + signer.headers(date: date)
        let authorization = signer.authorization(
            SigV4Signer.Request(method: "POST", path: "/", headers: headers, payloadHash: SigV4Signer.hexSHA256(Data(body.utf8))), date: date)
        var arguments = ["/usr/bin/curl", "-s", "-w", "\n%{http_code}", endpoint + "/", "--data-binary", body]
        for header in headers + [(name: "Authorization", value: authorization)] where header.name != "Host" {
            arguments += ["-H", "\(header.name): \(header.value)"]
        }
        return try runCommand(arguments)
    }

    func definitionFile(_ name: String, _ definition: JSONValue) throws -> String {
        let path = daemon.root + "/" + name + ".json"
        try definition.serialized(.pretty).write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }
}

@Suite("The AWS CLI and boto3 against the TCP API, signed", .enabled(if: getuid() == 0, "needs root (jobs of other users)"))
struct AWSToolsEndToEndTests {
    static func requireTools() throws {
        try #require(FileManager.default.isExecutableFile(atPath: AWSAPIDaemon.aws) && FileManager.default.isExecutableFile(atPath: AWSAPIDaemon.python),
                     "the AWS CLI or the SageMaker SDK is missing: run scripts/test-tools.sh (make test does)")
    }

    @Test("aws sagemaker: create from --cli-input-json, describe, list with paging, stop, wait, the tags calls; aws logs")
    func awsCLI() throws {
        try Self.requireTools()
        let api = try AWSAPIDaemon()
        let daemon = api.daemon
        let quick = try daemon.script("quick.sh", "echo quick job ran")
        let slow = try daemon.script("slow.sh", "echo slow job started; sleep 30")
        for name in ["cli-a", "cli-b"] {
            let file = try api.definitionFile(name, daemon.definition(name: name, image: quick)
                .setting("RoleArn", "arn:aws:iam::000000000000:role/SageMakerRole")
                .setting("Tags", [["Key": "project", "Value": "vision"]]))
            let created = try api.aws(["sagemaker", "create-training-job", "--cli-input-json", "file://" + file])
            #expect(created.status == 0, "\(created.stderr)")
            #expect(try api.json(created)["TrainingJobArn"]?.stringValue == "arn:aws:sagemaker:us-east-1:000000000000:training-job/\(name)")
        }
        let slowFile = try api.definitionFile("cli-slow", daemon.definition(name: "cli-slow", image: slow)
            .setting("RoleArn", "arn:aws:iam::000000000000:role/SageMakerRole"))
        #expect(try api.aws(["sagemaker", "create-training-job", "--cli-input-json", "file://" + slowFile]).status == 0)

        try daemon.waitForEnd("cli-a")
        // The waiter's first look finds the job ended: it returns at once, having parsed the answer.
        let waited = try api.aws(["sagemaker", "wait", "training-job-completed-or-stopped", "--training-job-name", "cli-a"])
        #expect(waited.status == 0, "\(waited.stderr)")
        let described = try api.json(try api.aws(["sagemaker", "describe-training-job", "--training-job-name", "cli-a"]))
        #expect(described["TrainingJobStatus"]?.stringValue == "Completed")
        #expect(described["RoleArn"]?.stringValue == "arn:aws:iam::000000000000:role/SageMakerRole")
        #expect(described["Tags"] == nil, "tags are ListTags', as in SageMaker")

        // The job's log through `aws logs`, as CloudWatch Logs serves SageMaker's.
        let streams = try api.json(try api.aws(["logs", "describe-log-streams", "--log-group-name", "/aws/sagemaker/TrainingJobs",
                                                "--log-stream-name-prefix", "cli-a/"]))
        let stream = try #require(streams["logStreams"]?.arrayValue?.first?["logStreamName"]?.stringValue)
        let events = try api.json(try api.aws(["logs", "get-log-events", "--log-group-name", "/aws/sagemaker/TrainingJobs",
                                               "--log-stream-name", stream, "--start-from-head"]))
        #expect(events["events"]?.arrayValue?.contains { $0["message"] == "quick job ran" } == true, "\(events)")

        // Pages of one job through the service's NextToken; the CLI's own token resumes the listing.
        let first = try api.aws(["sagemaker", "list-training-jobs", "--page-size", "1", "--max-items", "2", "--sort-by", "Name", "--sort-order", "Ascending"])
        #expect(first.status == 0, "\(first.stderr)")
        let firstPage = try api.json(first)
        let firstNames = firstPage["TrainingJobSummaries"]?.arrayValue?.compactMap { $0["TrainingJobName"]?.stringValue } ?? []
        #expect(firstNames == ["cli-a", "cli-b"])
        let token = try #require(firstPage["NextToken"]?.stringValue)
        let rest = try api.json(try api.aws(["sagemaker", "list-training-jobs", "--page-size", "1", "--max-items", "2", "--sort-by", "Name",
                                             "--sort-order", "Ascending", "--starting-token", token]))
        #expect(rest["TrainingJobSummaries"]?.arrayValue?.compactMap { $0["TrainingJobName"]?.stringValue } == ["cli-slow"])

        // Another key's user may read the job but not stop it; its owner may.
        try daemon.waitFor("cli-slow to train", timeout: 30) { daemon.log("cli-slow").contains("slow job started") }
        let denied = try api.aws(["sagemaker", "stop-training-job", "--training-job-name", "cli-slow"], as: AWSAPIDaemon.nobodyKey)
        #expect(denied.status != 0)
        #expect(denied.stderr.contains("AccessDeniedException"), "\(denied.stderr)")
        #expect(denied.stderr.contains("uid 65534"), "\(denied.stderr)")
        #expect(try api.aws(["sagemaker", "describe-training-job", "--training-job-name", "cli-slow"], as: AWSAPIDaemon.nobodyKey).status == 0)
        let stopped = try api.aws(["sagemaker", "stop-training-job", "--training-job-name", "cli-slow"])
        #expect(stopped.status == 0, "\(stopped.stderr)")
        #expect(try daemon.waitForEnd("cli-slow").lifecycle.status == .stopped)
        #expect(try api.aws(["sagemaker", "wait", "training-job-completed-or-stopped", "--training-job-name", "cli-slow"]).status == 0)

        // Tags: from the request, then added and deleted by ARN.
        let arn = "arn:aws:sagemaker:us-east-1:000000000000:training-job/cli-b"
        #expect(try api.aws(["sagemaker", "add-tags", "--resource-arn", arn, "--tags", "Key=team,Value=research"]).status == 0)
        #expect(try api.aws(["sagemaker", "delete-tags", "--resource-arn", arn, "--tag-keys", "project"]).status == 0)
        let tags = try api.json(try api.aws(["sagemaker", "list-tags", "--resource-arn", arn]))
        #expect(tags["Tags"] == [["Key": "team", "Value": "research"]])
        let otherUser = try api.aws(["sagemaker", "add-tags", "--resource-arn", arn, "--tags", "Key=x,Value=y"], as: AWSAPIDaemon.nobodyKey)
        #expect(otherUser.stderr.contains("AccessDeniedException"), "\(otherUser.stderr)")

        // A wrong secret is refused as AWS refuses it, and the job list is not given.
        let wrong = try api.aws(["sagemaker", "list-training-jobs"], secret: "not-the-secret-of-this-key-at-all-000000")
        #expect(wrong.status != 0)
        #expect(wrong.stderr.contains("InvalidSignatureException"), "\(wrong.stderr)")
        #expect(!wrong.stdout.contains("cli-a"))
        // An operation trainingd does not serve is named as such.
        let search = try api.aws(["sagemaker", "list-endpoints"])
        #expect(search.stderr.contains("UnknownOperationException"), "\(search.stderr)")
        #expect(search.stderr.contains("SageMaker.ListEndpoints"), "\(search.stderr)")
    }

    @Test("boto3: the client, its paginator and waiter, CloudWatch Logs pages; other users, wrong and unknown keys refused")
    func boto3() throws {
        try Self.requireTools()
        let api = try AWSAPIDaemon()
        let daemon = api.daemon
        let short = try daemon.script("short.sh", "echo boto3 job; echo second line; echo third line; sleep 2")
        let definitions = try (1...3).map { index in
            try daemon.definition(name: "boto-\(index)", image: short).setting("RoleArn", "arn:aws:iam::000000000000:role/SageMakerRole")
                .setting("Environment", ["TOKEN": .string("secret-of-job-\(index)")]).serialized()
        }
        let result = try api.python("""
            import boto3, botocore, json, sys
            sm = boto3.client("sagemaker")
            for text in sys.argv[1:4]:
                sm.create_training_job(**json.loads(text))
            # The waiter polls every second here (SageMaker's own is 120 s).
            sm.get_waiter("training_job_completed_or_stopped").wait(TrainingJobName="boto-1", WaiterConfig={"Delay": 1, "MaxAttempts": 60})
            described = sm.describe_training_job(TrainingJobName="boto-1")
            pages = [[s["TrainingJobName"] for s in page["TrainingJobSummaries"]]
                     for page in sm.get_paginator("list_training_jobs").paginate(SortBy="Name", SortOrder="Ascending", PaginationConfig={"PageSize": 1})]
            def code(call):
                try:
                    call()
                    return None
                except botocore.exceptions.ClientError as error:
                    return error.response["Error"]["Code"]
            other = boto3.client("sagemaker", aws_access_key_id=sys.argv[4], aws_secret_access_key=sys.argv[5])
            wrong = boto3.client("sagemaker", aws_access_key_id=sys.argv[6], aws_secret_access_key="not-the-secret-of-this-key-at-all-000000")
            unknown = boto3.client("sagemaker", aws_access_key_id="AKIAUNKNOWNKEY000001", aws_secret_access_key="x" * 40)
            # The job's log through CloudWatch Logs' calls, a page of one event at a time.
            logs = boto3.client("logs")
            group = "/aws/sagemaker/TrainingJobs"
            streams = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix="boto-1/", orderBy="LogStreamName")["logStreams"]
            stream = streams[0]["logStreamName"]
            whole = [e["message"] for e in logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]]
            paged, token, first_page = [], None, None
            while True:
                page = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True, limit=1, **({"nextToken": token} if token else {}))
                first_page = first_page if first_page is not None else len(page["events"])
                paged += [e["message"] for e in page["events"]]
                if page["nextForwardToken"] == token:
                    break
                token = page["nextForwardToken"]
            print(json.dumps({
                "streams": [s["logStreamName"] for s in streams], "whole": whole, "paged": paged, "first_page": first_page,
                "timestamps": all(e["timestamp"] > 1_600_000_000_000 for e in logs.get_log_events(logGroupName=group, logStreamName=stream)["events"]),
                "bad_group": code(lambda: logs.describe_log_streams(logGroupName="/aws/lambda/x", logStreamNamePrefix="boto-1/")),
                "bad_stream": code(lambda: logs.get_log_events(logGroupName=group, logStreamName="boto-1/algo-9-1")),
                "status": described["TrainingJobStatus"], "start": described["TrainingStartTime"].isoformat(),
                "request_id": described["ResponseMetadata"]["RequestId"], "pages": pages,
                "other_stop": code(lambda: other.stop_training_job(TrainingJobName="boto-3")),
                "other_describe": code(lambda: other.describe_training_job(TrainingJobName="boto-3")),
                "other_environment": other.describe_training_job(TrainingJobName="boto-3")["Environment"]["TOKEN"],
                "own_environment": sm.describe_training_job(TrainingJobName="boto-3")["Environment"]["TOKEN"],
                "wrong": code(lambda: wrong.list_training_jobs()),
                "unknown": code(lambda: unknown.list_training_jobs()),
                "missing": code(lambda: sm.describe_training_job(TrainingJobName="no-such-job")),
                "stop": code(lambda: sm.stop_training_job(TrainingJobName="boto-3")),
                "bad_tag": code(lambda: sm.add_tags(ResourceArn=described["TrainingJobArn"], Tags=[{"Key": "bad#key", "Value": "v"}])),
                "reserved_tag": code(lambda: sm.add_tags(ResourceArn=described["TrainingJobArn"], Tags=[{"Key": "aws:x", "Value": "v"}])),
                "good_tag": code(lambda: sm.add_tags(ResourceArn=described["TrainingJobArn"], Tags=[{"Key": "team:cv/1", "Value": "é"}])),
            }))
            """, definitions + [AWSAPIDaemon.nobodyKey.id, AWSAPIDaemon.nobodyKey.secret, AWSAPIDaemon.rootKey.id])
        #expect(result.status == 0, "\(result.stderr)")
        let answer = try api.json(result)
        #expect(answer["status"]?.stringValue == "Completed")
        #expect(answer["request_id"]?.stringValue?.count == 36)
        #expect(answer["pages"] == [["boto-1"], ["boto-2"], ["boto-3"]])
        #expect(answer["other_stop"]?.stringValue == "AccessDeniedException")
        #expect(answer["other_describe"] == .null)
        #expect(answer["other_environment"]?.stringValue?.hasPrefix("(hidden") == true, "another user does not see Environment values")
        #expect(answer["own_environment"] == "secret-of-job-3")
        #expect(answer["wrong"]?.stringValue == "InvalidSignatureException")
        #expect(answer["unknown"]?.stringValue == "UnrecognizedClientException")
        #expect(answer["missing"]?.stringValue == "ValidationException")
        #expect(answer["stop"] == .null)
        #expect(answer["bad_tag"] == "ValidationException")
        #expect(answer["reserved_tag"] == "ValidationException")
        #expect(answer["good_tag"] == .null)
        let streams = answer["streams"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(streams.count == 1 && streams[0].hasPrefix("boto-1/algo-1-"), "\(streams)")
        let whole = answer["whole"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(whole.contains("boto3 job") && whole.contains("third line"), "\(whole)")
        #expect(answer["paged"] == answer["whole"])
        #expect(answer["first_page"] == 1)
        #expect(answer["timestamps"] == true)
        #expect(answer["bad_group"]?.stringValue == "ResourceNotFoundException")
        #expect(answer["bad_stream"]?.stringValue == "ResourceNotFoundException")
    }

    @Test("the SDK's log reading on a log of many pages: every line once, and a poll from the last time seen finds the newest lines")
    func longLog() throws {
        try Self.requireTools()
        let api = try AWSAPIDaemon(keys: [AWSAPIDaemon.rootKey])
        let noisy = try api.daemon.script("noisy.sh", "seq 1 25000 | sed 's/^/line /'; sleep 1; echo the last line")
        try api.daemon.submit(api.daemon.definition(name: "noisy", image: noisy), as: "noisy.json")
        try api.daemon.waitForEnd("noisy")
        let result = try api.python("""
            import boto3, json
            from sagemaker.logs import log_stream
            logs = boto3.client("logs")
            group = "/aws/sagemaker/TrainingJobs"
            stream = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix="noisy/")["logStreams"][0]["logStreamName"]
            # What the SDK's multi_stream_iter does: read the stream from a time on, page by page.
            every = [event["message"] for event in log_stream(logs, group, stream, start_time=0)]
            last = logs.get_log_events(logGroupName=group, logStreamName=stream, limit=1)["events"][0]
            polled = logs.get_log_events(logGroupName=group, logStreamName=stream, startTime=last["timestamp"], startFromHead=True)["events"]
            print(json.dumps({"count": every.count("line 12345"), "lines": len([m for m in every if m.startswith("line ")]),
                              "last": last["message"], "polled": [e["message"] for e in polled][-3:]}))
            """)
        #expect(result.status == 0, "\(result.stderr)")
        let answer = try api.json(result)
        #expect(answer["count"] == 1)
        #expect(answer["lines"] == 25000)
        #expect(answer["last"] == "the last line")
        #expect(answer["polled"]?.arrayValue?.last == "the last line", "\(answer)")
    }

    @Test("a signed request replayed after five minutes is refused; unsigned ones too; a reload brings in a new key")
    func replayAndReload() throws {
        try Self.requireTools()
        let api = try AWSAPIDaemon(keys: [AWSAPIDaemon.rootKey])
        let now = try api.signedRequest(target: "SageMaker.ListTrainingJobs", body: "{}", key: AWSAPIDaemon.rootKey, date: Date())
        #expect(now.stdout.hasSuffix("\n200"), "\(now.stdout)")
        let replayed = try api.signedRequest(target: "SageMaker.ListTrainingJobs", body: "{}", key: AWSAPIDaemon.rootKey, date: Date().addingTimeInterval(-360))
        #expect(replayed.stdout.hasSuffix("\n400"), "\(replayed.stdout)")
        #expect(replayed.stdout.contains("\"__type\":\"InvalidSignatureException\""), "\(replayed.stdout)")
        #expect(replayed.stdout.contains("Signature expired"), "\(replayed.stdout)")
        // Signed for the logs service but calling SageMaker's: the scope must match the operation.
        let wrongService = try api.signedRequest(target: "SageMaker.ListTrainingJobs", body: "{}", key: AWSAPIDaemon.rootKey, date: Date(), service: "logs")
        #expect(wrongService.stdout.contains("InvalidSignatureException"), "\(wrongService.stdout)")
        let unsigned = try runCommand(["/usr/bin/curl", "-s", "-w", "\n%{http_code}", api.endpoint + "/", "-H", "X-Amz-Target: SageMaker.ListTrainingJobs",
                                       "-H", "Content-Type: application/x-amz-json-1.1", "--data-binary", "{}"])
        #expect(unsigned.stdout.contains("MissingAuthenticationTokenException"), "\(unsigned.stdout)")
        // The Unix socket needs no signature: the kernel says who is calling.
        #expect(try api.daemon.jobctl(["list"]).status == 0)

        let before = try api.signedRequest(target: "SageMaker.ListTrainingJobs", body: "{}", key: AWSAPIDaemon.nobodyKey, date: Date())
        #expect(before.stdout.contains("UnrecognizedClientException"), "\(before.stdout)")
        try api.writeKeys([AWSAPIDaemon.rootKey, AWSAPIDaemon.nobodyKey])
        kill(api.daemon.process!.processIdentifier, SIGHUP)
        try api.daemon.waitFor("the reload to bring in nobody's key", timeout: 20) {
            try api.signedRequest(target: "SageMaker.ListTrainingJobs", body: "{}", key: AWSAPIDaemon.nobodyKey, date: Date()).stdout.hasSuffix("\n200")
        }
    }

    @Test("a credentials file others can read, or a non-loopback address, stops the daemon from starting, saying why")
    func refusedSetUps() throws {
        let readable = try AWSAPIDaemon(start: false)
        try readable.writeKeys([AWSAPIDaemon.rootKey], mode: 0o644)
        try readable.daemon.start(waitForListening: false)
        #expect(readable.daemon.waitForExit(timeout: 20) != 0)
        #expect(readable.daemon.stderr.contains("chmod 600"), "\(readable.daemon.stderr)")

        let missing = try AWSAPIDaemon(start: false)
        unlink(missing.credentialsFile)
        try missing.daemon.start(waitForListening: false)
        #expect(missing.daemon.waitForExit(timeout: 20) != 0)
        #expect(missing.daemon.stderr.contains("does not exist: create it (mode 0600"), "\(missing.daemon.stderr)")

        let remote = try AWSAPIDaemon(config: "", start: false)
        try "[aws_api]\nlisten = \"0.0.0.0:\(remote.port)\"\n".write(toFile: remote.daemon.configPath, atomically: true, encoding: .utf8)
        try remote.daemon.start(waitForListening: false)
        #expect(remote.daemon.waitForExit(timeout: 20) != 0)
        #expect(remote.daemon.stderr.contains("not a loopback address"), "\(remote.daemon.stderr)")
    }
}

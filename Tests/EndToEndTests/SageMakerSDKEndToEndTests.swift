import Foundation
import Testing
import TrainingCore
import TrainingTestSupport

/// The SageMaker Python SDK (PyPI) against trainingd and the test S3 server, and the AWS world a
/// job finds: the S3 endpoint, trainingd's own API, and its owner's key.
@Suite("The SageMaker Python SDK and a job's AWS world", .enabled(if: getuid() == 0, "needs root (jobs of other users)"),
       .enabled(if: FileManager.default.isExecutableFile(atPath: MotoServer.tools + "/moto_server"), "run scripts/test-tools.sh (make test does)"))
struct SageMakerSDKEndToEndTests {
    /// A key of moto's IAM (so that S3 accepts it), made for `user` with the administrator's key.
    static func motoKey(_ moto: MotoServer, for user: String) throws -> TestAccessKey {
        let result = try runCommand([AWSAPIDaemon.python, "-c", """
            import boto3, json, sys, uuid
            iam = boto3.client("iam", endpoint_url=sys.argv[1], region_name="us-east-1", aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
            name = "user-" + uuid.uuid4().hex[:8]
            iam.create_user(UserName=name)
            key = iam.create_access_key(UserName=name)["AccessKey"]
            iam.put_user_policy(UserName=name, PolicyName="all", PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
            print(key["AccessKeyId"], key["SecretAccessKey"])
            """, moto.endpoint, moto.credentials.accessKeyID, moto.credentials.secretAccessKey])
        let words = result.stdout.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        try #require(result.status == 0 && words.count == 2, "\(result.stderr)")
        return TestAccessKey(user: user, id: words[0], secret: words[1])
    }

    static func s3Configuration(_ moto: MotoServer) -> String {
        """
        [s3]
        endpoint = "\(moto.endpoint)"
        region = "us-east-1"
        access_key_id = "\(moto.credentials.accessKeyID)"
        secret_access_key = "\(moto.credentials.secretAccessKey)"
        """
    }

    @Test("Estimator.fit(wait=True, logs=True) ends Completed, prints the job's log lines, and model_data is the artifact")
    func estimatorFit() throws {
        try AWSToolsEndToEndTests.requireTools()
        let moto = try #require(MotoServer.shared, "moto's server did not start")
        let bucket = try moto.makeBucket()
        // The SDK has one key for S3 and SageMaker alike: the S3 server's key is mapped to root here.
        let key = TestAccessKey(user: "root", id: moto.credentials.accessKeyID, secret: moto.credentials.secretAccessKey)
        let api = try AWSAPIDaemon(keys: [key], config: Self.s3Configuration(moto), start: false)
        let train = try api.daemon.script("sdk-train.sh", """
            echo "sdk job: hyperparameters $(cat /opt/ml/input/config/hyperparameters.json)"
            for epoch in 1 2 3; do echo "epoch $epoch loss 0.$((4 - epoch))"; done
            cp /opt/ml/input/data/train/train.csv /opt/ml/model/seen.csv
            echo trained > /opt/ml/model/model.txt
            """)
        try api.appendConfiguration("[images.\"trainingd/sdk-example:1\"]\nentrypoint = [\"\(train)\"]")
        try api.daemon.start()
        let sdkConfig = api.daemon.root + "/sagemaker-config.yaml"
        try "SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n"
            .write(toFile: sdkConfig, atomically: false, encoding: .utf8)
        let result = try api.python("""
            import boto3, sys, sagemaker
            from sagemaker.estimator import Estimator
            bucket = sys.argv[1]
            boto_session = boto3.Session(region_name="us-east-1")
            boto_session.client("s3").put_object(Bucket=bucket, Key="sdk-input/train.csv", Body=b"1,2\\n3,4\\n")
            session = sagemaker.Session(boto_session=boto_session)
            estimator = Estimator(image_uri="trainingd/sdk-example:1", role="arn:aws:iam::000000000000:role/SageMakerRole",
                                  instance_count=1, instance_type="ml.m5.large", output_path="s3://%s/sdk-output" % bucket,
                                  sagemaker_session=session, hyperparameters={"epochs": 3})
            estimator.fit({"train": "s3://%s/sdk-input/" % bucket}, wait=True, logs="All", job_name="sdk-fit")
            print("MODEL_DATA", estimator.model_data)
            boto_session.client("s3").download_file(bucket, "sdk-output/sdk-fit/output/model.tar.gz", sys.argv[2])
            """, [bucket, api.daemon.root + "/downloaded.tar.gz"], as: key,
            environment: ["AWS_ENDPOINT_URL_S3": moto.endpoint, "SAGEMAKER_USER_CONFIG_OVERRIDE": sdkConfig], timeout: 180)
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)\n\(api.daemon.stderr)")
        // The SDK printed the job's own lines, which it read through CloudWatch Logs' calls.
        #expect(result.stdout.contains("sdk job: hyperparameters {\"epochs\":\"3\"}") || result.stdout.contains("sdk job: hyperparameters {\"epochs\": \"3\"}"),
                "\(result.stdout)")
        for epoch in 1...3 { #expect(result.stdout.contains("epoch \(epoch) loss 0.\(4 - epoch)"), "\(result.stdout)") }
        #expect(result.stdout.contains("MODEL_DATA s3://\(bucket)/sdk-output/sdk-fit/output/model.tar.gz"), "\(result.stdout)")
        let job = try #require(try api.daemon.job("sdk-fit"))
        #expect(job.lifecycle.status == .completed)
        #expect(api.daemon.archiveFile(api.daemon.root + "/downloaded.tar.gz", "model.txt") == "trained\n")
        #expect(api.daemon.archiveFile(api.daemon.root + "/downloaded.tar.gz", "seen.csv") == "1,2\n3,4\n")
    }

    @Test("a job gets the S3 endpoint, trainingd's API and its owner's key (never the daemon's), and uses them with boto3")
    func jobAWSWorld() throws {
        try AWSToolsEndToEndTests.requireTools()
        let moto = try #require(MotoServer.shared, "moto's server did not start")
        let bucket = try moto.makeBucket()
        let nobody = try Self.motoKey(moto, for: "nobody")
        let api = try AWSAPIDaemon(keys: [AWSAPIDaemon.rootKey, nobody], config: Self.s3Configuration(moto))
        let daemon = api.daemon
        let script = daemon.root + "/inside.py"
        try """
            import boto3, os, sys
            print("key", os.environ.get("AWS_ACCESS_KEY_ID"))
            print("s3", os.environ.get("AWS_ENDPOINT_URL_S3"))
            print("api", os.environ.get("AWS_ENDPOINT_URL_SAGEMAKER"))
            boto3.client("s3").put_object(Bucket=sys.argv[1], Key="from-job/hello.txt", Body=b"written by the job")
            me = boto3.client("sagemaker").describe_training_job(TrainingJobName=os.environ["TRAINING_JOB_NAME"])
            print("described itself:", me["TrainingJobStatus"])
            """.write(toFile: script, atomically: false, encoding: .utf8)
        chmod(script, 0o644)
        let image = try daemon.script("world.sh", "exec \(AWSAPIDaemon.python) \(script) \(bucket)")
        let definition = daemon.definition(name: "world", image: image)
            .setting("OutputDataConfig", ["S3OutputPath": .string("s3://\(bucket)/out")])
            .setting("RoleArn", "arn:aws:iam::000000000000:role/SageMakerRole")
        // Submitted by nobody, through the API with nobody's key: the job is nobody's.
        let file = try api.definitionFile("world", definition)
        chmod(file, 0o644)
        let created = try api.aws(["sagemaker", "create-training-job", "--cli-input-json", "file://" + file], as: nobody)
        #expect(created.status == 0, "\(created.stderr)")
        let job = try daemon.waitForEnd("world", timeout: 60)
        let log = daemon.log("world")
        #expect(job.lifecycle.status == .completed, "\(job.failureReason ?? "") \(log)")
        #expect(job.owner.uid == 65534)
        #expect(log.contains("key \(nobody.id)"), "\(log)")
        #expect(!log.contains(moto.credentials.accessKeyID))
        #expect(log.contains("s3 \(moto.endpoint)"), "\(log)")
        #expect(log.contains("api \(api.endpoint)"), "\(log)")
        #expect(log.contains("described itself: InProgress"), "\(log)")
        let copy = daemon.root + "/hello.txt"
        try moto.client().getObject(bucket: bucket, key: "from-job/hello.txt", to: copy)
        #expect(try String(contentsOfFile: copy, encoding: .utf8) == "written by the job")

        // job_credentials = "none": the endpoints still, but no key.
        let bare = try AWSAPIDaemon(keys: [AWSAPIDaemon.rootKey], apiSettings: "job_credentials = \"none\"", config: Self.s3Configuration(moto))
        let env = try bare.daemon.script("env.sh", "echo key=${AWS_ACCESS_KEY_ID:-none} s3=$AWS_ENDPOINT_URL_S3")
        try bare.daemon.submit(bare.daemon.definition(name: "bare", image: env), as: "bare.json")
        #expect(try bare.daemon.waitForEnd("bare").lifecycle.status == .completed)
        #expect(bare.daemon.log("bare").contains("key=none s3=\(moto.endpoint)"), "\(bare.daemon.log("bare"))")
    }

    @Test("the training toolkit downloads sagemaker_submit_directory from s3:// with the job's AWS world, as a script-mode estimator's job does")
    func toolkitSubmitDirectoryFromS3() throws {
        try #require(FileManager.default.isExecutableFile(atPath: ToolkitEndToEndTests.toolkit + "/bin/train"),
                     "the toolkit is missing: run scripts/test-tools.sh (make test does)")
        let moto = try #require(MotoServer.shared, "moto's server did not start")
        let bucket = try moto.makeBucket()
        // The owner's key is one the S3 server knows (a MinIO user's, say): the job is given it.
        let key = TestAccessKey(user: "root", id: moto.credentials.accessKeyID, secret: moto.credentials.secretAccessKey)
        let api = try AWSAPIDaemon(keys: [key], config: Self.s3Configuration(moto))
        let daemon = api.daemon
        let (source, _) = try ToolkitEndToEndTests.scriptModeInputs(in: daemon.root, script: """
            import os
            print("user script ran from", os.path.dirname(os.path.abspath(__file__)))
            open(os.path.join(os.environ["SM_MODEL_DIR"], "model.txt"), "w").write("from s3 source")
            """)
        // What the SDK uploads for source_dir: sourcedir.tar.gz under the job's code location.
        let archive = daemon.root + "/sourcedir.tar.gz"
        #expect(try runCommand(["/bin/tar", "-czf", archive, "-C", source, "."]).status == 0)
        try moto.client().putObject(bucket: bucket, key: "code/toolkit-s3/source/sourcedir.tar.gz", from: archive)
        let definition = daemon.definition(name: "toolkit-s3", image: ToolkitEndToEndTests.toolkit + "/bin/train")
            .setting("HyperParameters", [
                "sagemaker_program": "\"train.py\"",
                "sagemaker_submit_directory": .string("\"s3://\(bucket)/code/toolkit-s3/source/sourcedir.tar.gz\""),
                "sagemaker_region": "\"us-east-1\"", "sagemaker_job_name": "\"toolkit-s3\"", "sagemaker_container_log_level": "20",
            ])
            .setting("OutputDataConfig", ["S3OutputPath": .string("s3://\(bucket)/out")])
        try daemon.submit(definition, as: "toolkit-s3.json")
        let job = try daemon.waitForEnd("toolkit-s3", timeout: 120)
        let log = daemon.log("toolkit-s3")
        #expect(job.lifecycle.status == .completed, "\(job.failureReason ?? "") \(log)")
        #expect(log.contains("user script ran from"), "\(log)")
        #expect(job.modelArtifacts == "s3://\(bucket)/out/toolkit-s3/output/model.tar.gz")
    }
}

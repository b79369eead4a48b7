import Foundation
import Testing
@testable import TrainingCore
@testable import TrainingStaging

/// `SM_*` and the config files as AWS's training toolkit and SageMaker make them.
@Suite("The training toolkit's view")
struct ToolkitEnvironmentTests {
    static func configuration(hyperParameters: [String: String], _ mutate: (inout CreateTrainingJobRequest) -> Void = { _ in }) throws -> AlgorithmConfiguration {
        try AlgorithmConfigurationTests.configuration {
            $0.hyperParameters = hyperParameters
            mutate(&$0)
        }
    }

    /// What the SageMaker SDK sends for `{"criterion": "gini", "n": 3, "flags": [1, 2]}` in script mode.
    static let sdkHyperparameters = [
        "criterion": #""gini""#, "n": "3", "flags": "[1, 2]", "rate": "0.5", "plain": "not json", "verbose": "true",
        "sagemaker_program": #""train.py""#, "sagemaker_submit_directory": #""s3://b/code/sourcedir.tar.gz""#,
        "sagemaker_container_log_level": "20", "sagemaker_region": #""us-east-1""#, "sagemaker_mpi_enabled": "true",
        "_tuning_objective_metric": #""loss""#,
    ]

    @Test("SM_HPS and SM_HP_* hold the decoded user hyperparameters; SageMaker's keys are not among them")
    func hyperparameters() throws {
        let environment = try Self.configuration(hyperParameters: Self.sdkHyperparameters).environment(jobArn: "arn:j", cpuCount: 2, gpuCount: 0)
        #expect(environment["SM_HPS"] == #"{"criterion":"gini","flags":[1,2],"n":3,"plain":"not json","rate":0.5,"verbose":true}"#)
        #expect(environment["SM_HP_CRITERION"] == "gini")
        #expect(environment["SM_HP_N"] == "3")
        #expect(environment["SM_HP_FLAGS"] == "[1,2]")
        #expect(environment["SM_HP_PLAIN"] == "not json")
        #expect(environment["SM_HP_VERBOSE"] == "true")
        #expect(environment.keys.filter { $0.hasPrefix("SM_HP_SAGEMAKER") || $0 == "SM_HP__TUNING_OBJECTIVE_METRIC" }.isEmpty)
        #expect(environment["SM_USER_ARGS"] == #"["--criterion","gini","--flags","[1,2]","-n","3","--plain","not json","--rate","0.5","--verbose","True"]"#)
    }

    @Test("the toolkit's other variables: entry point, module, framework parameters, groups, SM_TRAINING_ENV")
    func derived() throws {
        let environment = try Self.configuration(hyperParameters: Self.sdkHyperparameters).environment(
            jobArn: "arn:j", cpuCount: 2, gpuCount: 0, imageEnvironment: ["SAGEMAKER_TRAINING_MODULE": "framework.training:main"])
        #expect(environment["SM_USER_ENTRY_POINT"] == "train.py")
        #expect(environment["SM_MODULE_NAME"] == "train")
        #expect(environment["SM_MODULE_DIR"] == "s3://b/code/sourcedir.tar.gz")
        #expect(environment["SM_LOG_LEVEL"] == "20")
        #expect(environment["SM_FRAMEWORK_MODULE"] == "framework.training:main")
        #expect(environment["SM_FRAMEWORK_PARAMS"] == #"{"sagemaker_mpi_enabled":true}"#)
        #expect(environment["SM_CURRENT_INSTANCE_GROUP"] == "homogeneousCluster")
        #expect(environment["SM_CURRENT_INSTANCE_GROUP_HOSTS"] == #"["algo-1","algo-2"]"#)
        #expect(environment["SM_INSTANCE_GROUPS"] == #"["homogeneousCluster"]"#)
        #expect(environment["SM_DISTRIBUTION_INSTANCE_GROUPS"] == #"["homogeneousCluster"]"#)
        #expect(environment["SM_IS_HETERO"] == "false")
        #expect(environment["SM_MASTER_ADDR"] == "algo-1")
        let training = try StrictJSONParser.parse(Array((environment["SM_TRAINING_ENV"] ?? "").utf8))
        #expect(training["hyperparameters"]?["n"] == .integer(3))
        #expect(training["hyperparameters"]?["sagemaker_program"] == nil)
        #expect(training["is_master"] == .bool(false))
        #expect(training["master_hostname"] == "algo-1")
        #expect(training["job_name"] == "j")
        #expect(training["channel_input_dirs"]?["train"] == "/opt/ml/input/data/train")
        #expect(training["module_name"] == "train")
        #expect(training["num_cpus"] == .integer(2))
    }

    @Test("without SageMaker's keys the defaults apply")
    func defaults() throws {
        let environment = try Self.configuration(hyperParameters: ["lr": "0.1"]).environment(jobArn: "arn:j", cpuCount: 1, gpuCount: 0)
        #expect(environment["SM_USER_ENTRY_POINT"] == "")
        #expect(environment["SM_MODULE_DIR"] == "/opt/ml/code")
        #expect(environment["SM_LOG_LEVEL"] == "20")
        #expect(environment["SM_FRAMEWORK_PARAMS"] == "{}")
        #expect(environment["SM_DISTRIBUTION_INSTANCE_GROUPS"] == "[]")
        #expect(environment["SM_USER_ARGS"] == #"["--lr","0.1"]"#)
    }

    @Test("debughookconfig, profilerconfig and tensorboardoutputconfig when set; trainingjobconfig always")
    func configFiles() throws {
        func files(_ configuration: AlgorithmConfiguration) -> [String: String] {
            Dictionary(uniqueKeysWithValues: configuration.configFiles(jobArn: "arn:aws:sagemaker:r:1:training-job/j").map { ($0.name, String(decoding: $0.contents, as: UTF8.self)) })
        }
        let plain = files(try Self.configuration(hyperParameters: [:]))
        #expect(plain["debughookconfig.json"] == nil)
        #expect(plain["profilerconfig.json"] == nil)
        #expect(plain["tensorboardoutputconfig.json"] == nil)
        let job = try StrictJSONParser.parse(Array((plain["trainingjobconfig.json"] ?? "").utf8))
        #expect(job["TrainingJobName"] == "j")
        #expect(job["TrainingJobArn"] == "arn:aws:sagemaker:r:1:training-job/j")
        #expect(job["AlgorithmSpecification"]?["TrainingImage"] == "/bin/true")
        #expect(job["OutputDataConfig"]?["S3OutputPath"] == "file:///o/")

        let configured = files(try Self.configuration(hyperParameters: [:]) {
            $0.debugHookConfig = ["S3OutputPath": "file:///dbg/", "HookParameters": ["save_interval": "10"]]
            $0.profilerConfig = ["S3OutputPath": "file:///prof/", "ProfilingIntervalInMilliseconds": 500]
            $0.tensorBoardOutputConfig = ["S3OutputPath": "file:///tb/"]
        })
        #expect(configured["debughookconfig.json"] == #"{"LocalPath":"/opt/ml/output/tensors","S3OutputPath":"file:///dbg/","HookParameters":{"save_interval":"10"}}"#)
        #expect(configured["profilerconfig.json"] == #"{"S3OutputPath":"file:///prof/","ProfilingIntervalInMilliseconds":500}"#)
        #expect(configured["tensorboardoutputconfig.json"] == #"{"LocalPath":"/opt/ml/output/tensorboard","S3OutputPath":"file:///tb/"}"#)
    }
}

import Foundation
import Testing
import TrainingControl
import TrainingCore
import TrainingStore

/// The details of SageMaker's contract that real algorithms notice: intermediate and TensorBoard
/// output synced while the job runs, the Debugger, profiler, TensorBoard and training job config
/// files, the `SM_*` variables as the training toolkit computes them, and a FailureReason that
/// keeps its exit code while the whole failure text stays available.
@Suite("Contract details real algorithms notice")
struct ContractDetailsEndToEndTests {
    /// `NAME value` lines the algorithm printed after `tag`, by name (the log prefixes each line with a timestamp).
    static func printed(_ log: String, _ tag: String) -> [String: String] {
        var values: [String: String] = [:]
        for line in log.split(separator: "\n") {
            guard let range = line.range(of: " \(tag) ") else { continue }
            let rest = line[range.upperBound...]
            let separator = tag == "ENV" ? "=" : " "
            guard let split = rest.range(of: separator) else { continue }
            values[String(rest[..<split.lowerBound])] = String(rest[split.upperBound...])
        }
        return values
    }

    static func sortedJSON(_ text: String?) -> String? {
        text.flatMap { try? StrictJSONParser.parse(Array($0.utf8)) }?.serialized(.compactSorted)
    }

    @Test("while it runs, intermediate and TensorBoard output are at their locations; it is given every config file and the toolkit's SM_* variables")
    func algorithmView() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        // Prints what it is given, writes intermediate and TensorBoard output, and waits (at most 20 s) to be released.
        let image = try daemon.script("contract.sh", """
            for file in /opt/ml/input/config/*.json; do echo "CONFIG $(basename "$file") $(cat "$file")"; done
            env | grep '^SM_' | sort | sed 's/^/ENV /'
            echo "epoch 1" > /opt/ml/output/intermediate/progress.txt
            mkdir -p /opt/ml/output/intermediate/plots
            echo "png" > /opt/ml/output/intermediate/plots/.loss.tmp && mv /opt/ml/output/intermediate/plots/.loss.tmp /opt/ml/output/intermediate/plots/loss.png
            mkdir -p /opt/ml/output/tensorboard/train
            echo "events" > /opt/ml/output/tensorboard/train/events.out.tfevents.1
            echo "WAITING"
            i=0
            while [ ! -e /opt/ml/output/release ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done
            echo "done" > /opt/ml/output/intermediate/final.txt
            """)
        let definition = daemon.definition(name: "contract", image: image)
            .setting("HyperParameters", [
                "criterion": #""gini""#, "epochs": "3", "layers": "[64, 32]", "name": "plain text",
                "sagemaker_program": #""train.py""#, "sagemaker_region": #""us-east-1""#,
            ])
            .setting("DebugHookConfig", ["S3OutputPath": .string("file://\(daemon.root)/debug/"), "HookParameters": ["save_interval": "5"]])
            .setting("ProfilerConfig", ["S3OutputPath": .string("file://\(daemon.root)/profiler/"), "ProfilingIntervalInMilliseconds": 500])
            .setting("TensorBoardOutputConfig", ["S3OutputPath": .string("file://\(daemon.root)/tensorboard/")])
        try daemon.submit(definition, as: "contract.json")

        try daemon.waitFor("the algorithm to print what it is given", timeout: 20) { daemon.log("contract").contains(" WAITING") }
        let log = daemon.log("contract")
        let configs = Self.printed(log, "CONFIG")
        #expect(Self.sortedJSON(configs["debughookconfig.json"]) == #"{"HookParameters":{"save_interval":"5"},"LocalPath":"/opt/ml/output/tensors","S3OutputPath":"file://\#(daemon.root)/debug/"}"#)
        #expect(Self.sortedJSON(configs["profilerconfig.json"]) == #"{"ProfilingIntervalInMilliseconds":500,"S3OutputPath":"file://\#(daemon.root)/profiler/"}"#)
        #expect(Self.sortedJSON(configs["tensorboardoutputconfig.json"]) == #"{"LocalPath":"/opt/ml/output/tensorboard","S3OutputPath":"file://\#(daemon.root)/tensorboard/"}"#)
        let jobConfig = configs["trainingjobconfig.json"].flatMap { try? StrictJSONParser.parse(Array($0.utf8)) }
        #expect(jobConfig?["TrainingJobName"] == "contract")
        #expect(jobConfig?["TrainingJobArn"]?.stringValue?.hasSuffix(":training-job/contract") == true)
        #expect(jobConfig?["HyperParameters"]?["criterion"] == #""gini""#, "the request as submitted")
        #expect(configs["hyperparameters.json"] != nil && configs["resourceconfig.json"] != nil && configs["inputdataconfig.json"] != nil)

        let environment = Self.printed(log, "ENV")
        #expect(environment["SM_HPS"] == #"{"criterion":"gini","epochs":3,"layers":[64,32],"name":"plain text"}"#)
        #expect(environment["SM_HP_CRITERION"] == "gini")
        #expect(environment["SM_HP_EPOCHS"] == "3")
        #expect(environment["SM_HP_LAYERS"] == "[64,32]")
        #expect(environment["SM_HP_NAME"] == "plain text")
        #expect(environment.keys.filter { $0.hasPrefix("SM_HP_SAGEMAKER") }.isEmpty)
        #expect(environment["SM_USER_ENTRY_POINT"] == "train.py")
        #expect(environment["SM_MODULE_NAME"] == "train")
        #expect(environment["SM_USER_ARGS"] == #"["--criterion","gini","--epochs","3","--layers","[64,32]","--name","plain text"]"#)
        #expect(environment["SM_OUTPUT_INTERMEDIATE_DIR"] == "/opt/ml/output/intermediate")
        #expect(environment["SM_CURRENT_INSTANCE_GROUP"] == "homogeneousCluster")
        let training = environment["SM_TRAINING_ENV"].flatMap { try? StrictJSONParser.parse(Array($0.utf8)) }
        #expect(training?["hyperparameters"]?["epochs"] == .integer(3))
        #expect(training?["job_name"] == "contract")
        #expect(training?["is_master"] == .bool(true))

        let intermediate = daemon.root + "/output/contract/output/intermediate"
        func text(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }
        try daemon.waitFor("intermediate and TensorBoard output at their locations", timeout: 20) {
            text(intermediate + "/progress.txt") == "epoch 1\n" && text(intermediate + "/plots/loss.png") == "png\n"
                && text(daemon.root + "/tensorboard/train/events.out.tfevents.1") == "events\n"
        }
        #expect(try daemon.job("contract")?.lifecycle.secondary == .training, "the copies are made while the algorithm runs")

        FileManager.default.createFile(atPath: daemon.root + "/jobs/contract/algo-1/output/release", contents: Data())
        let job = try daemon.waitForEnd("contract", timeout: 30)
        #expect(job.status == .completed, "\(job.failureReason ?? "")")
        #expect(text(intermediate + "/final.txt") == "done\n", "what was written last is copied at the end")
    }

    @Test("a job that ends before any sync watcher starts still has its intermediate and TensorBoard output delivered")
    func shortJobOutputsDelivered() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let image = try daemon.script("quick.sh", """
            mkdir -p /opt/ml/output/tensorboard /opt/ml/output/intermediate
            echo scalars > /opt/ml/output/tensorboard/events.out
            echo step > /opt/ml/output/intermediate/progress.txt
            """)
        let definition = daemon.definition(name: "quick-outputs", image: image)
            .setting("TensorBoardOutputConfig", ["S3OutputPath": .string("file://\(daemon.root)/tensorboard/")])
        try daemon.submit(definition, as: "quick-outputs.json")
        #expect(try daemon.waitForEnd("quick-outputs").status == .completed)
        #expect((try? String(contentsOfFile: daemon.root + "/tensorboard/events.out", encoding: .utf8)) == "scalars\n")
        #expect((try? String(contentsOfFile: daemon.root + "/output/quick-outputs/output/intermediate/progress.txt", encoding: .utf8)) == "step\n")
    }

    @Test("no SM_HP_SAGEMAKER_* variable and no sagemaker_ key in SM_HPS reach the algorithm")
    func noSageMakerHyperparameters() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let image = try daemon.script("env.sh", "env | grep '^SM_' | sort | sed 's/^/ENV /'")
        let definition = daemon.definition(name: "sagemaker-keys", image: image).setting("HyperParameters", [
            "lr": "0.1", "sagemaker_program": #""train.py""#, "sagemaker_submit_directory": #""file:///code""#,
            "sagemaker_container_log_level": "20", "sagemaker_job_name": #""sagemaker-keys""#, "_tuning_objective_metric": #""loss""#,
        ])
        try daemon.submit(definition, as: "sagemaker-keys.json")
        #expect(try daemon.waitForEnd("sagemaker-keys").status == .completed)
        let environment = Self.printed(daemon.log("sagemaker-keys"), "ENV")
        #expect(environment["SM_HP_LR"] == "0.1")
        #expect(environment.keys.filter { $0.hasPrefix("SM_HP_SAGEMAKER") || $0.hasPrefix("SM_HP__") }.sorted() == [])
        #expect(environment["SM_HPS"] == #"{"lr":0.1}"#)
        #expect(environment["SM_MODULE_DIR"] == "file:///code")
    }

    @Test("a long traceback: FailureReason is SageMaker's first characters and keeps ', exit code: N'; describe has the whole text and the log's last lines")
    func longFailure() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let image = try daemon.script("traceback.sh", """
            for i in $(seq 1 30); do echo "training step $i"; done
            {
              echo "Traceback (most recent call last):"
              for i in $(seq 1 60); do
                echo "  File \\"/opt/ml/code/train.py\\", line $i, in step_$i"
                echo "    state = step_$((i + 1))(state)"
              done
              echo "ValueError: the learning rate must be positive"
            } > /opt/ml/output/failure
            exit 3
            """)
        try daemon.submit(daemon.definition(name: "traceback", image: image), as: "traceback.json")
        let job = try daemon.waitForEnd("traceback")
        #expect(job.status == .failed)
        let reason = job.failureReason ?? ""
        #expect(reason.unicodeScalars.count == 1024, "SageMaker's maximum, used in full")
        #expect(reason.hasPrefix("AlgorithmError: Traceback (most recent call last):\n  File \"/opt/ml/code/train.py\", line 1, in step_1"))
        #expect(reason.hasSuffix(", exit code: 3"), "the suffix survives the cut: \(reason.suffix(60))")

        let described = try ControlClient(socketPath: daemon.socket).call(.describeTrainingJob, ["TrainingJobName": "traceback"])
        let details = described["TrainingdFailureDetails"]
        let failureFile = details?["FailureFile"]?.stringValue ?? ""
        #expect(failureFile.hasPrefix("Traceback (most recent call last):"))
        #expect(failureFile.hasSuffix("\nValueError: the learning rate must be positive"), "the actual error, cut off FailureReason, is here")
        #expect(failureFile.split(separator: "\n").count == 122)
        let tail = details?["LogTail"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(tail.count == 20)
        #expect(tail.first?.hasSuffix("training step 11") == true && tail.last?.hasSuffix("training step 30") == true, "\(tail)")
    }
}

// Seeds a trainingd database with ended jobs through the store library, for the API benchmark:
//   trainingd-bench-seed DATABASE COUNT
import Foundation
import TrainingCore
import TrainingStore

let arguments = CommandLine.arguments
guard arguments.count == 3, let count = Int(arguments[2]) else {
    FileHandle.standardError.write(Data("usage: trainingd-bench-seed DATABASE COUNT\n".utf8))
    exit(2)
}
let template = """
    {"TrainingJobName": "seed", "AlgorithmSpecification": {"TrainingImage": "/bin/true", "TrainingInputMode": "File"},
     "HyperParameters": {"epochs": "10", "learning_rate": "0.1"},
     "OutputDataConfig": {"S3OutputPath": "file:///tmp/bench-output/"},
     "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1}, "StoppingCondition": {"MaxRuntimeInSeconds": 3600}}
    """
do {
    let store = try JobStore(path: arguments[1])
    let base = try DefinitionValidator().validate(Array(template.utf8)).get()
    let start = Date()
    for index in 0..<count {
        var definition = base
        definition.jobName = String(format: "bench-job-%06d", index)
        definition.request.trainingJobName = definition.jobName
        let record = try store.recordSubmission(JobSubmission(
            definition: definition, arn: "arn:aws:sagemaker:local:000000000000:training-job/" + definition.jobName,
            owner: JobOwner(uid: 0, gid: 0), submittedAt: 1_700_000_000 + Double(index)))
        var lifecycle = record.lifecycle
        for event in [JobLifecycle.Event.stopRequested, .finish(exitCode: nil)] {
            try lifecycle.apply(event)
            try store.recordTransition(job: record.id, to: lifecycle, message: "seeded", at: 1_700_000_000 + Double(index))
        }
    }
    print("seeded \(count) jobs in \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
} catch {
    FileHandle.standardError.write(Data("trainingd-bench-seed: \(error)\n".utf8))
    exit(1)
}

import Foundation
import Testing
import TrainingCore

@testable import TrainingStore

/// A directory of its own for one test, removed when the test ends: tests run in parallel.
final class Scratch {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("trainingstore-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    var databasePath: String { directory.appendingPathComponent("state.sqlite").path }

    func openStore() throws -> JobStore { try JobStore(path: databasePath) }
}

enum Fixtures {
    static let owner = JobOwner(uid: 1000, gid: 100)

    /// One validated definition, made once; tests rename copies of it.
    static let base: ValidatedDefinition = {
        let json = """
            {"TrainingJobName": "base-job",
             "AlgorithmSpecification": {"TrainingImage": "/usr/bin/true", "TrainingInputMode": "File"},
             "OutputDataConfig": {"S3OutputPath": "file:///var/lib/trainingd/out"},
             "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
             "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
             "HyperParameters": {"epochs": "3", "lr": "0.1"}}
            """
        switch DefinitionValidator().validate(Array(json.utf8)) {
        case .success(let definition): return definition
        case .failure(let rejection): fatalError("fixture definition rejected: \(rejection)")
        }
    }()

    static func definition(_ name: String) -> ValidatedDefinition {
        var definition = base
        definition.jobName = name
        definition.request.trainingJobName = name
        if case .object(var members) = definition.submitted,
            let index = members.firstIndex(where: { $0.key == "TrainingJobName" })
        {
            members[index].value = .string(name)
            definition.submitted = .object(members)
        }
        return definition
    }

    static func submission(_ name: String, at time: Double = 1_000) -> JobSubmission {
        JobSubmission(
            definition: definition(name), arn: "arn:aws:sagemaker:local:000000000000:training-job/\(name)",
            owner: owner, submittedAt: time)
    }

    static func identity(_ name: String, inode: UInt64 = 42) -> SpoolFileIdentity {
        SpoolFileIdentity(name: name, device: 0xFD01, inode: inode, modificationTime: 1_700_000_000_123_456_789)
    }
}

extension JobStore {
    /// One lifecycle event of the job, recorded with the attempt's `facts` that go with it.
    func step(_ id: JobID, _ event: JobLifecycle.Event, at time: Double, _ facts: [AttemptFact] = []) throws {
        var lifecycle = try #require(try job(id: id)).lifecycle
        try lifecycle.apply(event)
        try recordTransition(job: id, to: lifecycle, message: "\(event)", at: time, alongside: facts)
    }

    /// Moves a job through `events`, one second apart from `start`.
    func drive(_ id: JobID, _ events: [JobLifecycle.Event], from start: Double) throws {
        var lifecycle = try #require(try job(id: id)).lifecycle
        for (offset, event) in events.enumerated() {
            try lifecycle.apply(event)
            try recordTransition(job: id, to: lifecycle, message: "\(event)", at: start + Double(offset))
        }
    }
}

/// The store error a throwing call ends with, or nil.
func storeError(_ body: () throws -> Void) -> StoreError? {
    do {
        try body()
        return nil
    } catch let error as StoreError {
        return error
    } catch {
        return nil
    }
}

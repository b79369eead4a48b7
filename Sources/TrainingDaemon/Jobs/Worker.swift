import Foundation
import TrainingStaging

/// Work done on a job's behalf in a separate process with the job owner's credentials
/// (`trainingd _worker stage|package REQUEST RESULT`): staging and packaging read and
/// write the user's `file://` locations, so they must not run with the daemon's rights.
public enum Worker {
    public enum Kind: String, Sendable {
        case stage
        case package
        /// Only the checkpoint sync of packaging: for a job a drain interrupts.
        case checkpoint
        /// Copies a host's checkpoints while its algorithm runs, and once more when it ends.
        case checkpointWatch = "checkpoint-watch"
    }

    /// Runs one request file and writes its ``WorkerResult``; the exit status is 0 when the result was written.
    public static func main(kind: Kind, requestPath: String, resultPath: String) -> Int32 {
        let result: WorkerResult
        do {
            guard let data = FileManager.default.contents(atPath: requestPath) else {
                throw StagingError(.platform, "cannot read the worker request \(requestPath)", path: requestPath)
            }
            switch kind {
            case .stage:
                let bytes = try Stager.run(try JSONDecoder().decode(StagingRequest.self, from: data))
                result = WorkerResult(ok: true, bytes: bytes)
            case .package:
                try Packager.run(try JSONDecoder().decode(PackagingRequest.self, from: data))
                result = WorkerResult(ok: true)
            case .checkpoint:
                try Packager.syncCheckpoints(try JSONDecoder().decode(PackagingRequest.self, from: data))
                result = WorkerResult(ok: true)
            case .checkpointWatch:
                let watcher = CheckpointWatcher(try JSONDecoder().decode(CheckpointWatchRequest.self, from: data))
                try watcher.run()
                result = WorkerResult(ok: true, bytes: UInt64(watcher.copied))
            }
        } catch let error as StagingError {
            result = WorkerResult(ok: false, error: error.code, message: error.message)
        } catch {
            result = WorkerResult(ok: false, error: .platform, message: "\(error)")
        }
        guard let encoded = try? JSONEncoder().encode(result), FileManager.default.createFile(atPath: resultPath, contents: encoded) else {
            FileHandle.standardError.write(Data("trainingd worker: cannot write \(resultPath)\n".utf8))
            return 70
        }
        return 0
    }
}

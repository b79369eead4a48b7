import Foundation
import TrainingStaging

/// Work done on a job's behalf in a separate process with the job owner's credentials
/// (`trainingd _worker stage|package REQUEST RESULT`): staging and packaging read and
/// write the user's `file://` locations, so they must not run with the daemon's rights.
public enum Worker {
    public enum Kind: String, Sendable {
        case stage
        case package
        /// Only the sync of packaging (checkpoints, intermediate and TensorBoard output): for a job a drain interrupts.
        case checkpoint
        /// Copies a host's checkpoints, intermediate and TensorBoard output while its algorithm runs, and once more when it ends.
        case checkpointWatch = "checkpoint-watch"
        /// Streams a host's Pipe-mode channels into their FIFOs while the algorithm runs.
        case pipe
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
                // The daemon has prepared the volume; what is left needs the owner's rights.
                let bytes = try Stager.transfer(try JSONDecoder().decode(StagingRequest.self, from: data))
                result = WorkerResult(ok: true, bytes: bytes)
            case .package:
                let notes = try Packager.run(try JSONDecoder().decode(PackagingRequest.self, from: data))
                result = WorkerResult(ok: true, notes: notes.isEmpty ? nil : notes)
            case .checkpoint:
                try Packager.syncCheckpoints(try JSONDecoder().decode(PackagingRequest.self, from: data))
                result = WorkerResult(ok: true)
            case .pipe:
                try PipeStreamer(try JSONDecoder().decode(PipeRequest.self, from: data)).run()
                result = WorkerResult(ok: true)
            case .checkpointWatch:
                let watcher = SyncWatcher(try JSONDecoder().decode(SyncWatchRequest.self, from: data))
                try watcher.run()
                result = WorkerResult(ok: true, bytes: UInt64(watcher.copied))
            }
        } catch let error as StagingError {
            result = WorkerResult(ok: false, error: error.code, message: error.message)
        } catch {
            result = WorkerResult(ok: false, error: .platform, message: "\(error)")
        }
        // The daemon created the result file and gave it to us; we may write it, not create it
        // (its directory is the daemon's).
        guard let encoded = try? JSONEncoder().encode(result), writeResult(Array(encoded), to: resultPath) else {
            FileHandle.standardError.write(Data("trainingd worker: cannot write \(resultPath)\n".utf8))
            return 70
        }
        return 0
    }

    private static func writeResult(_ bytes: [UInt8], to path: String) -> Bool {
        let fd = open(path, O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return false }
            written += count
        }
        return true
    }
}

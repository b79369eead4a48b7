import Dispatch
import Foundation
import TrainingFiles
import TrainingRuntime
import TrainingStaging

/// Packaging a small host (a handful of small files, most often an empty model) without a worker
/// process: on a thread of the daemon's that acts as the job's owner (`FileSystemIdentity`: the
/// kernel checks every file operation as the owner's, as it would in the worker), so a job ends
/// with no extra process chain. Anything larger, or anything but files, directories and links,
/// goes to the packaging worker as before.
///
/// Stands in `JobRun.workers` like a worker, so stops and the stuck-job sweep see it; it cannot be
/// killed, and needs not be: its work is bounded by `Packager.Limits.inProcess` as it goes (files
/// read by descriptor, non-blocking, regular only; the archive ends as soon as it would pass the
/// limits, whatever the owner did to the tree since it was measured), and then a worker takes over.
final class InProcessPackaging: JobProcess, @unchecked Sendable {
    private let lock = NSLock()
    private var ended = false

    var keeperPID: Int32 { 0 }
    func terminate() throws(RuntimeError) {}
    func killAll() throws(RuntimeError) {}
    var hasEnded: Bool { lock.withLock { ended } }

    /// The outcome of an attempt at packaging in process.
    enum Outcome {
        case delivered(WorkerResult)
        /// Beyond the limits (or not only files): the worker's job.
        case needsWorker
    }

    /// Where in-process packagings run: off the supervisor's queue, one at a time (each is bounded
    /// and short; one thread is all they may hold).
    static let queue = DispatchQueue(label: "trainingd.packaging", qos: .utility)

    /// Starts the packaging; `completion` is called on `queue` with its outcome.
    static func start(_ request: PackagingRequest, as identity: FileSystemIdentity?, queue: DispatchQueue,
                      completion: @escaping @Sendable (Outcome) -> Void) -> InProcessPackaging
    {
        let task = InProcessPackaging()
        Self.queue.async {
            let outcome = Self.run(request, as: identity)
            task.lock.withLock { task.ended = true }
            queue.async { completion(outcome) }
        }
        return task
    }

    private static func run(_ request: PackagingRequest, as identity: FileSystemIdentity?) -> Outcome {
        func work() -> Outcome {
            do throws(StagingError) {
                guard let notes = try Packager.runBounded(request, .inProcess) else { return .needsWorker }
                return .delivered(WorkerResult(ok: true, notes: notes.isEmpty ? nil : notes))
            } catch {
                return .delivered(WorkerResult(ok: false, error: error.code, message: error.message))
            }
        }
        guard let identity else { return work() }
        do {
            return try identity.perform { work() }
        } catch {
            // The thread could not act as the owner: the worker process (which can) does it.
            return .needsWorker
        }
    }
}

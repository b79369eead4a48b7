import Foundation
import TrainingCore
import TrainingFiles
import TrainingRuntime
import TrainingStaging

/// The job's helper processes, each run as its owner through a keeper: staging and packaging
/// workers, the checkpoint watchers that sync while the algorithm trains, and the sync of an
/// interrupted job's checkpoints.
extension Supervisor {
    /// Runs a staging or packaging worker as the job's owner; its result arrives as `workerFinished`.
    func startWorker<Request: Encodable>(_ kind: Worker.Kind, for run: JobRun, host: String, request: Request) {
        let workDirectory = jobFiles.workDirectory(run.name)
        let requestName = "\(kind.rawValue)-\(host).json"
        let resultName = "\(kind.rawValue)-\(host).result.json"
        let logPath = "\(workDirectory)/\(kind.rawValue)-\(host).log"
        let workerCredentials = credentials(for: run.owner)
        let worker = (uid: workerCredentials?.uid ?? daemonIdentity.uid, gid: workerCredentials?.gid ?? daemonIdentity.gid)
        do {
            // Both files are the daemon's entries in its own directory, handed to the worker's
            // user by descriptor: the worker reads one and writes the other, and can replace neither.
            try jobFiles.createWorkerFiles(job: run.name, request: (requestName, Array(try JSONEncoder().encode(request))),
                                           resultName: resultName, worker: worker)
            let spec = LaunchSpec(
                arguments: [executablePath, "_worker", kind.rawValue, workDirectory + "/" + requestName, workDirectory + "/" + resultName],
                environment: ["PATH": LaunchPlanner.defaultPath, "HOME": run.owner.home, "LANG": "C.UTF-8"],
                workingDirectory: "/", credentials: workerCredentials,
                logPath: logPath, logCapBytes: 1 << 20,
                statusPath: "\(workDirectory)/\(kind.rawValue)-\(host).status", token: "trainingd:\(run.name):\(kind.rawValue):\(host)",
                isolation: .none)
            let attempt = run.attempt
            let name = run.name
            let files = jobFiles
            run.workers[host] = try executor.launch(spec, queue: queue) { [weak self] _ in
                let result = (try? files.readWorkerResult(job: name, name: resultName, worker: worker.uid))
                    .flatMap { try? JSONDecoder().decode(WorkerResult.self, from: Data($0)) }
                    ?? WorkerResult(ok: false, error: .platform, message: "the \(kind.rawValue) worker ended without a result; see \(logPath)")
                self?.workerFinished(job: name, attempt: attempt, kind: kind, host: host, result: result)
            }
        } catch {
            workerFinished(job: run.name, attempt: run.attempt, kind: kind, host: host,
                           result: WorkerResult(ok: false, error: .platform, message: "cannot start the \(kind.rawValue) worker: \(error)"))
        }
    }

    /// Packages a host: in process when it is small (`InProcessPackaging`), else by a worker.
    func startPackaging(_ run: JobRun, host: String, request: PackagingRequest) {
        let identity = credentials(for: run.owner).map { FileSystemIdentity(uid: $0.uid, gid: $0.gid, groups: $0.groups) }
        let (name, attempt) = (run.name, run.attempt)
        run.workers[host] = InProcessPackaging.start(request, as: identity, queue: queue) { [weak self] outcome in
            guard let self, let run = self.runs[name], run.attempt == attempt else { return }
            switch outcome {
            case .delivered(let result):
                self.workerFinished(job: name, attempt: attempt, kind: .package, host: host, result: result)
            case .needsWorker:
                run.workers[host] = nil
                self.startWorker(.package, for: run, host: host, request: request)
            }
        }
    }

    func workerFinished(job: String, attempt: Int, kind: Worker.Kind, host: String, result reported: WorkerResult) {
        guard let run = runs[job], run.attempt == attempt else { return }
        run.workers[host] = nil
        var result = reported
        if kind == .stage, testHooks.injectsStagingFault(job: job, attempt: attempt) {
            result = WorkerResult(ok: false, error: .platform, message: "injected staging fault (TRAININGD_TEST_HOOKS)")
        }
        if [.checkpoint, .checkpointWatch].contains(kind), !result.ok {
            logger.error("job \(job): the checkpoint sync of \(host) failed: \(result.message ?? "")", metadata: ["job": "\(job)", "host": "\(host)"])
        }
        // A watcher that failed leaves the final sync to packaging (or to the interruption's sync worker).
        if kind == .checkpointWatch, !result.ok { run.checkpointsWatched = false }
        if kind == .pipe, !result.ok, run.failure == nil, !run.isStopping, run.interruption == nil, run.step == .training {
            // An object that cannot be streamed is bad input: the job fails, as File mode's staging would.
            run.failure = (result.error == .client ? FailureKind.clientError : .internalServerError)
                .reason("Pipe mode: \(result.message ?? "the Pipe worker failed")")
            terminateHosts(run)
        }
        // An attempt being interrupted waits for its workers to be gone, whatever they achieved.
        if run.interruption != nil { return continueInterruption(run) }
        if kind == .checkpointWatch || kind == .pipe {
            guard run.awaitingCheckpointSync, run.workers.isEmpty else { return }
            run.awaitingCheckpointSync = false
            return afterTraining(run)
        }
        switch (kind, run.step) {
        case (.stage, .staging(var remaining)):
            remaining.remove(host)
            run.step = .staging(remaining: remaining)
            if !result.ok, run.failure == nil {
                run.failure = (result.error == .client ? FailureKind.clientError : .internalServerError).reason(result.message ?? "staging failed")
            }
            guard remaining.isEmpty else { return }
            if retryIfAllowed(run) { return }
            if run.isStopping || run.failure != nil {
                return packageOrFinish(run)
            }
            launchAlgorithm(run)
        case (.package, .packaging):
            run.artifactNotes += result.notes ?? []
            if !result.ok, run.failure == nil, !run.isStopping {
                run.failure = (result.error == .client ? FailureKind.clientError : .internalServerError).reason("could not deliver the artifacts: \(result.message ?? "")")
            }
            finish(run)
        default:
            break
        }
    }

    /// A host's Pipe worker stands in `JobRun.workers` under this key (the host's own key is its sync watcher's).
    static func pipeWorkerKey(_ host: String) -> String { host + ".pipe" }

    /// One Pipe worker per host with Pipe-mode channels, started with the algorithm: it streams
    /// every epoch into the channels' FIFOs, as the owner, and ends when the algorithm has.
    func startPipeWorkers(_ run: JobRun) {
        for plan in run.plans where !plan.pipeChannels.isEmpty && run.processes[plan.host.name] != nil {
            let request = PipeRequest(channels: plan.pipeChannels, algorithmStatusPath: algorithmSpec(run, plan).statusPath, locations: locations)
            startWorker(.pipe, for: run, host: Self.pipeWorkerKey(plan.host.name), request: request)
        }
    }

    /// Seconds of training before the sync watchers start. A watcher first copies what is already
    /// there, so nothing is missed; an algorithm that ends sooner (most short jobs) needs no watcher
    /// process at all, since packaging (or an interruption's sync) copies everything at the end.
    static let syncWatcherDelay = 1.0

    func startSyncWatchersSoon(_ run: JobRun) {
        let (name, attempt) = (run.name, run.attempt)
        queue.asyncAfter(deadline: .now() + Self.syncWatcherDelay) { [weak self] in
            guard let self, let run = self.runs[name], run.attempt == attempt, run.step == .training,
                  run.interruption == nil, !run.checkpointsWatched, !run.processes.isEmpty else { return }
            self.startCheckpointWatchers(run)
        }
    }

    /// One sync watcher per host whose algorithm runs (or ran, for an adopted job) and that has
    /// something to copy to its location: checkpoints, intermediate output, TensorBoard
    /// output. They are copied while it trains, and once more when it ends.
    func startCheckpointWatchers(_ run: JobRun) {
        for plan in run.plans where run.processes[plan.host.name] != nil || run.exits[plan.host.name] == nil {
            guard let sync = checkpointSync(run, plan) else { continue }
            var directories = sync.syncedDirectories
            if let local = sync.checkpointDirectory, let destination = sync.checkpointDestination {
                directories.insert(SyncedDirectory(localDirectory: local, destination: destination, mirrorsDeletions: true), at: 0)
            }
            var request = SyncWatchRequest(directories: directories, algorithmStatusPath: algorithmSpec(run, plan).statusPath,
                                           settleSeconds: Double(configuration.checkpointSettleSeconds))
            request.locations = locations
            startWorker(.checkpointWatch, for: run, host: plan.host.name, request: request)
            run.checkpointsWatched = true
        }
    }

    /// What a host syncs (packaging without the artifacts): its `file://` CheckpointConfig, and its
    /// intermediate and TensorBoard output; nil when there is nothing.
    func checkpointSync(_ run: JobRun, _ plan: HostLaunchPlan) -> PackagingRequest? {
        var request = PackagingRequest(volume: plan.volume, outputDirectory: "", compress: false, syncedDirectories: plan.syncedDirectories)
        request.locations = locations
        // The location resolved when the attempt was planned (the one its checkpoints were restored from).
        if run.request.checkpointConfig != nil, let destination = plan.staging.checkpointSource ?? plan.staging.remoteCheckpointSource,
           let directory = plan.staging.checkpointDirectory
        {
            request.checkpointDirectory = directory
            request.checkpointDestination = destination
        }
        return request.checkpointDirectory == nil && request.syncedDirectories.isEmpty ? nil : request
    }
}

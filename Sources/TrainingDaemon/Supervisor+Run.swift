import Foundation
import TrainingCgroups
import TrainingCore
import TrainingFiles
import TrainingObjectStore
import TrainingRuntime
import TrainingStaging
import TrainingStore

/// A job's run: stage every host, start the algorithm, follow its exits, package, record.
extension Supervisor {
    /// What each host of `job` runs, as this daemon would start it now (an adoption plans a running job the same way).
    func launchPlans(_ job: JobRecord, owner: UserAccount, site: SiteCatalog, gpus held: [String: [GPUDevice]]) throws(PlanningError) -> [HostLaunchPlan] {
        try LaunchPlanner.plan(request: job.request, jobArn: job.arn, site: site, locations: locations,
                               jobDirectory: configuration.paths.jobs + "/" + job.name, owner: owner, mode: volumeMode, cpuCount: cpuCount,
                               rclone: fastFileMounter,
                               awsEnvironment: JobAWSEnvironment.variables(ownerUID: owner.uid, configuration: configuration, keys: accessKeys, s3: locations.s3),
                               gpus: held, deviceDirectory: testHooks.gpuDeviceDirectory ?? "/dev")
    }

    func begin(_ job: JobRecord, gpus held: [String: [GPUDevice]] = [:]) {
        let owner = jobOwner(uid: job.owner.uid, gid: job.owner.gid)
        let startedAt = Self.now
        // The record was read from the store to start it (schedule()), and only this queue writes a
        // job's attempts: its count is current. Starting's commit counts the attempt (AttemptFact).
        let attempt = job.attempts + 1
        let run = JobRun(id: job.id, name: job.name, request: job.request, owner: owner, attempt: attempt, lifecycle: job.lifecycle)
        run.trainingSecondsBefore = job.trainingSecondsUsed
        run.retriesUsed = job.retries
        run.gpus = held
        runs[job.name] = run
        let message = attempt == 1 ? "Preparing the instances for training" : "Preparing the instances for training (attempt \(attempt))"
        guard transition(run, .start, message, alongside: [.started(at: startedAt)]) else { return }
        armMaxWait(run, firstStartedAt: job.firstStartedAt ?? startedAt)
        if volumeMode == .environmentOnly, configuration.isolation == .namespaces {
            return fail(run, FailureKind.clientError.reason(
                "this trainingd is configured with isolation = \"namespaces\", but /opt/ml cannot be bound here (the mount point is missing); create /opt/ml or set [jobs] isolation = \"auto\""))
        }
        do {
            run.plans = try launchPlans(job, owner: owner, site: site, gpus: held)
        } catch {
            return fail(run, FailureKind.clientError.reason(error.message))
        }
        if run.plans.contains(where: { $0.container != nil }), geteuid() != 0 {
            return fail(run, FailureKind.clientError.reason("the training image runs in a container (an image, or a root_filesystem), and containers need trainingd to run as root (it mounts the image's layers); give an executable, or run the daemon as root"))
        }
        run.notes = Array(Set(run.plans.flatMap(\.notes) + limitNotes())).sorted()
        run.outputDirectory = locations.localPath(of: job.request.outputLocation)
        do {
            let network = HostNetwork(jobNumber: job.id.rawValue, hostNames: run.plans.map(\.host.name))
            let identity = credentials(for: owner).map { FileSystemIdentity(uid: $0.uid, gid: $0.gid, groups: $0.groups) }
            let unsized = try jobFiles.prepareAttempt(job: job.name, plans: run.plans, identity: identity, hostsFile: network.hostsFile,
                                                      volumeBytes: volumeBytes(job))
            run.notes += unsized
        } catch {
            return fail(run, FailureKind.internalServerError.reason("\(error)"))
        }
        guard startMounts(run) else { return }
        if run.plans.contains(where: { !$0.staging.copiedChannels.isEmpty }) {
            guard transition(run, .download, "Downloading input data") else { return }
        }
        let needWorkers = run.plans.filter(\.staging.touchesOwnerData)
        guard !needWorkers.isEmpty else { return launchAlgorithm(run) }
        run.step = .staging(remaining: Set(needWorkers.map(\.host.name)))
        for plan in needWorkers {
            startWorker(.stage, for: run, host: plan.host.name, request: plan.staging)
        }
        faultPoint(.staging, job: run.name)
    }

    func launchAlgorithm(_ run: JobRun) {
        // The limits first: a host whose cgroups cannot be made says so in the message below.
        let hostSetups = Dictionary(uniqueKeysWithValues: run.plans.map { plan in
            (plan.host.name, prepareCgroup(run, host: plan.host.name, instanceType: plan.host.instanceType))
        })
        var message = "Training image download completed. Training in progress."
        if !run.notes.isEmpty { message += " Note: " + run.notes.joined(separator: "; ") + "." }
        let startedAt = Self.now
        guard transition(run, .train, message, alongside: [.trainingStarted(attempt: run.attempt, at: startedAt)]) else {
            for setup in hostSetups.values { setup.warmKeeper?.release() }
            return
        }
        run.step = .training
        run.trainingStartedAt = startedAt
        // The logs directory exists (the daemon makes it at start); a failure shows as the keeper's,
        // and EEXIST is an earlier attempt's directory, which this one's logs join.
        _ = try? logDirectories.makeSubdirectory(run.name, mode: 0o755)
        for plan in run.plans {
            let host = plan.host.name
            do {
                var spec = algorithmSpec(run, plan)
                spec.cgroupProcessFiles = hostSetups[host]?.files ?? []
                spec.warmKeeper = hostSetups[host]?.warmKeeper
                run.processes[host] = try executor.launch(spec, queue: queue, onExit: hostExitHandler(run, host))
            } catch {
                run.failure = run.failure ?? FailureKind.internalServerError.reason("could not start the algorithm on \(host): \(error)")
                run.exits[host] = ExitReport(keeperStatus: .unknown)
            }
        }
        startPipeWorkers(run)
        startSyncWatchersSoon(run)
        faultPoint(.training, job: run.name)
        if testHooks.forgottenRuns.contains(run.name) {
            run.cancelTimers()
            runs[run.name] = nil
            return
        }
        armMaxRuntime(run)
        if run.failure != nil { terminateHosts(run) }
        if run.exits.count == run.plans.count { trainingEnded(run) }
    }

    /// How a host's algorithm is run. Its token names the job, host and attempt, which is how a
    /// restarted daemon finds the keeper again (`Supervisor+Recovery`).
    func algorithmSpec(_ run: JobRun, _ plan: HostLaunchPlan) -> LaunchSpec {
        LaunchSpec(
            arguments: plan.argv, environment: plan.environment, workingDirectory: plan.workingDirectory,
            binds: plan.binds.map { BindMount(source: $0.source, target: $0.target, readOnly: $0.readOnly) },
            credentials: credentials(for: run.owner),
            logPath: "\(configuration.paths.logs)/\(run.name)/\(plan.host.name).log", logCapBytes: UInt64(configuration.logCapBytes),
            statusPath: "\(configuration.paths.jobs)/\(run.name)/.work/algorithm-\(plan.host.name).status",
            token: "trainingd:\(run.name):algorithm:\(plan.host.name):\(run.attempt)",
            isolation: volumeMode == .boundAtOptML ? .pidNamespace : .none, hostname: plan.hostname, container: plan.container)
    }

    func hostExitHandler(_ run: JobRun, _ host: String) -> @Sendable (ExitReport) -> Void {
        let (name, attempt) = (run.name, run.attempt)
        return { [weak self] report in self?.hostExited(job: name, attempt: attempt, host: host, report: report) }
    }

    func hostExited(job: String, attempt: Int, host: String, report: ExitReport) {
        guard let run = runs[job], run.attempt == attempt, run.step == .training else { return }
        if testHooks.ignoredExits.contains(job) { return }
        run.processes[host] = nil
        let outOfMemoryKills = settleCgroup(job: job, host: host)
        logger.info("job \(job): the algorithm on \(host) ended: \(report)", metadata: ["job": "\(job)", "host": "\(host)", "exit": "\(report)"])
        if report.statusFileError != nil {
            // No status file will appear for its watcher (or Pipe worker) to see: end them instead.
            try? run.workers[host]?.killAll()
            try? run.workers[Self.pipeWorkerKey(host)]?.killAll()
        }
        // Ended by an interruption's SIGTERM: not the job's outcome.
        if run.interruption != nil { return continueInterruption(run) }
        if let signal = report.forwardedSignal, !run.isStopping, !run.hostsTerminated {
            // Someone else asked it to stop (a system shutdown): that is no outcome of the job either.
            return beginInterruption(run, outcome: .interrupted, reason: "The algorithm was sent signal \(signal) from outside trainingd (a system shutdown?); the job resumes from its checkpoints")
        }
        run.exits[host] = report
        try? store.recordExit(job: run.id, exitCode: report.exitCode, signal: report.signal)
        if run.failure == nil, !run.isStopping, let reason = failureReason(report, run: run, host: host, outOfMemoryKills: outOfMemoryKills) {
            run.failure = reason
            // One host failing fails the job: the others are stopped.
            terminateHosts(run)
        }
        if run.exits.count == run.plans.count { trainingEnded(run) }
    }

    private func failureReason(_ report: ExitReport, run: JobRun, host: String, outOfMemoryKills: Int) -> String? {
        if let setup = report.setupError {
            return FailureKind.internalServerError.reason("could not set up \(host): \(setup)")
        }
        if let exec = report.execError {
            return FailureKind.clientError.reason("cannot execute \(run.plans.first?.argv.first ?? "the algorithm"): \(exec.message)")
        }
        let code = report.exitCode ?? report.signal.map { 128 + $0 } ?? 1
        guard code != 0 else { return nil }
        // Read as the privilege rule says: no link followed, a regular file of the owner, bounded.
        let written = (try? jobFiles.readVolumeFile(job: run.name, host: host, "output/failure", owner: run.owner.uid, limit: FailureDetails.failureFileLimit))
            .flatMap(FailureReport.failureText)
        let log = FailureReport.logTail("\(configuration.paths.logs)/\(run.name)/\(host).log")
        run.failureDetails = FailureDetails(failureFile: written, logTail: log)
        if outOfMemoryKills > 0 {
            // The kernel's kill at the cgroup's limit is what a user must know first; the failure file is in the details.
            let limit = hostLimits(instanceType: run.plans.first { $0.host.name == host }?.host.instanceType ?? "").memoryBytes
            let text = "\(host): the kernel killed the algorithm: out of memory (limit \(limit.map(HostLimits.gibibytes) ?? "unknown")); give it an instance type with more memory"
            return FailureReport.algorithmErrorReason(failureText: text, exitCode: code)
        }
        return FailureReport.algorithmErrorReason(failureText: written ?? "the algorithm wrote no /opt/ml/output/failure", exitCode: code)
    }

    func trainingEnded(_ run: JobRun) {
        run.cancelTimers()
        detachMounts(run)
        run.trainingEndedAt = Self.now
        try? store.recordTrainingEnded(job: run.id, at: Self.now)
        guard run.workers.isEmpty else {
            run.awaitingCheckpointSync = true  // the checkpoint watchers' final sync comes first
            return
        }
        afterTraining(run)
    }

    func afterTraining(_ run: JobRun) {
        if retryIfAllowed(run) { return }
        packageOrFinish(run)
    }

    /// A fault of staging or the platform (an InternalServerError, never the algorithm's own
    /// error or bad input) is retried while RetryStrategy.MaximumRetryAttempts allows.
    func retryIfAllowed(_ run: JobRun) -> Bool {
        guard let failure = run.failure, failure.hasPrefix(FailureKind.internalServerError.rawValue), !run.isStopping,
              run.retriesUsed < run.request.retryStrategy?.maximumRetryAttempts ?? 0 else { return false }
        run.failure = nil
        beginInterruption(run, outcome: .retried, reason: "Retrying after \(failure) (retry \(run.retriesUsed + 1) of \(run.request.retryStrategy?.maximumRetryAttempts ?? 0))")
        return true
    }

    /// Delivers the artifacts (after success, failure or a stop alike), then records the outcome.
    func packageOrFinish(_ run: JobRun) {
        guard let plan = run.plans.first, run.trainingStartedAt != nil else { return finish(run) }
        // A remote output location: the artifacts are made in the volume, then uploaded by the worker.
        let remoteOutput = locations.isRemote(run.request.outputLocation) ? run.request.outputLocation : nil
        guard let outputDirectory = remoteOutput.map({ _ in plan.volume.root + "/.trainingd-artifacts" })
            ?? run.outputDirectory ?? locations.localPath(of: run.request.outputLocation) else {
            // Submission refuses such locations; a job accepted before that still ends, and says why.
            if run.failure == nil, !run.isStopping {
                run.failure = FailureKind.clientError.reason(
                    "OutputDataConfig.S3OutputPath \(run.request.outputDataConfig.s3OutputPath) cannot be written by this trainingd (it serves file:// locations, local buckets and the S3 endpoint configured with [s3]); the artifacts were not delivered")
            }
            return finish(run)
        }
        // An adopted job may already be Uploading: its packaging starts again (it only renames whole files into place).
        if run.failure == nil || run.isStopping, run.lifecycle.secondary != .uploading {
            guard transition(run, .upload, "Uploading generated training model") else { return }
        }
        run.step = .packaging
        // Intermediate and TensorBoard output once more, whether or not a watcher ran (it may have
        // failed, or the job ended before one started): files already copied are left alone.
        var request = PackagingRequest(volume: plan.volume, outputDirectory: outputDirectory,
                                       compress: run.request.outputDataConfig.compressionType != OutputCompressionType.none,
                                       syncedDirectories: plan.syncedDirectories)
        request.remoteOutput = remoteOutput
        request.locations = locations
        // Every host's model and output data, merged into the same archives (Packager).
        request.otherVolumes = run.plans.dropFirst().map(\.volume)
        if !run.checkpointsWatched {
            let sync = checkpointSync(run, plan)
            request.checkpointDirectory = sync?.checkpointDirectory
            request.checkpointDestination = sync?.checkpointDestination
        }
        startPackaging(run, host: plan.host.name, request: request)
        faultPoint(.packaging, job: run.name)
    }

    func finish(_ run: JobRun) {
        let metricLogs = run.plans.map { "\(configuration.paths.logs)/\(run.name)/\($0.host.name).log" }
        var scraper = MetricScraper(run.request.algorithmSpecification.metricDefinitions ?? [])
        if !scraper.isEmpty {
            for path in metricLogs { scraper.scan(logFile: path) }
            try? store.recordFinalMetrics(job: run.id, scraper.finalMetrics)
        }
        if run.trainingStartedAt != nil {
            try? store.recordArtifacts(job: run.id, modelArtifacts: run.request.modelArtifactsLocation)
        }
        faultPoint(.publishing, job: run.name)
        if let failure = run.failure, !run.isStopping {
            recordEnd(run, .fail, failure, outcome: .failed, failureReason: failure)
        } else {
            let exitCode = run.exits.values.compactMap(\.exitCode).first
            var message = run.isStopping
                ? (run.lifecycle.stopCause == .maxRuntimeExceeded ? "The job was stopped because it exceeded the maximum allowed runtime." : "Training job stopped")
                : "Training job completed"
            if !run.artifactNotes.isEmpty { message += ". Note: " + run.artifactNotes.joined(separator: "; ") }
            recordEnd(run, .finish(exitCode: exitCode), message, outcome: run.isStopping ? .stopped : .completed, failureReason: nil)
        }
    }

    /// Forgets a run whose job has ended and gives its slot to the next job.
    func endRun(_ run: JobRun) {
        run.cancelTimers()
        detachMounts(run)
        runs[run.name] = nil
        releaseResources(of: run.name, id: run.id)
        scheduleVolumeRemoval(run.name, after: Double(configuration.volumeRetentionSeconds))
        schedule()
    }

    func fail(_ run: JobRun, _ reason: String) {
        run.failure = reason
        recordEnd(run, .fail, reason, outcome: .failed, failureReason: reason)
    }

    /// Applies a lifecycle event, recording it first (or, when the store refuses, as soon as it can:
    /// `Supervisor+Ending`) with the attempt's `facts` in the same commit; false, the job unchanged,
    /// when the lifecycle refuses the event.
    @discardableResult
    func transition(_ run: JobRun, _ event: JobLifecycle.Event, _ message: String, alongside facts: [AttemptFact] = []) -> Bool {
        var next = run.lifecycle
        do {
            try next.apply(event)
        } catch {
            logger.error("job \(run.name): \(error)", metadata: ["job": "\(run.name)"])
            return false
        }
        let time = Self.now
        // A store that cannot be written (a full disk) does not stop the job: the change is kept,
        // written in order once the store works again, and STATUS says degraded meanwhile.
        run.unrecordedTransitions.append((next, message, time, facts))
        if let error = flushTransitions(run) {
            logger.error("job \(run.name): cannot record \(next.secondary.rawValue) now (\(error)); it is written once the store can be",
                         metadata: ["job": "\(run.name)"])
            retryFlushingTransitions(run, error)
        }
        run.lifecycle = next
        logger.info("job \(run.name): \(message)", metadata: [
            "job": "\(run.name)", "status": "\(next.status.rawValue)", "secondary_status": "\(next.secondary.rawValue)",
        ])
        publish(run.name, next, message, at: time)
        return true
    }

    func jobOwner(uid: uid_t, gid: gid_t) -> UserAccount {
        if uid == 0, let user = configuration.jobUser, let account = UserAccount.named(user) { return account }
        return UserAccount.of(uid: uid, fallbackGroup: gid)
    }

    /// The credentials to switch to: none when the daemon already is that user.
    func credentials(for owner: UserAccount) -> Credentials? {
        guard daemonIdentity.uid == 0, owner.uid != 0 else { return nil }
        return Credentials(uid: owner.uid, gid: owner.gid, groups: owner.groups)
    }
}

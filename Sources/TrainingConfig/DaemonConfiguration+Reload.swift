/// What a configuration reload (SIGHUP, `systemctl reload trainingd`) may change while jobs run.
///
/// Reloadable keys only affect what happens next (the next job started, the next stop, the next
/// log line); the others are fixed by what the running daemon already holds open or has handed
/// out (its files and socket, namespaces of running jobs, ARNs already issued), so they need a
/// restart. docs/configuration.md lists both.
extension DaemonConfiguration {
    /// The keys a reload applies.
    public static let reloadableKeys = [
        "daemon.log_level", "jobs.max_concurrent", "jobs.stop_grace_period_seconds", "jobs.volume_retention_seconds",
        "jobs.log_cap", "jobs.job_user", "jobs.on_daemon_stop", "jobs.max_interruptions", "jobs.checkpoint_settle_seconds", "images", "filesystems", "paths.algorithms (its contents)",
        "aws_api.job_credentials", "aws_api.credentials_file (its contents)", "queue", "limits.processes_per_vcpu",
    ]

    /// The keys of `new` that differ from this configuration but take effect only after a restart.
    public func restartOnlyChanges(in new: DaemonConfiguration) -> [String] {
        var changed: [String] = []
        func check<Value: Equatable>(_ key: String, _ path: KeyPath<DaemonConfiguration, Value>) {
            if self[keyPath: path] != new[keyPath: path] { changed.append(key) }
        }
        check("paths.spool", \.paths.spool)
        check("paths.state", \.paths.state)
        check("paths.jobs", \.paths.jobs)
        check("paths.logs", \.paths.logs)
        check("paths.socket", \.paths.socket)
        check("paths.algorithms", \.paths.algorithms)
        check("daemon.region", \.region)
        check("daemon.account_id", \.accountID)
        check("jobs.isolation", \.isolation)
        check("jobs.stuck_job_sweep_seconds", \.stuckJobSweepSeconds)
        check("jobs.warm_keepers", \.warmKeepers)
        check("control.socket_group", \.socketGroup)
        check("control.admin_group", \.adminGroup)
        // The cap is sized against the descriptor limit at start, and every open connection has its timer.
        check("control.max_connections", \.maxConnections)
        check("control.idle_timeout_seconds", \.idleTimeoutSeconds)
        // The scheduler's capacity and every waiting job's needs are fixed at start.
        check("capacity.gpus", \.gpus)
        check("capacity.cpus", \.capacityCPUs)
        check("capacity.memory", \.capacityMemoryMiB)
        check("capacity.instance_scale", \.instanceScale)
        check("instance_types", \.instanceTypes)
        check("limits.cgroups", \.limits.cgroups)
        check("limits.volume_size", \.limits.volumeSize)
        check("aws_api.listen", \.awsAPI.listen)
        check("aws_api.allow_remote", \.awsAPI.allowRemote)
        check("aws_api.credentials_file", \.paths.awsCredentials)
        return changed
    }

    /// This configuration with the reloadable keys taken from `new`; the others stay as they are.
    public func reloaded(from new: DaemonConfiguration) -> DaemonConfiguration {
        var result = self
        result.logLevel = new.logLevel
        result.maxConcurrentJobs = new.maxConcurrentJobs
        result.stopGracePeriodSeconds = new.stopGracePeriodSeconds
        result.volumeRetentionSeconds = new.volumeRetentionSeconds
        result.logCapBytes = new.logCapBytes
        result.jobUser = new.jobUser
        result.onDaemonStop = new.onDaemonStop
        result.maxInterruptions = new.maxInterruptions
        result.checkpointSettleSeconds = new.checkpointSettleSeconds
        result.allowOversubscription = new.allowOversubscription
        result.images = new.images
        result.fileSystems = new.fileSystems
        result.buckets = new.buckets
        result.s3 = new.s3
        result.bucketS3 = new.bucketS3
        result.awsAPI.jobCredentials = new.awsAPI.jobCredentials
        result.queue = new.queue
        result.limits.processesPerVCPU = new.limits.processesPerVCPU
        result.sourcePath = new.sourcePath
        return result
    }
}

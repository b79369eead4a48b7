import Foundation
import Logging
import TrainingCgroups
import TrainingConfig
import TrainingCore
import TrainingRuntime
import TrainingStore
import TrainingVolumes

/// Each host of a job is held to its instance type (`[limits]`, docs/configuration.md "Limits"):
/// memory, CPU time and processes, in cgroups the host's keeper joins before the algorithm starts.
extension Supervisor {
    /// The cgroups jobs' hosts get, or nil when none are made (`[limits] cgroups = "none"`, a
    /// daemon that is not root, a machine without controllers). `required` refuses to start
    /// without the memory, CPU and pids controllers.
    static func makeHostCgroups(_ configuration: DaemonConfiguration) throws(DaemonError) -> HostCgroups? {
        let policy = configuration.limits.cgroups
        guard policy != .none else { return nil }
        guard geteuid() == 0 else {
            if policy == .required { throw DaemonError(.runtime, "[limits] cgroups = \"required\", but trainingd does not run as root and cannot make cgroups; run it as root (the systemd unit does), or set [limits] cgroups = \"auto\"") }
            return nil
        }
        let cgroups = HostCgroups(layout: .ofThisProcess(), instance: instanceName(stateDirectory: configuration.paths.state))
        let missing = cgroups.unlimited().filter { $0.key != .devices }
        if policy == .required, !missing.isEmpty {
            let reasons = missing.sorted { $0.key < $1.key }.map { "\($0.key.rawValue): \($0.value)" }.joined(separator: "; ")
            throw DaemonError(.runtime, "[limits] cgroups = \"required\", but not every limit can be enforced here (\(reasons)); mount the controllers (cgroup v2 with Delegate=yes in the unit, or v1), or set [limits] cgroups = \"auto\"")
        }
        return cgroups
    }

    /// Warm keepers (`[jobs] warm_keepers`), inside cgroups of their own when hosts get cgroups.
    /// None where a cgroup cannot be renamed to a host's (v2), nor when the count is 0.
    static func makeWarmKeepers(
        _ configuration: DaemonConfiguration, keeperPath: String, cgroups hostCgroups: HostCgroups?, logger: Logger
    ) -> WarmKeepers? {
        guard configuration.warmKeepers > 0 else { return nil }
        if let hostCgroups, !hostCgroups.supportsRenaming {
            logger.info("no warm keepers: a cgroup v2 hierarchy cannot rename a warm keeper's cgroup to a host's; each start spawns its keeper")
            return nil
        }
        let cgroups = hostCgroups.map { hostCgroups in
            WarmKeepers.Cgroups(make: { name in try hostCgroups.create(name, limits: HostLimits()).processFiles },
                                remove: { name in hostCgroups.open(name).remove() })
        }
        return WarmKeepers(keeperPath: keeperPath, count: configuration.warmKeepers,
                           instance: instanceName(stateDirectory: configuration.paths.state), cgroups: cgroups,
                           report: { message in logger.warning("\(message)") })
    }

    /// Tells two daemons of one machine apart: the same for every start of one daemon (its
    /// adopted jobs' cgroups keep their names), different for another state directory.
    static func instanceName(stateDirectory: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
        for byte in stateDirectory.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return String(hash, radix: 16)
    }

    /// The cgroup name of one host of a job (the same across the daemon's restarts).
    static func cgroupName(job: String, host: String) -> String { job + "." + host }

    /// What one host may use: its instance type's memory and vCPUs as the scheduler counts them
    /// (`[capacity] instance_scale`), and `[limits] processes_per_vcpu` per vCPU of the type.
    /// The machine's GPUs that are not `held` are devices the host may not open (the variables
    /// point CUDA at its own; this stops a process that opens another's /dev/nvidiaN itself).
    func hostLimits(instanceType: String, gpus held: [GPUDevice] = []) -> HostLimits {
        let others = (site.machine?.gpuDevices ?? []).filter { !held.contains($0) }.map { DeviceNumber.nvidiaGPU($0.index) }
        guard let spec = site.instanceTypes.spec(of: instanceType) else { return HostLimits(deniedDevices: others) }
        let need = site.machine?.need(of: spec) ?? ResourceAmount(milliCPUs: spec.vcpus * 1000, memoryMiB: spec.memoryMiB)
        return HostLimits(memoryBytes: UInt64(need.memoryMiB) << 20, milliCPUs: need.milliCPUs,
                          processes: max(64, spec.vcpus * configuration.limits.processesPerVCPU), deniedDevices: others)
    }

    /// Makes a host's cgroups before its keeper starts: the files it joins, or none (the job
    /// then runs without the limits, and its status message says so), and the warm keeper (if one
    /// is ready) whose cgroups became the host's: it runs the host instead of a spawned keeper.
    func prepareCgroup(_ run: JobRun, host: String, instanceType: String) -> (files: [String], warmKeeper: WarmKeeper?) {
        let warmKeeper = warmKeepers?.take()
        guard let hostCgroups else { return ([], warmKeeper) }
        let name = Self.cgroupName(job: run.name, host: host)
        let limits = hostLimits(instanceType: instanceType, gpus: run.gpus[host] ?? [])
        if let warmKeeper, let warmCgroup = warmKeeper.cgroupName {
            do {
                return (try hostCgroups.claim(warmCgroup, as: name, limits: limits).processFiles, warmKeeper)
            } catch {
                logger.warning("job \(run.name): \(host) starts without a warm keeper: \(error)", metadata: ["job": "\(run.name)", "host": "\(host)"])
                warmKeeper.release()
            }
        } else {
            warmKeeper?.release()  // none without cgroups while hosts get them: it cannot happen
        }
        do {
            return (try hostCgroups.create(name, limits: limits).processFiles, nil)
        } catch {
            logger.warning("job \(run.name): \(host) runs without limits: \(error)", metadata: ["job": "\(run.name)", "host": "\(host)"])
            run.notes.append("\(host) runs without memory, CPU and process limits (\(error))")
            return ([], nil)
        }
    }

    /// The notes a job's status message carries about limits this machine cannot enforce.
    func limitNotes() -> [String] {
        var notes: [String]
        switch (configuration.limits.cgroups, hostCgroups) {
        case (.none, _): notes = ["no memory, CPU or process limits ([limits] cgroups = \"none\")"]
        case (_, nil): notes = ["no memory, CPU or process limits (trainingd does not run as root)"]
        case (_, let cgroups?):
            // Device rules matter only where there are GPUs to keep apart.
            let unlimited = cgroups.unlimited().filter { $0.key != .devices || !(site.machine?.gpuDevices.isEmpty ?? true) }
            notes = unlimited.sorted { $0.key < $1.key }.map { resource, reason in
                resource == .devices ? "GPU device nodes not limited to the host's own: \(reason)" : "no \(resource.rawValue) limit: \(reason)"
            }
        }
        if configuration.limits.volumeSize == .none {
            notes.append("VolumeSizeInGB is not enforced ([limits] volume_size = \"none\")")
        } else if let volumeSizing {
            notes.append("VolumeSizeInGB is not enforced: \(volumeSizing)")
        }
        return notes
    }

    /// Why volumes cannot be sized here (`SizedVolume.unavailability`), nil when they can or
    /// are not to be; `required` refuses to start without them.
    static func volumeSizing(_ configuration: DaemonConfiguration) throws(DaemonError) -> String? {
        guard configuration.limits.volumeSize != .none, let reason = SizedVolume.unavailability() else { return nil }
        if configuration.limits.volumeSize == .required {
            throw DaemonError(.runtime, "[limits] volume_size = \"required\", but volumes cannot be sized here: \(reason); set [limits] volume_size = \"auto\" to run jobs with unenforced volume sizes")
        }
        return reason
    }

    /// The size of each host's volume file system, or nil for plain directories.
    func volumeBytes(_ job: JobRecord) -> UInt64? {
        guard configuration.limits.volumeSize != .none, volumeSizing == nil,
              let gigabytes = job.request.resourceConfig.volumeSizeInGB, gigabytes > 0 else { return nil }
        return UInt64(gigabytes) << 30
    }

    /// After a host's algorithm ended: whether the kernel killed it for memory (the reason then
    /// says so), and whatever escaped the keeper killed. The cgroups themselves are removed when
    /// the job's run ends (`releaseResources`), after its outcome is recorded: a removal waits for
    /// the kernel's cgroup_mutex, which a v1 join elsewhere (a warm keeper's) holds for an RCU
    /// grace period.
    func settleCgroup(job: String, host: String) -> Int {
        guard let hostCgroups else { return 0 }
        let cgroup = hostCgroups.open(Self.cgroupName(job: job, host: host))
        let kills = cgroup.outOfMemoryKills()
        cgroup.killRemaining()
        return kills
    }
}

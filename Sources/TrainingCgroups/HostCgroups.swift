public import Foundation
import TrainingFiles

/// A cgroup operation that failed: which file or directory, and errno.
public struct CgroupError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var action: String
    public var errno: Int32

    public var description: String { "cannot \(action) \(path): \(String(cString: strerror(errno)))" }
}

/// The cgroups of job hosts: one per host (and hierarchy), below the daemon's own cgroup, named
/// so that a restarted daemon finds an adopted host's again. Every path is a directory of the
/// cgroup file system that only root may write, so the privilege rule holds: nothing here is
/// inside a directory a job user can write, and nothing is read that the algorithm wrote.
///
/// cgroup v2: the daemon's cgroup is the delegated subtree (`Delegate=yes`; with
/// `DelegateSubgroup=supervisor` systemd starts the daemon in `supervisor/` below it, else the
/// daemon moves itself there), hosts are `jobs-INSTANCE/NAME` below it. cgroup v1: one
/// directory per hierarchy, `trainingd-INSTANCE/NAME` below the daemon's cgroup in each.
public final class HostCgroups: Sendable {
    public let layout: CgroupLayout
    /// Tells apart two daemons of one machine (their state roots): each has its own directories.
    public let instance: String
    /// Each hierarchy's directory that holds the hosts' cgroups.
    let bases: [(hierarchy: CgroupLayout.Hierarchy, directory: String)]

    /// Prepares the base directories (and, for v2, the delegation); hierarchies that cannot be
    /// used are left out, with why in `unusable`.
    public init(layout: CgroupLayout, instance: String) {
        self.instance = instance
        var usable: [CgroupLayout.Hierarchy] = []
        var bases: [(CgroupLayout.Hierarchy, String)] = []
        var unusable: [LimitedResource: String] = [:]
        for hierarchy in layout.hierarchies {
            do {
                let base = try Self.prepareBase(hierarchy, instance: instance)
                usable.append(hierarchy)
                bases.append((hierarchy, base))
            } catch {
                for resource in hierarchy.resources { unusable[resource] = "\(error)" }
            }
        }
        self.layout = CgroupLayout(hierarchies: usable)
        self.bases = bases
        self.unusable = unusable
    }

    /// Why a resource present on the machine cannot be limited (its base could not be made).
    public let unusable: [LimitedResource: String]

    /// Why each resource will not be limited here, in a status message's words; empty when all are.
    public func unlimited() -> [LimitedResource: String] {
        var reasons = unusable
        for resource in layout.missing where reasons[resource] == nil {
            reasons[resource] = "no cgroup \(resource.rawValue) controller is available to trainingd"
        }
        return reasons
    }

    private static func prepareBase(_ hierarchy: CgroupLayout.Hierarchy, instance: String) throws(CgroupError) -> String {
        switch hierarchy.version {
        case .v1:
            let base = hierarchy.ownDirectory + "/trainingd-" + instance
            try makeDirectory(base)
            // The memory controller of v1 counts children in their parent only with use_hierarchy.
            if hierarchy.resources.contains(.memory), FileManager.default.fileExists(atPath: base + "/memory.use_hierarchy") {
                try? write("1", to: base + "/memory.use_hierarchy")
            }
            return base
        case .v2:
            // No process may stay in a cgroup whose controllers are handed to its children.
            let delegated: String
            if hierarchy.ownDirectory.hasSuffix("/supervisor") {
                delegated = String(hierarchy.ownDirectory.dropLast("/supervisor".count))
            } else {
                delegated = hierarchy.ownDirectory
                try makeDirectory(delegated + "/supervisor")
                try write(String(getpid()), to: delegated + "/supervisor/cgroup.procs")
            }
            let enable = hierarchy.resources.sorted().map { "+" + $0.rawValue }.joined(separator: " ")
            try write(enable, to: delegated + "/cgroup.subtree_control")
            let base = delegated + "/jobs-" + instance
            try makeDirectory(base)
            try write(enable, to: base + "/cgroup.subtree_control")
            return base
        }
    }

    /// Removes the directories that hold hosts' cgroups where none is left (the daemon stops);
    /// those of jobs that keep running stay, for the next start to find.
    public func removeEmptyBases() {
        for base in bases { rmdir(base.directory) }
    }

    /// Removes the cgroups of every host of `job` (named `JOB.HOST`), killing what is in them.
    public func removeJob(_ job: String) {
        removeAll(named: job + ".")
    }

    /// Makes the cgroups of host `name` with `limits`: the files its keeper joins, and what could
    /// not be limited. A cgroup left by an earlier attempt of the same name is emptied first.
    public func create(_ name: String, limits: HostLimits) throws(CgroupError) -> HostCgroup {
        let host = open(name)
        host.remove()
        for (hierarchy, directory) in zip(bases.map(\.hierarchy), host.directories) {
            try Self.makeDirectory(directory)
            try Self.apply(limits, in: hierarchy, at: directory)
        }
        return host
    }

    /// Writes `limits` into a host's directory of `hierarchy`.
    static func apply(_ limits: HostLimits, in hierarchy: CgroupLayout.Hierarchy, at directory: String) throws(CgroupError) {
        for resource in hierarchy.resources.sorted() {
            for (file, value) in settings(resource, limits, hierarchy.version) {
                try write(value, to: directory + "/" + file)
            }
        }
    }

    /// Gives host `name` the cgroups `warm` (a warm keeper's, made by `create` without limits, with
    /// the keeper inside): each hierarchy's directory renamed, then `limits` written. A cgroup left
    /// by an earlier attempt of the same name is emptied and removed where a rename finds it.
    /// cgroup v1 only: v2 cannot rename a cgroup (`supportsRenaming`).
    public func claim(_ warm: String, as name: String, limits: HostLimits) throws(CgroupError) -> HostCgroup {
        for (hierarchy, base) in bases {
            let from = base + "/" + warm, to = base + "/" + name
            if rename(from, to) != 0 {
                // Cgroups of the same name left behind (an earlier attempt's that stayed busy, or a
                // crashed daemon's) are in the way: emptied and removed in this hierarchy only, as the
                // ones renamed already hold the warm keeper. Looked for only then, not at every start.
                guard errno == EEXIST || errno == ENOTEMPTY else { throw CgroupError(path: from, action: "rename to \(name)", errno: errno) }
                HostCgroup(name: name, hierarchies: [(hierarchy, to)]).remove()
                guard rename(from, to) == 0 else { throw CgroupError(path: from, action: "rename to \(name)", errno: errno) }
            }
            try Self.apply(limits, in: hierarchy, at: to)
        }
        return open(name)
    }

    /// Whether a cgroup can change its name (`claim`): v1's can, v2's cannot.
    public var supportsRenaming: Bool { bases.allSatisfy { $0.hierarchy.version == .v1 } }

    /// Removes every host's cgroups whose name starts with `prefix`, killing what is in them (a
    /// job's hosts, or the warm keepers' an earlier daemon left).
    public func removeAll(named prefix: String) {
        var names = Set<String>()
        for base in bases {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: base.directory)) ?? [] where name.hasPrefix(prefix) {
                // A control file is no host ("memory.limit_in_bytes" of a job named "memory").
                var info = stat()
                if lstat(base.directory + "/" + name, &info) == 0, info.st_mode & S_IFMT == S_IFDIR { names.insert(name) }
            }
        }
        for name in names { open(name).remove() }
    }

    /// The cgroups of host `name`, made earlier (by this daemon or before its restart).
    public func open(_ name: String) -> HostCgroup {
        HostCgroup(name: name, hierarchies: bases.map { ($0.hierarchy, $0.directory + "/" + name) })
    }

    /// The files and values that set `limits` for `resource`.
    static func settings(_ resource: LimitedResource, _ limits: HostLimits, _ version: CgroupLayout.Version) -> [(String, String)] {
        let period = 100_000
        switch (resource, version) {
        case (.memory, .v1):
            guard let bytes = limits.memoryBytes else { return [] }
            // memsw (memory and swap together) after the memory limit, which it may not be below.
            return [("memory.limit_in_bytes", String(bytes)), ("memory.memsw.limit_in_bytes?", String(bytes))]
        case (.memory, .v2):
            guard let bytes = limits.memoryBytes else { return [] }
            return [("memory.max", String(bytes)), ("memory.swap.max?", "0")]
        case (.cpu, .v1):
            guard let milli = limits.milliCPUs else { return [] }
            return [("cpu.cfs_period_us", String(period)), ("cpu.cfs_quota_us", String(max(1000, milli * period / 1000)))]
        case (.cpu, .v2):
            guard let milli = limits.milliCPUs else { return [] }
            return [("cpu.max", "\(max(1000, milli * period / 1000)) \(period)")]
        case (.pids, _):
            guard let processes = limits.processes else { return [] }
            return [("pids.max", String(processes))]
        case (.devices, .v1):
            return limits.deniedDevices.map { ("devices.deny", "c \($0.major):\($0.minor) rwm") }
        case (.devices, .v2):
            return []  // v2 has no devices files: never in a v2 hierarchy's resources
        }
    }

    static func makeDirectory(_ path: String) throws(CgroupError) {
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw CgroupError(path: path, action: "create", errno: errno) }
    }

    /// Writes a control file. A name ending in "?" is optional: a kernel without it is no error.
    static func write(_ value: String, to file: String) throws(CgroupError) {
        let optional = file.hasSuffix("?")
        let path = optional ? String(file.dropLast()) : file
        let fd = Glibc.open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            if optional, errno == ENOENT { return }
            throw CgroupError(path: path, action: "open", errno: errno)
        }
        defer { close(fd) }
        let bytes = Array(value.utf8)
        guard Glibc.write(fd, bytes, bytes.count) == bytes.count else { throw CgroupError(path: path, action: "write \(value) to", errno: errno) }
    }
}

/// One host's cgroups, one directory per hierarchy.
public struct HostCgroup: Sendable {
    public let name: String
    let hierarchies: [(hierarchy: CgroupLayout.Hierarchy, directory: String)]

    var directories: [String] { hierarchies.map(\.directory) }

    /// The `cgroup.procs` files the host's keeper writes itself into before it forks the algorithm.
    public var processFiles: [String] { directories.map { $0 + "/cgroup.procs" } }

    /// How many times the kernel killed a process of the host for its memory limit.
    public func outOfMemoryKills() -> Int {
        guard let (hierarchy, directory) = hierarchies.first(where: { $0.hierarchy.resources.contains(.memory) }) else { return 0 }
        // v1: memory.oom_control's "oom_kill N" (Linux 4.13+); v2: memory.events's.
        let file = directory + (hierarchy.version == .v1 ? "/memory.oom_control" : "/memory.events")
        for line in (ProcFile.read(file, limit: 1 << 20) ?? "").split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2, fields[0] == "oom_kill", let count = Int(fields[1]) { return count }
        }
        return 0
    }

    /// The processes in the host's cgroups now.
    public func processes() -> [pid_t] {
        var all = Set<pid_t>()
        for directory in directories {
            for line in (ProcFile.read(directory + "/cgroup.procs", limit: 1 << 20) ?? "").split(separator: "\n") {
                if let pid = pid_t(line) { all.insert(pid) }
            }
        }
        return all.sorted()
    }

    /// Kills whatever is left in the host's cgroups and removes them. The keeper has ended its
    /// process tree already; this catches what escaped it (a daemonized child without a PID
    /// namespace). Bounded: a cgroup still busy after that stays for the next attempt's removal.
    public func remove() {
        killRemaining()
        for directory in directories { rmdir(directory) }
    }

    /// Kills whatever is left in the host's cgroups (see `remove`), leaving the cgroups.
    /// Unlike a removal this needs none of the kernel's cgroup locks, which a v1 join elsewhere
    /// on the machine may hold for an RCU grace period.
    public func killRemaining() {
        if let unified = hierarchies.first(where: { $0.hierarchy.version == .v2 })?.directory {
            // cgroup.kill (Linux 5.14) kills every process at once, forks racing it included.
            try? HostCgroups.write("1", to: unified + "/cgroup.kill?")
        }
        // Otherwise (v1) one pid at a time: a pid read from cgroup.procs belongs to a live member
        // until it is killed and reaped, and it is killed at once.
        for _ in 0..<50 {
            let left = processes()
            if left.isEmpty { break }
            for pid in left { kill(pid, SIGKILL) }
            usleep(2_000)
        }
    }
}

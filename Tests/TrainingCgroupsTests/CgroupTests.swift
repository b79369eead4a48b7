import Foundation
import Testing
@testable import TrainingCgroups
import TrainingFiles

@Suite("cgroups: where the controllers are, and a host's limits")
struct CgroupLayoutTests {
    /// This build machine: memory, cpu and pids as v1 hierarchies; v2 mounted with no controllers.
    static let hybridMountInfo = """
        31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
        32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
        33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
        34 31 0:31 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
        35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
        39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
        41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
        """
    static let hybridOwn = """
        8:pids:/
        5:devices:/
        4:memory:/process_api/2e5f
        1:cpu:/
        0::/
        """

    @Test("v1 controllers: each resource in its hierarchy, below the daemon's own cgroup; an empty v2 adds nothing")
    func hybrid() {
        let layout = CgroupLayout.detect(mountInfo: Self.hybridMountInfo, ownCgroups: Self.hybridOwn) { _ in "hugetlb\n" }
        #expect(layout.hierarchies == [
            .init(version: .v1, ownDirectory: "/sys/fs/cgroup/cpu", resources: [.cpu]),
            .init(version: .v1, ownDirectory: "/sys/fs/cgroup/devices", resources: [.devices]),
            .init(version: .v1, ownDirectory: "/sys/fs/cgroup/memory/process_api/2e5f", resources: [.memory]),
            .init(version: .v1, ownDirectory: "/sys/fs/cgroup/pids", resources: [.pids]),
        ])
        #expect(layout.missing.isEmpty)
    }

    @Test("v2 under systemd: the service's delegated cgroup offers the controllers; only device rules are missing (v2 has no devices files)")
    func unified() {
        let mountInfo = "25 21 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot"
        var asked: String?
        let layout = CgroupLayout.detect(mountInfo: mountInfo, ownCgroups: "0::/system.slice/trainingd.service/supervisor\n") { directory in
            asked = directory
            return "cpuset cpu io memory hugetlb pids rdma misc\n"
        }
        #expect(asked == "/sys/fs/cgroup/system.slice/trainingd.service/supervisor")
        #expect(layout.hierarchies == [.init(version: .v2, ownDirectory: "/sys/fs/cgroup/system.slice/trainingd.service/supervisor",
                                             resources: [.memory, .cpu, .pids])])
        #expect(layout.missing == [.devices])
    }

    @Test("v1 hierarchies with the kernel's expedited grace periods off get the advice that names /sys/kernel/rcu_expedited; on, unreadable, or v2: none")
    func slowJoinAdvice() {
        let hybrid = CgroupLayout.detect(mountInfo: Self.hybridMountInfo, ownCgroups: Self.hybridOwn) { _ in "" }
        let advice = hybrid.slowJoinAdvice(rcuExpedited: "0\n")
        #expect(advice?.contains("echo 1 > /sys/kernel/rcu_expedited") == true, "\(advice ?? "nil")")
        #expect(advice?.contains("each job host's start waits") == true, "\(advice ?? "nil")")
        let warm = hybrid.slowJoinAdvice(rcuExpedited: "0\n", warmKeepers: 2)
        #expect(warm?.contains("finds none of the 2 warm keepers ready") == true, "\(warm ?? "nil")")
        #expect(hybrid.slowJoinAdvice(rcuExpedited: "1\n") == nil)
        #expect(hybrid.slowJoinAdvice(rcuExpedited: nil) == nil)
        let unified = CgroupLayout(hierarchies: [.init(version: .v2, ownDirectory: "/sys/fs/cgroup/trainingd", resources: [.memory, .cpu, .pids])])
        #expect(unified.slowJoinAdvice(rcuExpedited: "0\n") == nil)
    }

    @Test("a controller missing everywhere is reported missing; a container's mount of a subtree maps the path below it")
    func missingAndSubtree() {
        let mountInfo = """
            40 31 0:33 /docker/abc /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory
            41 31 0:40 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
            """
        let layout = CgroupLayout.detect(mountInfo: mountInfo, ownCgroups: "4:memory:/docker/abc/inner\n0::/\n") { _ in "" }
        #expect(layout.hierarchies == [.init(version: .v1, ownDirectory: "/sys/fs/cgroup/memory/inner", resources: [.memory])])
        #expect(layout.missing == [.cpu, .pids, .devices])
        #expect(CgroupLayout.directory(mountPoint: "/sys/fs/cgroup/memory", mountRoot: "/docker/abc", ownPath: "/elsewhere") == nil)
    }

    @Test("the files and values of each limit, v1 and v2")
    func settings() {
        let limits = HostLimits(memoryBytes: 2 << 30, milliCPUs: 1500, processes: 4096)
        #expect(HostCgroups.settings(.memory, limits, .v1).map(\.0) == ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes?"])
        #expect(HostCgroups.settings(.memory, limits, .v2).first! == ("memory.max", "2147483648"))
        #expect(HostCgroups.settings(.cpu, limits, .v1).map(\.1) == ["100000", "150000"])
        #expect(HostCgroups.settings(.cpu, limits, .v2).first!.1 == "150000 100000")
        #expect(HostCgroups.settings(.pids, limits, .v2).first! == ("pids.max", "4096"))
        #expect(HostCgroups.settings(.memory, HostLimits(), .v1).isEmpty)
        let gpus = HostLimits(deniedDevices: [.nvidiaGPU(1), .nvidiaGPU(3)])
        #expect(HostCgroups.settings(.devices, gpus, .v1).map(\.1) == ["c 195:1 rwm", "c 195:3 rwm"])
        #expect(HostCgroups.settings(.devices, gpus, .v1).allSatisfy { $0.0 == "devices.deny" })
        #expect(HostLimits.gibibytes(2 << 30) == "2 GiB" && HostLimits.gibibytes(1536 << 20) == "1.5 GiB" && HostLimits.gibibytes(64 << 20) == "64 MiB")
    }
}

/// This machine's controllers, as the daemon would find them.
let machineLayout = CgroupLayout.ofThisProcess()

/// The machine's real controllers, as root: limits written, a process held, everything removed.
/// v1 only: on v2 the daemon's delegation would move this test process itself.
@Suite("cgroups on this machine",
       .enabled(if: geteuid() == 0 && machineLayout.missing.isEmpty && machineLayout.hierarchies.allSatisfy { $0.version == .v1 },
                "needs root and the memory, cpu, pids and devices controllers as cgroup v1"))
struct RealCgroups {
    static var layout: CgroupLayout { machineLayout }

    /// A shell that joins every cgroup of `host`, then waits to be killed; returned once it is
    /// listed there (or after 5 s).
    static func shellJoining(_ host: HostCgroup) throws -> Process {
        let joins = host.processFiles.map { "echo $$ > \($0)" }.joined(separator: "; ")
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", joins + "; exec sleep 30"]
        try shell.run()
        let deadline = Date().addingTimeInterval(5)
        while host.processes() != [shell.processIdentifier], Date() < deadline { usleep(10_000) }
        return shell
    }

    @Test("a host's cgroups get its limits; a process that joins is listed, killed and the cgroups removed")
    func roundTrip() throws {
        let cgroups = HostCgroups(layout: Self.layout, instance: "test-" + String(UUID().uuidString.prefix(8)))
        #expect(cgroups.unlimited().isEmpty)
        let host = try cgroups.create("job-1.algo-1", limits: HostLimits(memoryBytes: 256 << 20, milliCPUs: 500, processes: 32))
        let memory = try #require(host.hierarchies.first { $0.hierarchy.resources.contains(.memory) }).directory
        #expect(ProcFile.read(memory + "/memory.limit_in_bytes")?.trimmingCharacters(in: .whitespacesAndNewlines) == String(256 << 20))
        let pids = try #require(host.hierarchies.first { $0.hierarchy.resources.contains(.pids) }).directory
        #expect(ProcFile.read(pids + "/pids.max")?.trimmingCharacters(in: .whitespacesAndNewlines) == "32")
        let shell = try Self.shellJoining(host)
        #expect(host.processes() == [shell.processIdentifier])
        #expect(host.outOfMemoryKills() == 0)
        host.remove()
        shell.waitUntilExit()
        #expect(shell.terminationReason == .uncaughtSignal)
        for directory in host.directories { #expect(!FileManager.default.fileExists(atPath: directory), "\(directory)") }
        for base in cgroups.bases { rmdir(base.directory) }
    }

    @Test("a warm keeper's cgroups become a host's: renamed with the process inside, then the host's limits; removeAll(named:) takes the rest")
    func claim() throws {
        let cgroups = HostCgroups(layout: Self.layout, instance: "test-" + String(UUID().uuidString.prefix(8)))
        #expect(cgroups.supportsRenaming)
        let warm = try cgroups.create("_warm-1", limits: HostLimits())
        let shell = try Self.shellJoining(warm)
        // An earlier attempt's cgroups of the same name are emptied and replaced.
        _ = try cgroups.create("job-1.algo-1", limits: HostLimits(processes: 8))
        let host = try cgroups.claim("_warm-1", as: "job-1.algo-1", limits: HostLimits(memoryBytes: 256 << 20, processes: 32))
        #expect(host.processes() == [shell.processIdentifier], "the process moved with its cgroups")
        for directory in warm.directories { #expect(!FileManager.default.fileExists(atPath: directory), "\(directory)") }
        let pids = try #require(host.hierarchies.first { $0.hierarchy.resources.contains(.pids) }).directory
        #expect(ProcFile.read(pids + "/pids.max")?.trimmingCharacters(in: .whitespacesAndNewlines) == "32")
        let memory = try #require(host.hierarchies.first { $0.hierarchy.resources.contains(.memory) }).directory
        #expect(ProcFile.read(memory + "/memory.limit_in_bytes")?.trimmingCharacters(in: .whitespacesAndNewlines) == String(256 << 20))
        #expect(ProcFile.read("/proc/\(shell.processIdentifier)/cgroup")?.contains("/job-1.algo-1") == true)
        // Leftovers in some hierarchies only, one with a process inside: emptied and replaced there.
        let second = try cgroups.create("_warm-5", limits: HostLimits())
        let secondShell = try Self.shellJoining(second)
        let leftover = try cgroups.create("job-5.algo-1", limits: HostLimits())
        let busy = try Self.shellJoining(HostCgroup(name: leftover.name, hierarchies: Array(leftover.hierarchies.suffix(1))))
        for directory in leftover.directories.dropLast() { #expect(rmdir(directory) == 0, "\(directory)") }
        let claimed = try cgroups.claim("_warm-5", as: "job-5.algo-1", limits: HostLimits(processes: 16))
        busy.waitUntilExit()
        #expect(busy.terminationReason == .uncaughtSignal, "the leftover's process was killed")
        #expect(claimed.processes() == [secondShell.processIdentifier])
        claimed.remove()
        secondShell.waitUntilExit()
        // A claim of cgroups that are not there fails, naming them.
        #expect(throws: CgroupError.self) { try cgroups.claim("_warm-2", as: "job-2.algo-1", limits: HostLimits()) }
        host.remove()
        shell.waitUntilExit()
        _ = try cgroups.create("_warm-3", limits: HostLimits())
        _ = try cgroups.create("_warm-4", limits: HostLimits())
        cgroups.removeAll(named: "_warm-")
        for name in ["_warm-3", "_warm-4"] {
            for directory in cgroups.open(name).directories { #expect(!FileManager.default.fileExists(atPath: directory), "\(directory)") }
        }
        for base in cgroups.bases { rmdir(base.directory) }
    }
}

import Foundation
import Testing
import TrainingCgroups
import TrainingCore
import TrainingFiles
import TrainingStore

/// This machine's controllers, as the daemon finds them.
private let machineCgroups = CgroupLayout.ofThisProcess()

/// Each host held to its instance type by cgroups (`[limits]`), through the real daemon: a small
/// type of the site's own (1 vCPU, 128 MiB) and 64 processes.
@Suite("Limits: memory, CPU and processes per host",
       .enabled(if: geteuid() == 0 && machineCgroups.missing.isEmpty, "needs root and the memory, cpu and pids cgroup controllers"))
struct LimitsEndToEndTests {
    static let configuration = """
        [limits]
        processes_per_vcpu = 64
        [instance_types."ml.lab.tiny"]
        vcpus = 1
        memory = "128MiB"
        gpus = 0
        """

    static func tiny(_ daemon: DaemonHarness, _ name: String, image: String, maxRuntime: Int64 = 60) -> JSONValue {
        daemon.definition(name: name, image: image, maxRuntime: maxRuntime)
            .setting("ResourceConfig", ["InstanceType": "ml.lab.tiny", "InstanceCount": 1, "VolumeSizeInGB": 1])
    }

    /// The host's cgroup directory of `resource`'s hierarchy, from the algorithm's /proc/PID/cgroup
    /// and the hierarchy's mount point.
    static func cgroupDirectory(of pid: pid_t, _ resource: LimitedResource) -> String? {
        guard let version = machineCgroups.hierarchies.first(where: { $0.resources.contains(resource) })?.version,
              let lines = ProcFile.read("/proc/\(pid)/cgroup"),
              let mounts = ProcFile.read("/proc/self/mountinfo") else { return nil }
        let mountPoint = mounts.split(separator: "\n").compactMap { line -> String? in
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2 else { return nil }
            let fields = halves[1].split(separator: " "), point = String(halves[0].split(separator: " ")[4])
            if version == .v2 { return fields[0] == "cgroup2" ? point : nil }
            return fields[0] == "cgroup" && fields[2].split(separator: ",").contains(Substring(resource.rawValue)) ? point : nil
        }.first
        for line in lines.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3, let mountPoint else { continue }
            let matches = version == .v2 ? fields[0] == "0" : fields[1].split(separator: ",").contains(Substring(resource.rawValue))
            if matches { return mountPoint + String(fields[2]) }
        }
        return nil
    }

    static func algorithmPID(_ daemon: DaemonHarness, _ job: String) -> pid_t? {
        let started = (try? String(contentsOfFile: "\(daemon.root)/jobs/\(job)/.work/algorithm-algo-1.status.started", encoding: .utf8)) ?? ""
        return started.split(separator: "\n").first { $0.hasPrefix("algorithm_pid=") }.flatMap { pid_t($0.dropFirst("algorithm_pid=".count)) }
    }

    static func value(_ file: String) -> String? {
        ProcFile.read(file)?.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test("an algorithm that takes more memory than its type has is killed by the kernel, and FailureReason says out of memory with the limit")
    func outOfMemory() throws {
        let daemon = try DaemonHarness(config: Self.configuration)
        try daemon.start()
        let hungry = try daemon.script("hungry.sh", """
            echo allocating
            exec python3 -c '
            chunks = []
            for _ in range(64):
                chunks.append(bytearray(16 << 20))
            print("allocated", len(chunks) * 16, "MiB")
            '
            """)
        try daemon.submit(Self.tiny(daemon, "hungry", image: hungry), as: "hungry.json")
        let job = try daemon.waitForEnd("hungry")
        #expect(job.lifecycle.status == .failed)
        let reason = job.failureReason ?? ""
        #expect(reason.hasPrefix("AlgorithmError: algo-1: the kernel killed the algorithm: out of memory (limit 128 MiB)"), "\(reason)")
        #expect(reason.hasSuffix(", exit code: 137"), "\(reason)")
        #expect(!daemon.log("hungry").contains("allocated"), "the limit held: \(daemon.log("hungry"))")
    }

    @Test("a fork bomb stops at the process limit, the daemon stays responsive, and MaxRuntimeInSeconds ends all of it; the CPU and memory limits are set")
    func forkBomb() throws {
        let daemon = try DaemonHarness(config: Self.configuration)
        try daemon.start()
        // The main process waits (on a sleep started before the bomb, so that it has a child to wait for).
        // It forks nothing once the bomb runs: the bomb is one subshell started in the background, since
        // a shell that cannot fork exits (dash with 2), and a main process calling `bomb` itself forked
        // the pipeline's second half after the first had already filled the limit.
        let bomb = try daemon.script("bomb.sh", """
            bomb() { bomb | bomb & }
            sleep 300 &
            ( bomb ) &
            echo bombing
            wait
            """)
        try daemon.submit(Self.tiny(daemon, "bomb", image: bomb, maxRuntime: 6), as: "bomb.json")
        try daemon.waitFor("the bomb to start", timeout: 20) { daemon.log("bomb").contains("bombing") && Self.algorithmPID(daemon, "bomb") != nil }
        let pid = try #require(Self.algorithmPID(daemon, "bomb"))
        let pids = try #require(Self.cgroupDirectory(of: pid, .pids))
        let memory = try #require(Self.cgroupDirectory(of: pid, .memory))
        let cpu = try #require(Self.cgroupDirectory(of: pid, .cpu))
        #expect(pids.hasSuffix("/bomb.algo-1"), "the host's own cgroup: \(pids)")
        #expect(Self.value(pids + "/pids.max") == "64")
        let v2 = machineCgroups.hierarchies.first { $0.resources.contains(.memory) }?.version == .v2
        #expect(Self.value(memory + (v2 ? "/memory.max" : "/memory.limit_in_bytes")) == String(128 << 20))
        #expect(Self.value(cpu + (v2 ? "/cpu.max" : "/cpu.cfs_quota_us")) == (v2 ? "100000 100000" : "100000"))
        // The bomb reaches the limit, and no further; the daemon answers meanwhile.
        try daemon.waitFor("the process limit to be hit", timeout: 10) {
            (Self.value(pids + "/pids.events") ?? "").contains("max ") && !(Self.value(pids + "/pids.events") ?? "").contains("max 0")
        }
        #expect((Int(Self.value(pids + "/pids.current") ?? "") ?? 0) <= 64)
        let asked = Date()
        #expect(try daemon.jobctl(["list"]).status == 0)
        #expect(Date().timeIntervalSince(asked) < 5, "jobctl list took \(Date().timeIntervalSince(asked)) s")

        let job = try daemon.waitForEnd("bomb", timeout: 40)
        #expect(job.lifecycle.status.isTerminal)
        // Removed as the run ends, right after its outcome is recorded.
        try daemon.waitFor("the host's cgroup to be removed, with everything in it", timeout: 5) { !FileManager.default.fileExists(atPath: pids) }
        #expect(kill(pid, 0) != 0)
    }

    /// The parent of `pid` (its host pid), from /proc/PID/status.
    static func parent(of pid: pid_t) -> pid_t? {
        (ProcFile.read("/proc/\(pid)/status") ?? "").split(separator: "\n").first { $0.hasPrefix("PPid:") }
            .flatMap { pid_t($0.dropFirst("PPid:".count).trimmingCharacters(in: .whitespaces)) }
    }

    /// The daemon's warm keepers waiting now: its children started with `--warm`.
    static func warmKeepers(of daemon: pid_t) -> Set<pid_t> {
        Set(((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry), parent(of: pid) == daemon,
                  let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline") else { return nil }
            let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return arguments.count > 1 && arguments[1] == "--warm" ? pid : nil
        })
    }

    @Test("a host starts from a warm keeper: one waiting before the job came runs it, in the host's own cgroups with its limits; it is replaced, and a stop leaves no warm keeper or cgroup")
    func warmStart() throws {
        let daemon = try DaemonHarness(config: Self.configuration)
        try daemon.start()
        let daemonPID = try #require(daemon.lockHolder)
        try daemon.waitFor("two warm keepers", timeout: 10) { Self.warmKeepers(of: daemonPID).count == 2 }
        let waiting = Self.warmKeepers(of: daemonPID)
        let script = try daemon.script("waits.sh", "echo started; while [ ! -e \(daemon.root)/go ]; do sleep 0.05; done")
        try daemon.submit(Self.tiny(daemon, "warm", image: script), as: "warm.json")
        try daemon.waitFor("the job to start", timeout: 20) { daemon.log("warm").contains("started") && Self.algorithmPID(daemon, "warm") != nil }
        let pid = try #require(Self.algorithmPID(daemon, "warm"))
        let keeper = try #require(Self.parent(of: pid))
        #expect(waiting.contains(keeper), "the job's keeper \(keeper) is one of the warm keepers \(waiting.sorted())")
        let pids = try #require(Self.cgroupDirectory(of: pid, .pids))
        #expect(pids.hasSuffix("/warm.algo-1"), "the host's own cgroup: \(pids)")
        #expect(Self.value(pids + "/pids.max") == "64")
        try daemon.waitFor("a replacement warm keeper", timeout: 10) { Self.warmKeepers(of: daemonPID).count == 2 }
        FileManager.default.createFile(atPath: daemon.root + "/go", contents: nil)
        #expect(try daemon.waitForEnd("warm").lifecycle.status == .completed)

        let left = Self.warmKeepers(of: daemonPID)
        daemon.stop()
        for warm in left { #expect(kill(warm, 0) != 0, "warm keeper \(warm) outlived the daemon") }
        let base = (pids as NSString).deletingLastPathComponent
        let names = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        #expect(!names.contains { $0.hasPrefix("_warm-") }, "\(names)")
    }

    @Test("VolumeSizeInGB is a file system of that size: writing past it gives the algorithm ENOSPC; deleting the job unmounts it")
    func volumeSize() throws {
        try #require(access("/dev/loop-control", W_OK) == 0, "needs the loop driver")
        let daemon = try DaemonHarness(config: Self.configuration)
        try daemon.start()
        let filler = try daemon.script("filler.sh", """
            df -k /opt/ml | tail -1 | awk '{ print "volume kib", $2 }'
            ls -a /opt/ml | tr '\\n' ' '; echo
            stat -c 'volume root %U %a' /opt/ml
            dd if=/dev/zero of=/opt/ml/model/fill bs=1M count=1200 2>&1 | grep -i 'no space' || echo "wrote it all"
            rm -f /opt/ml/model/fill
            """)
        try daemon.submit(Self.tiny(daemon, "filler", image: filler), as: "filler.json")
        let job = try daemon.waitForEnd("filler")
        #expect(job.lifecycle.status == .completed, "\(job.failureReason ?? "")")
        let log = daemon.log("filler")
        #expect(log.contains("No space left on device"), "\(log)")
        let kib = log.split(separator: "\n").first { $0.contains("volume kib") }.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
        #expect(kib > 900 * 1024 && kib <= 1024 * 1024, "the volume is 1 GiB: \(kib) KiB")
        #expect(!log.contains("lost+found"), "\(log)")
        #expect(log.contains("volume root root 700"), "\(log)")
        let mountedPrefix = daemon.root + "/jobs/filler/"
        let mounted = { (ProcFile.read("/proc/self/mountinfo") ?? "").contains(mountedPrefix) }
        let transitions = (try? daemon.jobctl(["describe", "filler", "--json"]).stdout) ?? ""
        #expect(mounted(), "the volume stays mounted while the job's volume is kept: \(transitions)\n\(daemon.stderr)")
        #expect(try daemon.jobctl(["delete", "filler"]).status == 0)
        try daemon.waitFor("the volume to be unmounted", timeout: 10) { !mounted() }
    }

    @Test("where limits are off, the job runs and its status message says so")
    func unlimited() throws {
        let daemon = try DaemonHarness(config: Self.configuration.replacingOccurrences(of: "[limits]\n", with: "[limits]\ncgroups = \"none\"\nvolume_size = \"none\"\n"))
        try daemon.start()
        let script = try daemon.script("fine.sh", "echo fine")
        try daemon.submit(Self.tiny(daemon, "fine", image: script), as: "fine.json")
        #expect(try daemon.waitForEnd("fine").lifecycle.status == .completed)
        let described = try StrictJSONParser.parse(Array(try daemon.jobctl(["describe", "fine", "--json"]).stdout.utf8))
        let training = described["SecondaryStatusTransitions"]?.arrayValue?.first { $0["Status"] == "Training" }?["StatusMessage"]?.stringValue ?? ""
        #expect(training.contains("no memory, CPU or process limits ([limits] cgroups = \"none\")"), "\(training)")
        #expect(training.contains("VolumeSizeInGB is not enforced ([limits] volume_size = \"none\")"), "\(training)")
    }
}

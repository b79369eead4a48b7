import Foundation
import Testing
import TrainingCore

/// GPUs handed out whole and exclusively, on a machine with a configured list of (fake) GPUs:
/// this build machine has none, and the assignment logic does not care whether they are real.
@Suite("GPUs, assigned exclusively")
struct GPUEndToEndTests {
    /// Job slots to spare: only GPUs keep jobs waiting here.
    static let configuration = """
        max_concurrent = 8
        [capacity]
        cpus = 4096
        memory = "64TiB"
        gpus = [{ index = 0, uuid = "GPU-aaaa" }, { index = 1, uuid = "GPU-bbbb" }]
        """

    /// A job that says what it sees of GPUs, then waits for `<root>/release-<name>` (at most 60 s).
    static func gpuJob(_ daemon: DaemonHarness, _ name: String, type: String = "ml.g5.xlarge") throws -> JSONValue {
        let script = try daemon.script("gpu.sh", """
            echo "sees cuda=$CUDA_VISIBLE_DEVICES nvidia=$NVIDIA_VISIBLE_DEVICES sm=$SM_NUM_GPUS"
            i=0; while [ ! -e "\(daemon.root)/release-$TRAINING_JOB_NAME" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
            """)
        return daemon.definition(name: name, image: script)
            .setting("ResourceConfig", ["InstanceType": .string(type), "InstanceCount": 1, "VolumeSizeInGB": 1])
    }

    static func seen(_ daemon: DaemonHarness, _ name: String) throws -> String {
        var line = ""
        try daemon.waitFor("\(name) to report its GPUs", timeout: 30) {
            line = daemon.log(name).split(separator: "\n").first { $0.contains("sees cuda=") }.map(String.init) ?? ""
            return !line.isEmpty
        }
        return String(line[line.range(of: "sees ")!.upperBound...])
    }

    static func release(_ daemon: DaemonHarness, _ name: String) {
        FileManager.default.createFile(atPath: daemon.root + "/release-" + name, contents: nil)
    }

    @Test("each host gets GPUs of its own; a job waits while none is free and says so, a CPU job behind it backfills; one asking for more than the machine has is refused")
    func exclusive() throws {
        let daemon = try DaemonHarness(config: Self.configuration)
        try daemon.start()
        try daemon.submit(Self.gpuJob(daemon, "gpu-a"), as: "gpu-a.json")
        let a = try Self.seen(daemon, "gpu-a")
        try daemon.submit(Self.gpuJob(daemon, "gpu-b"), as: "gpu-b.json")
        let b = try Self.seen(daemon, "gpu-b")
        #expect(Set([a, b]) == ["cuda=0 nvidia=GPU-aaaa sm=1", "cuda=1 nvidia=GPU-bbbb sm=1"], "\(a) / \(b)")

        try daemon.submit(Self.gpuJob(daemon, "gpu-c"), as: "gpu-c.json")
        try daemon.waitFor("gpu-c to be accepted", timeout: 10) { try daemon.job("gpu-c") != nil }
        usleep(500_000)
        let waiting = try daemon.jobctl(["describe", "gpu-c", "--json"])
        let description = try StrictJSONParser.parse(Array(waiting.stdout.utf8))
        #expect(description["SecondaryStatus"] == "Pending")
        let message = description["SecondaryStatusTransitions"]?.arrayValue?.last?["StatusMessage"]?.stringValue ?? ""
        // gpu-a and gpu-b hold 4 vCPUs and 16 GiB each (ml.g5.xlarge), and both GPUs.
        #expect(message.hasPrefix("Waiting for capacity: the job's hosts need 1 GPU at once; free now: 4088 CPUs, 65504 GiB of memory, 0 GPUs; it starts next"), "\(message)")

        // A CPU job behind it starts at once (backfill): it needs none of the GPUs gpu-c waits for,
        // so it cannot delay it. It sees no GPU.
        let cpu = try daemon.script("cpu.sh", "echo cpu job sees cuda=[$CUDA_VISIBLE_DEVICES] nvidia=$NVIDIA_VISIBLE_DEVICES sm=$SM_NUM_GPUS")
        try daemon.submit(daemon.definition(name: "cpu-d", image: cpu), as: "cpu-d.json")
        #expect(try daemon.waitForEnd("cpu-d").lifecycle.status == .completed)
        #expect(daemon.log("cpu-d").contains("cpu job sees cuda=[] nvidia=void sm=0"), "\(daemon.log("cpu-d"))")
        #expect(try daemon.job("gpu-c")?.secondaryStatus == .pending)

        try daemon.submit(Self.gpuJob(daemon, "too-big", type: "ml.g5.12xlarge"), as: "too-big.json")
        try daemon.waitFor("the refusal", timeout: 10) { FileManager.default.fileExists(atPath: daemon.root + "/spool/rejected/too-big.json.error.json") }
        let report = try String(contentsOfFile: daemon.root + "/spool/rejected/too-big.json.error.json", encoding: .utf8)
        #expect(report.contains("ResourceLimitExceeded") && report.contains("ml.g5.12xlarge has 4 GPUs per instance, and this machine has 2"), "\(report)")

        // gpu-a ends: gpu-c gets the GPU it had.
        let freed = a
        Self.release(daemon, "gpu-a")
        #expect(try daemon.waitForEnd("gpu-a").lifecycle.status == .completed)
        #expect(try Self.seen(daemon, "gpu-c") == freed)
        for name in ["gpu-b", "gpu-c"] { Self.release(daemon, name) }
        for name in ["gpu-b", "gpu-c"] { #expect(try daemon.waitForEnd(name).lifecycle.status == .completed) }
    }

    @Test("an instance type of the site's own gets the GPUs its [instance_types] entry gives it")
    func siteInstanceType() throws {
        let daemon = try DaemonHarness(config: Self.configuration + """

            [instance_types."ml.lab.gpu"]
            vcpus = 1
            memory = "1GiB"
            gpus = 1
            """)
        try daemon.start()
        try daemon.submit(Self.gpuJob(daemon, "lab", type: "ml.lab.gpu"), as: "lab.json")
        let seen = try Self.seen(daemon, "lab")
        #expect(["cuda=0 nvidia=GPU-aaaa sm=1", "cuda=1 nvidia=GPU-bbbb sm=1"].contains(seen), "\(seen)")
        Self.release(daemon, "lab")
        #expect(try daemon.waitForEnd("lab").lifecycle.status == .completed)
    }

    @Test("a restart that adopts a running job gives its GPU to nobody else")
    func adoption() throws {
        let daemon = try DaemonHarness(config: Self.configuration, onDaemonStop: "keep_running")
        try daemon.start()
        try daemon.submit(Self.gpuJob(daemon, "held"), as: "held.json")
        let held = try Self.seen(daemon, "held")
        daemon.stop()
        try daemon.start()
        try daemon.waitFor("the job to be adopted", timeout: 20) { daemon.stderr.contains("job held: adopted") }
        try daemon.submit(Self.gpuJob(daemon, "after"), as: "after.json")
        let after = try Self.seen(daemon, "after")
        #expect(after != held, "the adopted job's GPU was handed out again: \(held)")
        try daemon.submit(Self.gpuJob(daemon, "third"), as: "third.json")
        try daemon.waitFor("third to be accepted", timeout: 10) { try daemon.job("third") != nil }
        usleep(500_000)
        #expect(try daemon.job("third")?.secondaryStatus == .pending, "both GPUs are held")
        Self.release(daemon, "held")
        #expect(try daemon.waitForEnd("held").lifecycle.status == .completed)
        #expect(try Self.seen(daemon, "third") == held)
        for name in ["after", "third"] { Self.release(daemon, name) }
        for name in ["after", "third"] { #expect(try daemon.waitForEnd(name).lifecycle.status == .completed) }
    }

    @Test("a host cannot open another host's GPU device node, only its own (the devices cgroup); nodes of no GPU are untouched",
          .enabled(if: geteuid() == 0 && FileManager.default.fileExists(atPath: "/sys/fs/cgroup/devices/devices.deny"), "needs root and the v1 devices controller"))
    func deviceNodes() throws {
        let daemon = try DaemonHarness(config: Self.configuration)
        // Stand-ins for /dev/nvidia0 and /dev/nvidia1 (NVIDIA's major 195); with no driver behind
        // them, opening one the host may use fails with ENXIO, one it may not with EPERM.
        for index in 0...1 {
            #expect(mknod(daemon.root + "/nvidia\(index)", S_IFCHR | 0o666, dev_t((195 << 8) | index)) == 0)
            chmod(daemon.root + "/nvidia\(index)", 0o666)
        }
        try daemon.start()
        let script = try daemon.script("open-gpus.sh", """
            mine=$CUDA_VISIBLE_DEVICES; other=$((1 - mine))
            cat \(daemon.root)/nvidia$mine 2>&1 | sed "s/^/own: /"
            cat \(daemon.root)/nvidia$other 2>&1 | sed "s/^/other: /"
            cat /dev/null && echo "null: readable"
            """)
        try daemon.submit(daemon.definition(name: "opener", image: script)
            .setting("ResourceConfig", ["InstanceType": "ml.g5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 1]), as: "opener.json")
        #expect(try daemon.waitForEnd("opener").lifecycle.status == .completed)
        let log = daemon.log("opener")
        #expect(log.contains("own: ") && log.contains("No such device or address"), "\(log)")
        #expect(log.contains("other: ") && log.contains("Operation not permitted"), "\(log)")
        #expect(log.contains("null: readable"), "\(log)")
    }

    @Test("an image's job gets the device nodes of its own GPUs in its /dev (and NVIDIA's control node), none of another's",
          .enabled(if: TestImage.available, "needs root, podman, buildah and busybox-static"))
    func containerDeviceNodes() throws {
        let image = try TestImage.busybox(["--entrypoint", #"["/bin/sh", "/run.sh"]"#], files: ["run.sh": """
            echo "dev: $(ls /dev | tr '\\n' ' ')"
            cat /dev/nvidia$CUDA_VISIBLE_DEVICES 2>&1 | sed "s/^/own: /"
            """])
        defer { image.remove() }
        let daemon = try DaemonHarness(config: Self.configuration)
        // Stand-ins for the driver's nodes (NVIDIA's major 195; nvidiactl is minor 255).
        let nodes = daemon.root + "/gpu-dev"
        try FileManager.default.createDirectory(atPath: nodes, withIntermediateDirectories: true)
        for (name, minor) in [("nvidia0", 0), ("nvidia1", 1), ("nvidiactl", 255)] {
            #expect(mknod(nodes + "/" + name, S_IFCHR | 0o666, dev_t((195 << 8) | minor)) == 0)
        }
        try daemon.start(environment: ["TRAININGD_TEST_HOOKS": "gpu-device-directory:" + nodes])
        try daemon.submit(daemon.definition(name: "boxed", image: image.reference)
            .setting("ResourceConfig", ["InstanceType": "ml.g5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 1]), as: "boxed.json")
        let job = try daemon.waitForEnd("boxed")
        let log = daemon.log("boxed")
        #expect(job.lifecycle.status == .completed, "\(job.failureReason ?? "") \(log)")
        let listed = log.split(separator: "\n").first { $0.contains("dev: ") }.map { Set($0.split(separator: " ").map(String.init)) } ?? []
        let gpus = listed.filter { $0.hasPrefix("nvidia") }
        #expect(gpus.count == 2 && gpus.contains("nvidiactl") && (gpus.contains("nvidia0") != gpus.contains("nvidia1")), "\(log)")
        #expect(log.contains("own: ") && log.contains("No such device or address"), "its own GPU's node opens as far as a driverless node can: \(log)")
    }
}

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

    @Test("each host gets GPUs of its own; a job waits while none is free and says so; one asking for more than the machine has is refused")
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
        #expect(message == "Waiting for capacity: the job's hosts need 1 GPU, 0 of 2 are free", "\(message)")

        // A CPU job behind it waits too: nothing overtakes the head of the queue.
        let cpu = try daemon.script("cpu.sh", "echo cpu job sees cuda=[$CUDA_VISIBLE_DEVICES] nvidia=$NVIDIA_VISIBLE_DEVICES sm=$SM_NUM_GPUS")
        try daemon.submit(daemon.definition(name: "cpu-d", image: cpu), as: "cpu-d.json")

        try daemon.submit(Self.gpuJob(daemon, "too-big", type: "ml.g5.12xlarge"), as: "too-big.json")
        try daemon.waitFor("the refusal", timeout: 10) { FileManager.default.fileExists(atPath: daemon.root + "/spool/rejected/too-big.json.error.json") }
        let report = try String(contentsOfFile: daemon.root + "/spool/rejected/too-big.json.error.json", encoding: .utf8)
        #expect(report.contains("ResourceLimitExceeded") && report.contains("ml.g5.12xlarge has 4 GPUs per instance, and this machine has 2"), "\(report)")

        // gpu-a ends: gpu-c gets the GPU it had, then the CPU job runs, seeing none.
        let freed = a
        Self.release(daemon, "gpu-a")
        #expect(try daemon.waitForEnd("gpu-a").lifecycle.status == .completed)
        #expect(try Self.seen(daemon, "gpu-c") == freed)
        #expect(try daemon.waitForEnd("cpu-d").lifecycle.status == .completed)
        #expect(daemon.log("cpu-d").contains("cpu job sees cuda=[] nvidia=void sm=0"), "\(daemon.log("cpu-d"))")
        for name in ["gpu-b", "gpu-c"] { Self.release(daemon, name) }
        for name in ["gpu-b", "gpu-c"] { #expect(try daemon.waitForEnd(name).lifecycle.status == .completed) }
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
}

// Scheduling decision time with a long queue against a short one, in the same run (issue 16).
//
// The machine: 64 CPUs, 512 GiB, 8 GPUs, 64 job slots. The jobs: mixed sizes (1 to 4 hosts of
// ml.m5.large, ml.m5.4xlarge, ml.c5.9xlarge, ml.g5.xlarge or ml.p3.8xlarge, scaled by 0.25), a
// few priorities, 100 owners. The machine is filled, then each round ends one running job and
// asks the scheduler for starts until it has none (each call is one decision), and submits as
// many new jobs as started, so the queue keeps its length. Reported: the median and p99 time of a
// decision for each queue length, and its ratio to the short baseline queue.
//
// Usage: trainingd-bench-scheduler [--queued 1000,10000,100000] [--baseline 100] [--rounds 20000]
import Foundation
import TrainingCore
import TrainingScheduler

struct Generator {
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15
    mutating func next(_ bound: Int) -> Int {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Int((state >> 33) % UInt64(bound))
    }
}

let machine = MachineCapacity(cpus: 64, memoryMiB: 512 * 1024, gpuDevices: (0..<8).map { GPUDevice(index: $0, uuid: "GPU-\($0)") },
                              instanceScale: 0.25)
let types = ["ml.m5.large", "ml.m5.4xlarge", "ml.c5.9xlarge", "ml.g5.xlarge", "ml.p3.8xlarge"]

func measure(queued: Int, rounds: Int) -> (median: Double, p99: Double, decisions: Int) {
    var random = Generator()
    var scheduler = Scheduler(capacity: machine.total, policy: .init(slots: 64, maxRunningPerOwner: nil, backfill: true))
    var sequence: Int64 = 0
    var now = 0.0
    func newJob() -> JobQueue.Entry {
        sequence += 1
        let spec = InstanceTypeCatalog.builtIn.spec(of: types[random.next(types.count)])!
        let hosts = 1 + random.next(4)
        let host = machine.need(of: spec)
        let need = ResourceAmount(milliCPUs: host.milliCPUs * hosts, memoryMiB: host.memoryMiB * hosts, gpus: min(8, host.gpus * hosts))
        return JobQueue.Entry(name: "job-\(sequence)", sequence: sequence, lane: .new, owner: UInt32(1000 + random.next(100)),
                              priority: random.next(10) == 0 ? 5 : 0, need: need, runtimeBound: Double(600 + random.next(86_400)))
    }
    for _ in 0..<queued { scheduler.queue.add(newJob()) }
    while scheduler.next(now: now) != nil {}
    // Top the queue up to its length after the first fill.
    while scheduler.queue.count < queued { scheduler.queue.add(newJob()) }
    var timings: [Double] = []
    timings.reserveCapacity(rounds * 2)
    var running = Array(scheduler.running.keys)
    for _ in 0..<rounds {
        now += 1
        if !running.isEmpty {
            let index = random.next(running.count)
            scheduler.ended(running[index])
            running.swapAt(index, running.count - 1)
            running.removeLast()
        }
        while true {
            let start = DispatchTime.now().uptimeNanoseconds
            let started = scheduler.next(now: now)
            timings.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1000)
            guard let started else { break }
            running.append(started.name)
            scheduler.queue.add(newJob())
        }
    }
    timings.sort()
    return (timings[timings.count / 2], timings[min(timings.count - 1, timings.count * 99 / 100)], timings.count)
}

var arguments = CommandLine.arguments.dropFirst()
var lengths = [1_000, 10_000, 100_000], baseline = 100, rounds = 20_000
while let flag = arguments.popFirst() {
    let value = arguments.popFirst() ?? ""
    switch flag {
    case "--queued": lengths = value.split(separator: ",").compactMap { Int($0) }
    case "--baseline": baseline = Int(value) ?? baseline
    case "--rounds": rounds = Int(value) ?? rounds
    default: FileHandle.standardError.write("unknown option \(flag)\n".data(using: .utf8)!); exit(2)
    }
}
// Warm-up, then the measured runs, the baseline first.
_ = measure(queued: baseline, rounds: rounds / 10)
let short = measure(queued: baseline, rounds: rounds)
print("| waiting jobs | decisions | median (µs) | p99 (µs) | ratio to \(baseline) waiting (median, p99) |")
print("|---|---|---|---|---|")
print(String(format: "| %d (baseline) | %d | %.2f | %.2f | 1.00x, 1.00x |", baseline, short.decisions, short.median, short.p99))
for length in lengths {
    let long = measure(queued: length, rounds: rounds)
    print(String(format: "| %d | %d | %.2f | %.2f | %.2fx, %.2fx |", length, long.decisions, long.median, long.p99,
                 long.median / short.median, long.p99 / short.p99))
}
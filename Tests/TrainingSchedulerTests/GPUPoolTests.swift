import Testing
import TrainingCore
import TrainingScheduler

@Suite("GPU pool")
struct GPUPoolTests {
    static let devices = (0..<4).map { GPUDevice(index: $0, uuid: "GPU-\($0)") }

    @Test("whole GPUs per host, lowest first, never two holders; too few free takes nothing; released ones serve again")
    func exclusive() throws {
        var pool = GPUPool(devices: Self.devices.reversed())
        let assigned = pool.assign(job: "a", perHost: [("algo-1", 1), ("algo-2", 2)])
        let first = try #require(assigned)
        #expect(first == ["algo-1": [Self.devices[0]], "algo-2": [Self.devices[1], Self.devices[2]]])
        let tooMany = pool.assign(job: "b", perHost: [("algo-1", 2)])
        #expect(tooMany == nil)
        #expect(pool.free == [Self.devices[3]])
        let again = pool.assign(job: "a", perHost: [("algo-1", 4)])
        #expect(again == first, "asking again gives what the job holds")
        let none = pool.assign(job: "c", perHost: [("algo-1", 0)])
        #expect(none == [:])
        pool.release(job: "a")
        let afterRelease = pool.assign(job: "b", perHost: [("algo-1", 2)])
        #expect(afterRelease == ["algo-1": [Self.devices[0], Self.devices[1]]])
    }

    @Test("an adopted job's GPUs are taken back first; one held already, or gone from the machine, is refused")
    func restore() {
        var pool = GPUPool(devices: Self.devices)
        let refusedOld = pool.restore(job: "old", ["algo-1": [Self.devices[2]]])
        #expect(refusedOld.isEmpty)
        let fresh = pool.assign(job: "new", perHost: [("algo-1", 3)])
        #expect(fresh?["algo-1"] == [Self.devices[0], Self.devices[1], Self.devices[3]])
        let gone = GPUDevice(index: 9, uuid: "GPU-9")
        var other = GPUPool(devices: Self.devices)
        other.restore(job: "x", ["algo-1": [Self.devices[0]]])
        let refused = other.restore(job: "y", ["algo-1": [Self.devices[0], gone, Self.devices[1]]])
        #expect(refused == [Self.devices[0], gone])
        #expect(other.assignment(of: "y") == ["algo-1": [Self.devices[1]]])
    }

    @Test("GPUs per instance type, from AWS's figures")
    func instanceTypes() {
        #expect(TrainingInstanceTypes.gpus(of: "ml.m5.xlarge") == 0)
        #expect(TrainingInstanceTypes.gpus(of: "ml.g5.xlarge") == 1)
        #expect(TrainingInstanceTypes.gpus(of: "ml.g5.12xlarge") == 4)
        #expect(TrainingInstanceTypes.gpus(of: "ml.g6e.48xlarge") == 8)
        #expect(TrainingInstanceTypes.gpus(of: "ml.p3.8xlarge") == 4)
        #expect(TrainingInstanceTypes.gpus(of: "ml.p4d.24xlarge") == 8)
        #expect(TrainingInstanceTypes.gpus(of: "ml.trn1.32xlarge") == 0)
        // Every accelerated NVIDIA type of the catalog has a count.
        for type in TrainingInstanceTypes.all where type.hasPrefix("ml.p") || type.hasPrefix("ml.g") {
            #expect(TrainingInstanceTypes.gpus(of: type) >= 1, "\(type)")
        }
    }
}

import Testing
import TrainingCore
@testable import TrainingStore

@Suite("GPU assignments")
struct GPUAssignmentTests {
    @Test("recorded by host, replaced by the next attempt's, cleared, and gone with the job")
    func roundTrip() throws {
        let scratch = try Scratch()
        let store = try scratch.openStore()
        let id = try store.recordSubmission(Fixtures.submission("gpus")).id
        #expect(try store.gpuAssignment(job: id).isEmpty)
        let first: [String: [GPUDevice]] = ["algo-1": [GPUDevice(index: 0, uuid: "GPU-a")], "algo-2": [GPUDevice(index: 2, uuid: "GPU-c"), GPUDevice(index: 3, uuid: "")]]
        try store.recordGPUAssignment(job: id, first)
        #expect(try store.gpuAssignment(job: id) == first)
        try store.recordGPUAssignment(job: id, ["algo-1": [GPUDevice(index: 1, uuid: "GPU-b")]])
        #expect(try store.gpuAssignment(job: id) == ["algo-1": [GPUDevice(index: 1, uuid: "GPU-b")]])
        try store.clearGPUAssignment(job: id)
        #expect(try store.gpuAssignment(job: id).isEmpty)
        try store.recordGPUAssignment(job: id, first)
        try store.drive(id, [.fail], from: 2)
        try store.deleteJob(named: "gpus")
        #expect(try store.gpuAssignment(job: id).isEmpty)
    }
}

import Foundation
import Testing
@testable import TrainingConfig
import TrainingCore

@Suite("GPU discovery: nvidia-smi, else the driver's device nodes")
struct GPUDiscoveryTests {
    /// The shape of `nvidia-smi -q` (driver 535), two GPUs, cut down to what matters and around it.
    static let nvidiaSMI = """

        ==============NVSMI LOG==============

        Timestamp                                 : Thu Dec  3 07:00:00 2026
        Driver Version                            : 535.104.05
        CUDA Version                              : 12.2

        Attached GPUs                             : 2
        GPU 00000000:00:1B.0
            Product Name                          : Tesla T4
            GPU UUID                              : GPU-1b1b1b1b-0000-0000-0000-000000000001
            Minor Number                          : 1
            GPU Part Number                       : 900-2G183-0000-001
            GPU Reset Status
                Reset Required                    : No

        GPU 00000000:00:1E.0
            Product Name                          : Tesla T4
            GPU UUID                              : GPU-1e1e1e1e-0000-0000-0000-000000000000
            Minor Number                          : 0

        """

    @Test("nvidia-smi -q: each GPU block's UUID and minor number, by minor number")
    func parseNvidiaSMI() {
        #expect(GPUDiscovery.parse(Self.nvidiaSMI) == [
            GPUDevice(index: 0, uuid: "GPU-1e1e1e1e-0000-0000-0000-000000000000"),
            GPUDevice(index: 1, uuid: "GPU-1b1b1b1b-0000-0000-0000-000000000001"),
        ])
        let driver = "Model: \t\t Tesla T4\nIRQ:   \t\t 36\nGPU UUID: \t GPU-abc\nDevice Minor: \t 3\n"
        #expect(GPUDiscovery.parse(driver) == [GPUDevice(index: 3, uuid: "GPU-abc")])
        #expect(GPUDiscovery.parse("No devices were found\n").isEmpty)
    }

    @Test("detection runs nvidia-smi where it is installed; without it, the driver's nodes (none on this machine)")
    func detect() throws {
        let directory = NSTemporaryDirectory() + "gpu-discovery-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.nvidiaSMI.write(toFile: directory + "/answer", atomically: true, encoding: .utf8)
        let tool = directory + "/nvidia-smi"
        try "#!/bin/sh\n[ \"$1\" = -q ] && exec cat \(directory)/answer\nexit 9\n".write(toFile: tool, atomically: true, encoding: .utf8)
        chmod(tool, 0o755)
        #expect(GPUDiscovery.detect(nvidiaSMI: [directory + "/missing", tool]).map(\.index) == [0, 1])
        #expect(GPUDiscovery.detect(nvidiaSMI: [directory + "/missing"]) == GPUDiscovery.fromDriver())
    }
}

import Foundation
import TrainingCore
import TrainingFiles

/// The machine's NVIDIA GPUs, when the configuration does not list them (`[capacity] gpus`):
/// what `nvidia-smi -q` reports (NVIDIA's own tool, over NVML), else the driver's device nodes
/// (`/dev/nvidiaN`) with the UUIDs of `/proc/driver/nvidia/gpus/*/information`. Each GPU's index
/// is its minor number, as in `/dev/nvidiaN`.
enum GPUDiscovery {
    static let nvidiaSMI = ["/usr/bin/nvidia-smi", "/usr/local/bin/nvidia-smi"]

    static func detect(nvidiaSMI candidates: [String] = nvidiaSMI) -> [GPUDevice] {
        if let tool = candidates.first(where: { access($0, X_OK) == 0 }),
           let answer = try? HostCommand.run(tool, ["-q"], timeout: .seconds(20), outputLimit: 4 << 20), answer.status == 0 {
            let devices = parse(String(decoding: answer.standardOutput, as: UTF8.self))
            if !devices.isEmpty { return devices }
        }
        return fromDriver()
    }

    /// GPUs from `nvidia-smi -q` or a `/proc/driver/nvidia/gpus/*/information` file: each block's
    /// "GPU UUID" and "Minor Number" (nvidia-smi) or "Device Minor" (the driver), in that order.
    static func parse(_ text: String) -> [GPUDevice] {
        var devices: [GPUDevice] = []
        var uuid: String?
        var minor: Int?
        func flush() {
            if let uuid, let minor { devices.append(GPUDevice(index: minor, uuid: uuid)) }
            (uuid, minor) = (nil, nil)
        }
        for line in text.split(separator: "\n") {
            let pair = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            // nvidia-smi starts each GPU's block with "GPU 00000000:00:1E.0" (no colon after the key).
            if line.hasPrefix("GPU "), !line.hasPrefix("GPU UUID") { flush() }
            guard pair.count == 2 else { continue }
            if pair[0] == "GPU UUID" { uuid = pair[1] }
            if pair[0] == "Minor Number" || pair[0] == "Device Minor" { minor = Int(pair[1]) }
        }
        flush()
        return devices.sorted { $0.index < $1.index }
    }

    /// The driver's `/dev/nvidiaN` nodes, with their UUIDs from /proc (empty when it does not say).
    static func fromDriver() -> [GPUDevice] {
        var uuids: [Int: String] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/driver/nvidia/gpus")) ?? [] {
            guard let text = try? String(contentsOfFile: "/proc/driver/nvidia/gpus/\(entry)/information", encoding: .utf8) else { continue }
            for device in parse(text) { uuids[device.index] = device.uuid }
        }
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/dev")) ?? []).compactMap { name -> GPUDevice? in
            guard name.hasPrefix("nvidia"), let index = Int(name.dropFirst("nvidia".count)) else { return nil }
            return GPUDevice(index: index, uuid: uuids[index] ?? "")
        }.sorted { $0.index < $1.index }
    }
}

/// One GPU of the machine: its index (what `CUDA_VISIBLE_DEVICES` and `/dev/nvidiaN` name) and its
/// UUID (what `NVIDIA_VISIBLE_DEVICES` names, stable across reboots).
public struct GPUDevice: Sendable, Hashable, Codable, CustomStringConvertible {
    public var index: Int
    public var uuid: String

    public init(index: Int, uuid: String) {
        self.index = index
        self.uuid = uuid
    }

    public var description: String { uuid.isEmpty ? "GPU \(index)" : "GPU \(index) (\(uuid))" }
}

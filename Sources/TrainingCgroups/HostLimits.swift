import Foundation

/// What one host of a job may use: its instance type's memory and vCPUs (scaled as the site
/// maps instance types onto this machine) and a number of processes. nil: no limit asked.
public struct HostLimits: Sendable, Equatable {
    public var memoryBytes: UInt64?
    /// CPU time per wall-clock second, in thousandths of a CPU (1500: one and a half CPUs).
    public var milliCPUs: Int?
    /// Processes and threads at once.
    public var processes: Int?
    /// Character devices the host may not open, as (major, minor): the machine's GPUs that are
    /// not the host's.
    public var deniedDevices: [DeviceNumber]

    public init(memoryBytes: UInt64? = nil, milliCPUs: Int? = nil, processes: Int? = nil, deniedDevices: [DeviceNumber] = []) {
        self.memoryBytes = memoryBytes
        self.milliCPUs = milliCPUs
        self.processes = processes
        self.deniedDevices = deniedDevices
    }

    /// "8 GiB", "1.5 GiB", "512 MiB".
    public static func gibibytes(_ bytes: UInt64) -> String {
        let mebibytes = Double(bytes) / Double(1 << 20)
        if mebibytes < 1024 { return "\(Int(mebibytes.rounded())) MiB" }
        let gibibytes = mebibytes / 1024
        return gibibytes == gibibytes.rounded() ? "\(Int(gibibytes)) GiB" : String(format: "%.1f GiB", gibibytes)
    }
}

/// A character device's number.
public struct DeviceNumber: Sendable, Equatable {
    public var major: Int
    public var minor: Int
    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// NVIDIA's GPU nodes, /dev/nvidiaN: major 195, minor N.
    public static func nvidiaGPU(_ index: Int) -> DeviceNumber { DeviceNumber(major: 195, minor: index) }
}

/// The resources a cgroup controller limits for a host.
public enum LimitedResource: String, Sendable, CaseIterable, Comparable {
    case memory, cpu, pids
    /// Which device nodes it may open (v1's devices controller; v2 needs an eBPF program instead).
    case devices

    public static func < (a: LimitedResource, b: LimitedResource) -> Bool { a.rawValue < b.rawValue }
}

/// An amount of the machine's resources: what a job's hosts need, what is free, what the machine has.
public struct ResourceAmount: Sendable, Hashable, Codable, CustomStringConvertible {
    /// CPUs in thousandths, so that scaled-down instance types keep their proportions.
    public var milliCPUs: Int
    public var memoryMiB: Int
    public var gpus: Int

    public init(milliCPUs: Int = 0, memoryMiB: Int = 0, gpus: Int = 0) {
        self.milliCPUs = milliCPUs
        self.memoryMiB = memoryMiB
        self.gpus = gpus
    }

    public static let zero = ResourceAmount()

    public static func + (a: ResourceAmount, b: ResourceAmount) -> ResourceAmount {
        ResourceAmount(milliCPUs: a.milliCPUs + b.milliCPUs, memoryMiB: a.memoryMiB + b.memoryMiB, gpus: a.gpus + b.gpus)
    }

    public static func - (a: ResourceAmount, b: ResourceAmount) -> ResourceAmount {
        ResourceAmount(milliCPUs: a.milliCPUs - b.milliCPUs, memoryMiB: a.memoryMiB - b.memoryMiB, gpus: a.gpus - b.gpus)
    }

    /// Every resource of `self` is at most `other`'s.
    public func fits(in other: ResourceAmount) -> Bool {
        milliCPUs <= other.milliCPUs && memoryMiB <= other.memoryMiB && gpus <= other.gpus
    }

    /// Each resource at most `limit`'s (a job allowed to oversubscribe gets what there is).
    public func capped(at limit: ResourceAmount) -> ResourceAmount {
        ResourceAmount(milliCPUs: min(milliCPUs, limit.milliCPUs), memoryMiB: min(memoryMiB, limit.memoryMiB), gpus: min(gpus, limit.gpus))
    }

    /// The largest fraction of `total` this amount takes of any one resource (its dominant share).
    public func share(of total: ResourceAmount) -> Double {
        func fraction(_ part: Int, _ whole: Int) -> Double { whole > 0 ? Double(part) / Double(whole) : 0 }
        return max(fraction(milliCPUs, total.milliCPUs), fraction(memoryMiB, total.memoryMiB), fraction(gpus, total.gpus))
    }

    /// The resources of which `self` has less than `needed`, in words ("1.5 CPUs", "4 GiB of memory").
    public func shortfall(for needed: ResourceAmount) -> [String] {
        var short: [String] = []
        if needed.milliCPUs > milliCPUs { short.append(Self.cpus(needed.milliCPUs)) }
        if needed.memoryMiB > memoryMiB { short.append(Self.memory(needed.memoryMiB) + " of memory") }
        if needed.gpus > gpus { short.append("\(needed.gpus) GPU\(needed.gpus == 1 ? "" : "s")") }
        return short
    }

    public var description: String {
        "\(Self.cpus(milliCPUs)), \(Self.memory(memoryMiB)) of memory, \(gpus) GPU\(gpus == 1 ? "" : "s")"
    }

    public static func cpus(_ milliCPUs: Int) -> String {
        let whole = milliCPUs % 1000 == 0
        let text = whole ? String(milliCPUs / 1000) : String(format: "%.2f", Double(milliCPUs) / 1000)
        return "\(text) CPU\(milliCPUs == 1000 ? "" : "s")"
    }

    public static func memory(_ mebibytes: Int) -> String {
        mebibytes % 1024 == 0 ? "\(mebibytes / 1024) GiB" : mebibytes >= 1024 ? String(format: "%.1f GiB", Double(mebibytes) / 1024) : "\(mebibytes) MiB"
    }
}

/// What this machine offers jobs, and how instance types map onto it: each host of a job needs its
/// instance type's vCPUs and memory times ``instanceScale`` (1 maps them exactly; a development
/// machine may say 0.25), and its type's GPUs, whole. Used at submission (a job that can never fit
/// is refused) and by the scheduler (a job waits until its hosts fit).
public struct MachineCapacity: Sendable, Equatable {
    public var cpus: Int
    public var memoryMiB: Int
    /// The GPUs jobs are given, whole and exclusively (`[capacity] gpus`, else those detected).
    public var gpuDevices: [GPUDevice]
    public var gpus: Int { gpuDevices.count }
    /// `[capacity] instance_scale`: the factor on an instance type's vCPUs and memory.
    public var instanceScale: Double
    /// Run jobs that ask for more than the machine has (slower, on what there is).
    public var allowsOversubscription: Bool

    public init(cpus: Int, memoryMiB: Int = Int.max / 4, gpuDevices: [GPUDevice], instanceScale: Double = 1, allowsOversubscription: Bool = false) {
        self.cpus = cpus
        self.memoryMiB = memoryMiB
        self.gpuDevices = gpuDevices
        self.instanceScale = instanceScale
        self.allowsOversubscription = allowsOversubscription
    }

    public var total: ResourceAmount { ResourceAmount(milliCPUs: cpus * 1000, memoryMiB: memoryMiB, gpus: gpus) }

    /// What one host of `spec`'s type needs here (at least a thousandth of a CPU and 1 MiB).
    public func need(of spec: InstanceSpec) -> ResourceAmount {
        ResourceAmount(milliCPUs: max(1, Int((Double(spec.vcpus * 1000) * instanceScale).rounded(.up))),
                       memoryMiB: max(1, Int((Double(spec.memoryMiB) * instanceScale).rounded(.up))),
                       gpus: spec.gpus)
    }

    /// What all hosts of a job need at once (they all run on this machine); with oversubscription
    /// allowed, at most what the machine has.
    public func need(of resources: ResourceConfig, catalog: InstanceTypeCatalog) -> ResourceAmount {
        let needed = resources.effectiveInstanceGroups.reduce(ResourceAmount.zero) { sum, group in
            guard let spec = catalog.spec(of: group.instanceType) else { return sum }
            let host = need(of: spec)
            return sum + ResourceAmount(milliCPUs: host.milliCPUs * group.instanceCount, memoryMiB: host.memoryMiB * group.instanceCount,
                                        gpus: host.gpus * group.instanceCount)
        }
        return allowsOversubscription ? needed.capped(at: total) : needed
    }
}

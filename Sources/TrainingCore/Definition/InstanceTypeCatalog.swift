/// What one instance of a type offers: vCPUs, memory and NVIDIA GPUs.
public struct InstanceSpec: Sendable, Equatable, Codable {
    public var vcpus: Int
    /// Memory in MiB (c4's 7.5 GiB is not a whole number of GiB).
    public var memoryMiB: Int
    public var gpus: Int

    public init(vcpus: Int, memoryMiB: Int, gpus: Int = 0) {
        self.vcpus = vcpus
        self.memoryMiB = memoryMiB
        self.gpus = gpus
    }
}

/// The instance types jobs may ask for, with what each offers: SageMaker's training types (AWS's
/// published figures) and the configuration's `[instance_types."NAME"]`, which override a built-in
/// type's figures or add a type of their own.
public struct InstanceTypeCatalog: Sendable, Equatable {
    public private(set) var specs: [String: InstanceSpec]

    /// SageMaker's training instance types only.
    public static let builtIn = InstanceTypeCatalog(specs: TrainingInstanceTypes.specs)

    public init(specs: [String: InstanceSpec]) {
        self.specs = specs
    }

    /// The built-in types with `overrides` laid over them.
    public func adding(_ overrides: [String: InstanceSpec]) -> InstanceTypeCatalog {
        InstanceTypeCatalog(specs: specs.merging(overrides) { _, configured in configured })
    }

    public func spec(of instanceType: String) -> InstanceSpec? { specs[instanceType] }

    public var names: [String] { specs.keys.sorted() }

    /// The known types nearest to a misspelt one, nearest first: same family and size words
    /// count most, so `ml.m5.huge` suggests the m5 sizes rather than `ml.g5.xlarge`.
    public func closest(to instanceType: String, count: Int = 4) -> [String] {
        let lowered = instanceType.lowercased()
        let family = lowered.split(separator: ".").dropFirst().first.map(String.init)
        return specs.keys
            .map { name -> (String, Int) in
                let nameFamily = name.split(separator: ".").dropFirst().first.map(String.init)
                // A different family costs as much as a few letters: the family is what a user means.
                let familyPenalty = family != nil && family == nameFamily ? 0 : 3
                return (name, Spelling.distance(lowered, name) + familyPenalty)
            }
            .sorted { $0.1 != $1.1 ? $0.1 < $1.1 : $0.0 < $1.0 }
            .prefix(count)
            .map(\.0)
    }
}

extension TrainingInstanceTypes {
    /// vCPUs, memory (GiB, except where noted) and GPUs of every type in ``all``, from AWS's
    /// published instance specifications. Regular families follow their size ladder; the rest are
    /// listed one by one.
    static let specs: [String: InstanceSpec] = {
        var table: [String: InstanceSpec] = [:]
        // vCPUs per size word, for the families whose sizes follow EC2's ladder.
        let ladder: [String: Int] = [
            "medium": 2, "large": 2, "xlarge": 4, "2xlarge": 8, "4xlarge": 16, "8xlarge": 32, "9xlarge": 36,
            "10xlarge": 40, "12xlarge": 48, "16xlarge": 64, "18xlarge": 72, "24xlarge": 96, "32xlarge": 128, "48xlarge": 192,
        ]
        // GiB of memory per vCPU of each such family.
        let memoryPerVCPU: [String: Int] = [
            "m4": 4, "m5": 4, "m6i": 4, "m7i": 4, "c5": 2, "c6i": 2, "c7i": 2, "r5": 8, "r5d": 8, "r7i": 8,
        ]
        for name in all {
            let parts = name.split(separator: ".").map(String.init)
            guard parts.count == 3, let perVCPU = memoryPerVCPU[parts[1]], let vcpus = ladder[parts[2]] else { continue }
            table[name] = InstanceSpec(vcpus: vcpus, memoryMiB: vcpus * perVCPU * 1024)
        }
        func gib(_ vcpus: Int, _ memory: Double, _ gpus: Int = 0) -> InstanceSpec {
            InstanceSpec(vcpus: vcpus, memoryMiB: Int(memory * 1024), gpus: gpus)
        }
        let listed: [String: InstanceSpec] = [
            "ml.t3.medium": gib(2, 4), "ml.t3.large": gib(2, 8), "ml.t3.xlarge": gib(4, 16), "ml.t3.2xlarge": gib(8, 32),
            "ml.c4.xlarge": gib(4, 7.5), "ml.c4.2xlarge": gib(8, 15), "ml.c4.4xlarge": gib(16, 30), "ml.c4.8xlarge": gib(36, 60),
            "ml.c5n.xlarge": gib(4, 10.5), "ml.c5n.2xlarge": gib(8, 21), "ml.c5n.4xlarge": gib(16, 42),
            "ml.c5n.9xlarge": gib(36, 96), "ml.c5n.18xlarge": gib(72, 192),
            "ml.p2.xlarge": gib(4, 61, 1), "ml.p2.8xlarge": gib(32, 488, 8), "ml.p2.16xlarge": gib(64, 732, 16),
            "ml.p3.2xlarge": gib(8, 61, 1), "ml.p3.8xlarge": gib(32, 244, 4), "ml.p3.16xlarge": gib(64, 488, 8),
            "ml.p3dn.24xlarge": gib(96, 768, 8),
            "ml.p4d.24xlarge": gib(96, 1152, 8), "ml.p4de.24xlarge": gib(96, 1152, 8),
            "ml.p5.4xlarge": gib(16, 256, 1), "ml.p5.48xlarge": gib(192, 2048, 8), "ml.p5e.48xlarge": gib(192, 2048, 8),
            "ml.p5en.48xlarge": gib(192, 2048, 8),
            "ml.p6-b200.48xlarge": gib(192, 2048, 8), "ml.p6-b300.48xlarge": gib(192, 4096, 8),
            "ml.p6e-gb200.36xlarge": gib(144, 960, 4),
            "ml.g4dn.xlarge": gib(4, 16, 1), "ml.g4dn.2xlarge": gib(8, 32, 1), "ml.g4dn.4xlarge": gib(16, 64, 1),
            "ml.g4dn.8xlarge": gib(32, 128, 1), "ml.g4dn.12xlarge": gib(48, 192, 4), "ml.g4dn.16xlarge": gib(64, 256, 1),
            "ml.g7e.2xlarge": gib(8, 64, 1), "ml.g7e.4xlarge": gib(16, 128, 1), "ml.g7e.8xlarge": gib(32, 256, 1),
            "ml.g7e.12xlarge": gib(48, 512, 2), "ml.g7e.24xlarge": gib(96, 1024, 4), "ml.g7e.48xlarge": gib(192, 2048, 8),
            "ml.trn1.2xlarge": gib(8, 32), "ml.trn1.32xlarge": gib(128, 512), "ml.trn1n.32xlarge": gib(128, 512),
            "ml.trn2.48xlarge": gib(192, 2048),
        ]
        table.merge(listed) { _, listed in listed }
        // G5 and G6 share their shapes; G6e has twice their memory. One GPU but for the big sizes.
        let gSizes: [(String, Int, Int, Int)] = [
            ("xlarge", 4, 16, 1), ("2xlarge", 8, 32, 1), ("4xlarge", 16, 64, 1), ("8xlarge", 32, 128, 1),
            ("16xlarge", 64, 256, 1), ("12xlarge", 48, 192, 4), ("24xlarge", 96, 384, 4), ("48xlarge", 192, 768, 8),
        ]
        for (size, vcpus, memory, gpus) in gSizes {
            table["ml.g5.\(size)"] = gib(vcpus, Double(memory), gpus)
            table["ml.g6.\(size)"] = gib(vcpus, Double(memory), gpus)
            table["ml.g6e.\(size)"] = gib(vcpus, Double(memory * 2), gpus)
        }
        return table
    }()
}

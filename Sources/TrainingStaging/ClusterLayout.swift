public import TrainingCore

/// The hosts of a job, named as SageMaker names them (`algo-1`, `algo-2`, ...), with their groups.
public struct ClusterLayout: Sendable, Equatable {
    public struct Host: Sendable, Equatable {
        public var name: String
        /// 0-based position among all hosts sorted by name, as SM_CURRENT_HOST_RANK counts.
        public var rank: Int
        public var instanceType: String
        public var groupName: String
    }

    public var hosts: [Host]
    public var groups: [InstanceGroup]

    /// The name of the `number`th host, counted from 1.
    public static func hostName(_ number: Int) -> String { "algo-\(number)" }

    public init(resources: ResourceConfig) {
        groups = resources.effectiveInstanceGroups
        var named: [(String, InstanceGroup)] = []
        for group in groups {
            for _ in 0..<group.instanceCount { named.append((Self.hostName(named.count + 1), group)) }
        }
        let sortedNames = named.map(\.0).sorted()
        hosts = named.map { name, group in
            Host(name: name, rank: sortedNames.firstIndex(of: name)!, instanceType: group.instanceType, groupName: group.instanceGroupName)
        }
    }

    /// Every host name, sorted as strings (`algo-1`, `algo-10`, `algo-2`), as resourceconfig.json lists them.
    public var sortedHostNames: [String] { hosts.map(\.name).sorted() }

    public func host(named name: String) -> Host? { hosts.first { $0.name == name } }
}

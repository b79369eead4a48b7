/// How a job's hosts find each other: each `algo-N` has a loopback address of its own, and the
/// job's `/etc/hosts` maps every host name to it.
///
/// Why loopback addresses rather than a network namespace per host: Linux's loopback answers
/// for the whole of 127.0.0.0/8 with no set-up, so every host gets an address without a bridge,
/// veth pairs, routes or NAT to create and clean up (and to leak when a daemon dies), hosts
/// keep the machine's network for their data as SageMaker's do, and a daemon that is not root
/// can do the same. Two hosts can listen on the same port, each on its own address (which is
/// what `gethostbyname(gethostname())` gives them); only a wildcard bind (0.0.0.0) is shared by
/// all hosts of the machine, as on one multi-homed host.
///
/// Addresses: 127.A.B.N, where N is the host's number (`algo-N`) and A.B come from the job's
/// number (its row in the store), so that jobs running at the same time do not share addresses
/// (32,512 jobs apart at the least). The interface the hosts see is `lo`.
public struct HostNetwork: Sendable, Equatable {
    /// The job's number: any stable integer unique among running jobs (the store's job id).
    public var jobNumber: Int64
    public var hostNames: [String]

    public init(jobNumber: Int64, hostNames: [String]) {
        self.jobNumber = jobNumber
        self.hostNames = hostNames
    }

    /// The interface the hosts' addresses are on, as `resourceconfig.json` names it.
    public static let interfaceName = "lo"
    /// At most this many hosts per job get addresses of their own (the last octet, 1...254).
    public static let maximumHosts = 254
    /// The port SageMaker's toolkits use for the master's rendezvous (`SM_MASTER_PORT`).
    public static let masterPort = 7777

    /// The address of `algo-N` (N from the name; 1 when the name has none).
    public func address(of host: String) -> String {
        let number = Int(host.split(separator: "-").last ?? "") ?? 1
        let slot = Int(((jobNumber % 32_512) + 32_512) % 32_512)
        let second = 128 + slot / 256
        let third = slot % 256
        return "127.\(second).\(third).\(min(max(number, 1), Self.maximumHosts))"
    }

    /// The job's `/etc/hosts`: localhost as usual, then every host of the job.
    public var hostsFile: String {
        var lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback"]
        for host in hostNames.sorted(by: { hostNumber($0) < hostNumber($1) }) {
            lines.append("\(address(of: host))\t\(host)")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private func hostNumber(_ host: String) -> Int { Int(host.split(separator: "-").last ?? "") ?? 0 }
}

import Testing
import TrainingStaging

@Suite("HostNetwork: an address of its own for every algo-N")
struct HostNetworkTests {
    @Test("each host of a job has its own loopback address; jobs running together do not share any")
    func distinctAddresses() {
        let hosts = (1...4).map { "algo-\($0)" }
        let job = HostNetwork(jobNumber: 42, hostNames: hosts)
        let addresses = hosts.map(job.address(of:))
        #expect(Set(addresses).count == 4)
        #expect(addresses.allSatisfy { $0.hasPrefix("127.") })
        #expect(addresses.map { $0.split(separator: ".").last.map(String.init) } == ["1", "2", "3", "4"])
        var seen: Set<String> = []
        for number in Int64(1)...2000 {
            #expect(seen.insert(HostNetwork(jobNumber: number, hostNames: ["algo-1"]).address(of: "algo-1")).inserted, "job \(number)")
        }
        // The whole 127.128.0.0/9 range is used before an address comes round again.
        #expect(HostNetwork(jobNumber: 1, hostNames: []).address(of: "algo-1") == HostNetwork(jobNumber: 1 + 32_512, hostNames: []).address(of: "algo-1"))
    }

    @Test("the job's /etc/hosts keeps localhost and names every host, in host order")
    func hostsFile() {
        let network = HostNetwork(jobNumber: 7, hostNames: ["algo-10", "algo-2", "algo-1"])
        let lines = network.hostsFile.split(separator: "\n").map(String.init)
        #expect(lines.first == "127.0.0.1\tlocalhost")
        #expect(lines.suffix(3) == ["127.128.7.1\talgo-1", "127.128.7.2\talgo-2", "127.128.7.10\talgo-10"])
    }
}

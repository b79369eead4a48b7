import Foundation
import Testing
import TrainingCore

/// Each host of a job is a host: named `algo-N` in its own UTS namespace, resolvable by every
/// host of the job through the job's /etc/hosts, on a loopback address of its own.
@Suite("Hosts that find each other", .enabled(if: getuid() == 0, "needs root (namespaces)"))
struct HostsEndToEndTests {
    @Test("a single host is algo-1: its host name, the name resolves to its own address, and resourceconfig.json says lo")
    func singleHost() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let image = try daemon.script("whoami-host.sh", """
            echo "hostname=$(hostname)"
            echo "resolved=$(getent hosts algo-1)"
            echo "interface=$(python3 -c 'import json; print(json.load(open("/opt/ml/input/config/resourceconfig.json"))["network_interface_name"])')"
            echo "master=$SM_MASTER_ADDR:$SM_MASTER_PORT"
            """)
        try daemon.submit(daemon.definition(name: "one-host", image: image), as: "one-host.json")
        let job = try daemon.waitForEnd("one-host")
        #expect(job.lifecycle.status == .completed, "\(job.failureReason ?? "") \(daemon.log("one-host"))")
        let log = daemon.log("one-host")
        #expect(log.contains("hostname=algo-1\n"), "\(log)")
        #expect(log.range(of: #"resolved=127\.\d+\.\d+\.1\s+algo-1"#, options: .regularExpression) != nil, "\(log)")
        #expect(log.contains("interface=lo\n"))
        #expect(log.contains("master=algo-1:7777\n"))
        // The machine's own name and /etc/hosts are untouched.
        #expect(ProcessInfo.processInfo.hostName != "algo-1")
        #expect(!((try? String(contentsOfFile: "/etc/hosts", encoding: .utf8)) ?? "").contains("algo-1"))
    }

    @Test("two hosts each listen on port 29500 of their own address and meet at SM_MASTER_ADDR by name")
    func twoHostsRendezvous() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let program = try daemon.script("rendezvous.py", "")
        // A plain TCP rendezvous, as torch.distributed's store does it: every host listens on the
        // same port of its own address; the others connect to the master by name and say who they are.
        try """
            #!/usr/bin/env python3
            import json, os, socket, sys, time
            me = socket.gethostname()
            config = json.load(open("/opt/ml/input/config/resourceconfig.json"))
            assert config["current_host"] == me, (config, me)
            mine = socket.gethostbyname(me)
            listener = socket.socket()
            listener.bind((mine, 29500))
            listener.listen(8)
            assert os.environ["SM_MASTER_PORT"] == "7777"
            port = 29500
            master = os.environ["SM_MASTER_ADDR"]
            if me == master:
                peers = set()
                listener.settimeout(30)
                while len(peers) < len(config["hosts"]) - 1:
                    connection, address = listener.accept()
                    name = connection.recv(64).decode()
                    assert socket.gethostbyname(name) == address[0], (name, address)
                    peers.add(name)
                    connection.sendall(b"welcome " + name.encode())
                    connection.close()
                print("master", me, mine, "met", sorted(peers))
            else:
                for _ in range(300):
                    try:
                        connection = socket.create_connection((master, port), timeout=5, source_address=(mine, 0))
                        break
                    except OSError:
                        time.sleep(0.1)
                connection.sendall(me.encode())
                print("worker", me, mine, "got", connection.recv(64).decode())
            """.write(toFile: program, atomically: false, encoding: .utf8)
        let definition = daemon.definition(name: "two-hosts", image: program)
            .setting("ResourceConfig.InstanceCount", 2)
        try daemon.submit(definition, as: "two-hosts.json")
        let job = try daemon.waitForEnd("two-hosts", timeout: 90)
        #expect(job.lifecycle.status == .completed, "\(job.failureReason ?? "") \(daemon.log("two-hosts")) \(daemon.log("two-hosts", host: "algo-2"))")
        let first = daemon.log("two-hosts")
        let second = daemon.log("two-hosts", host: "algo-2")
        #expect(first.range(of: #"master algo-1 127\.\d+\.\d+\.1 met \['algo-2'\]"#, options: .regularExpression) != nil, "\(first)")
        #expect(second.range(of: #"worker algo-2 127\.\d+\.\d+\.2 got welcome algo-2"#, options: .regularExpression) != nil, "\(second)")
    }
}

extension HostsEndToEndTests {
    @Test("4 hosts with a ShardedByS3Key channel: disjoint shards that cover every object, and one archive with every host's model")
    func shardedHostsMergedModel() throws {
        // 4 hosts on 2 CPUs: more than this machine has, which the daemon allows only when told so.
        let daemon = try DaemonHarness(config: "allow_oversubscription = true")
        try daemon.start()
        let data = daemon.root + "/data/shards"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let objects = (0..<10).map { "part-\($0).csv" }
        for object in objects { try "\(object)\n".write(toFile: data + "/" + object, atomically: false, encoding: .utf8) }
        // Each host lists what it was given into a file of its own; all of them also write shared.txt,
        // of which algo-1's must be the one delivered.
        let image = try daemon.script("shard.sh", """
            ls /opt/ml/input/data/shards > /opt/ml/model/$(hostname).txt
            hostname > /opt/ml/model/shared.txt
            """)
        let definition = daemon.definition(name: "sharded", image: image)
            .setting("ResourceConfig.InstanceCount", 4)
            .setting("InputDataConfig", [["ChannelName": "shards", "DataSource": ["S3DataSource": [
                "S3DataType": "S3Prefix", "S3Uri": .string("file://\(data)/"), "S3DataDistributionType": "ShardedByS3Key"]]]])
        try daemon.submit(definition, as: "sharded.json")
        let job = try daemon.waitForEnd("sharded", timeout: 90)
        #expect(job.lifecycle.status == .completed, "\(job.failureReason ?? "")")
        let archive = daemon.root + "/output/sharded/output/model.tar.gz"
        #expect(Set(daemon.archiveListing(archive)) == ["./", "./algo-1.txt", "./algo-2.txt", "./algo-3.txt", "./algo-4.txt", "./shared.txt"])
        let extracted = daemon.root + "/extracted"
        try FileManager.default.createDirectory(atPath: extracted, withIntermediateDirectories: true)
        #expect(try runCommand(["/bin/tar", "-xzf", archive, "-C", extracted]).status == 0)
        var seen: [String] = []
        for host in 1...4 {
            let shard = try String(contentsOfFile: extracted + "/algo-\(host).txt", encoding: .utf8).split(separator: "\n").map(String.init)
            #expect(!shard.isEmpty, "algo-\(host) got no objects")
            seen += shard
        }
        #expect(seen.sorted() == objects.sorted(), "the shards overlap or miss objects: \(seen.sorted())")
        #expect(try String(contentsOfFile: extracted + "/shared.txt", encoding: .utf8) == "algo-1\n")
        // The other hosts' shared.txt were left out, and the job says so.
        let message = job.transitions.last?.statusMessage ?? ""
        #expect(message.contains("left out of the artifacts"), "\(message)")
        #expect(message.contains("algo-2/model: shared.txt") && message.contains("algo-4/model: shared.txt"), "\(message)")
    }

    @Test("one host failing fails the job and stops the others within the grace period")
    func oneHostFails() throws {
        let daemon = try DaemonHarness(config: "allow_oversubscription = true", gracePeriod: 2)
        try daemon.start()
        // algo-2 fails once the others are ready for SIGTERM (a PID 1 without a handler ignores it).
        let ready = daemon.root + "/ready"
        try FileManager.default.createDirectory(atPath: ready, withIntermediateDirectories: true)
        chmod(ready, 0o777)
        let image = try daemon.script("one-fails.sh", """
            if [ "$(hostname)" = algo-2 ]; then
              i=0; while [ "$(ls \(ready) | wc -l)" -lt 2 ] && [ $i -lt 300 ]; do sleep 0.05; i=$((i+1)); done
              echo "algo-2 broke" > /opt/ml/output/failure; exit 4
            fi
            trap 'echo "$(hostname) stopped"; exit 0' TERM
            touch \(ready)/$(hostname)
            i=0; while [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
            """)
        try daemon.submit(daemon.definition(name: "one-fails", image: image).setting("ResourceConfig.InstanceCount", 3), as: "one-fails.json")
        let job = try daemon.waitForEnd("one-fails", timeout: 30)
        #expect(job.lifecycle.status == .failed)
        #expect(job.failureReason == "AlgorithmError: algo-2 broke, exit code: 4", "\(job.failureReason ?? "")")
        for host in ["algo-1", "algo-3"] {
            #expect(daemon.log("one-fails", host: host).contains("\(host) stopped"), "\(host) was not stopped with SIGTERM")
        }
    }
}

extension HostsEndToEndTests {
    @Test("InstanceGroups: hosts algo-1.. in group order, each told its group and type, and every host resolves every other")
    func instanceGroups() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let image = try daemon.script("groups.sh", """
            python3 -c 'import json; c = json.load(open("/opt/ml/input/config/resourceconfig.json")); print("me", c["current_host"], c["current_group_name"], c["current_instance_type"], ",".join(g["instance_group_name"] + "=" + "+".join(g["hosts"]) for g in c["instance_groups"]))'
            for host in algo-1 algo-2; do getent hosts $host > /dev/null && echo "resolves $host"; done
            echo "hostname $(hostname)"
            """)
        let definition = daemon.definition(name: "groups", image: image)
            .setting("ResourceConfig", ["VolumeSizeInGB": 1, "InstanceGroups": [
                ["InstanceGroupName": "trainers", "InstanceType": "ml.m5.large", "InstanceCount": 1],
                ["InstanceGroupName": "loaders", "InstanceType": "ml.c5.xlarge", "InstanceCount": 1],
            ]])
        try daemon.submit(definition, as: "groups.json")
        let job = try daemon.waitForEnd("groups", timeout: 60)
        #expect(job.lifecycle.status == .completed, "\(job.failureReason ?? "") \(daemon.stderr)")
        let first = daemon.log("groups")
        let second = daemon.log("groups", host: "algo-2")
        #expect(first.contains("me algo-1 trainers ml.m5.large trainers=algo-1,loaders=algo-2"), "\(first)")
        #expect(second.contains("me algo-2 loaders ml.c5.xlarge trainers=algo-1,loaders=algo-2"), "\(second)")
        for log in [first, second] {
            #expect(log.contains("resolves algo-1") && log.contains("resolves algo-2"), "\(log)")
        }
        #expect(first.contains("hostname algo-1") && second.contains("hostname algo-2"))
    }
}

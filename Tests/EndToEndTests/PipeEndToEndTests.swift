import Foundation
import Testing
import TrainingCore

/// Pipe mode as SageMaker's contract describes it (section 4), read by a reader algorithm written
/// here from that description: FIFOs `<channel>_N`, one per epoch, with the host's objects
/// concatenated; Gzip, RecordIO, ShuffleConfig and augmented manifests.
@Suite("Pipe mode", .enabled(if: getuid() == 0, "needs root (namespaces)"))
struct PipeEndToEndTests {
    /// Reads `EPOCHS` epochs of channel `CHANNEL` and writes what each delivered to
    /// /opt/ml/model/epoch-N (the bytes, or with RECORDIO=1 the records, decoded from the spec,
    /// as JSON lists of hex strings). `FIRST_EPOCH_BYTES=n` reads only n bytes of epoch 0 and closes.
    static let reader = """
        #!/usr/bin/env python3
        import json, os, struct, time
        channel, epochs = os.environ["CHANNEL"], int(os.environ.get("EPOCHS", "3"))
        def fifo(epoch):
            path = "/opt/ml/input/data/%s_%d" % (channel, epoch)
            for _ in range(200):  # the next FIFO may appear a little later
                if os.path.exists(path):
                    return path
                time.sleep(0.05)
            raise SystemExit("no FIFO " + path)
        def records(data):
            out, i, parts = [], 0, b""
            while i < len(data):
                magic, word = struct.unpack_from("<II", data, i)
                assert magic == 0xCED7230A, hex(magic)
                length, flag = word & ((1 << 29) - 1), word >> 29
                payload = data[i + 8:i + 8 + length]
                i += 8 + length + (4 - length % 4) % 4
                if flag == 0:
                    out.append(payload)
                else:
                    parts += payload
                    if flag == 3:
                        out.append(parts)
                        parts = b""
            return out
        for epoch in range(epochs):
            with open(fifo(epoch), "rb") as f:
                if epoch == 0 and "FIRST_EPOCH_BYTES" in os.environ:
                    data = f.read(int(os.environ["FIRST_EPOCH_BYTES"]))
                else:
                    data = f.read()
            result = [r.hex() for r in records(data)] if os.environ.get("RECORDIO") == "1" else data.hex()
            with open("/opt/ml/model/epoch-%d" % epoch, "w") as out:
                json.dump(result, out)
        """

    struct Setup {
        let daemon: DaemonHarness
        let data: String
        let reader: String
    }

    func setUp(objects: [(String, Data)]) throws -> Setup {
        let daemon = try DaemonHarness()
        try daemon.start()
        let data = daemon.root + "/data/stream"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        for (name, bytes) in objects { try bytes.write(to: URL(fileURLWithPath: data + "/" + name)) }
        let reader = try daemon.script("reader.py", "")
        try Self.reader.write(toFile: reader, atomically: false, encoding: .utf8)
        return Setup(daemon: daemon, data: data, reader: reader)
    }

    func definition(_ setup: Setup, name: String, environment: [String: JSONValue], channel: JSONValue) -> JSONValue {
        setup.daemon.definition(name: name, image: setup.reader)
            .setting("AlgorithmSpecification.TrainingInputMode", "Pipe")
            .setting("Environment", .object(environment.sorted { $0.key < $1.key }.map { JSONValue.Member($0.key, $0.value) }))
            .setting("InputDataConfig", [channel])
    }

    func channel(_ setup: Setup, _ extra: [String: JSONValue] = [:], dataType: String = "S3Prefix", uri: String? = nil) -> JSONValue {
        var members: [JSONValue.Member] = [
            JSONValue.Member("ChannelName", "stream"),
            JSONValue.Member("DataSource", ["S3DataSource": ["S3DataType": .string(dataType), "S3Uri": .string(uri ?? "file://\(setup.data)/")]]),
        ]
        for (key, value) in extra.sorted(by: { $0.key < $1.key }) { members.append(JSONValue.Member(key, value)) }
        return .object(members)
    }

    /// The model's epoch-N files, decoded.
    func epochs(_ setup: Setup, _ job: String, count: Int) throws -> [JSONValue] {
        let archive = setup.daemon.root + "/output/\(job)/output/model.tar.gz"
        let extracted = setup.daemon.root + "/extracted-\(job)"
        try FileManager.default.createDirectory(atPath: extracted, withIntermediateDirectories: true)
        _ = try runCommand(["/bin/tar", "-xzf", archive, "-C", extracted])
        return try (0..<count).map { epoch in
            let text = try String(contentsOfFile: extracted + "/epoch-\(epoch)", encoding: .utf8)
            return try StrictJSONParser.parse(Array(text.utf8))
        }
    }

    static func hex(_ data: Data) -> String { data.map { String(format: "%02x", $0) }.joined() }

    static let objects: [(String, Data)] = [
        ("a.bin", Data("first object\n".utf8)), ("b.bin", Data((0..<3000).map { UInt8($0 % 251) })),
        ("c.bin", Data("x".utf8)), ("d.bin", Data()),
    ]

    @Test("three epochs, each exactly the objects concatenated in key order")
    func threeEpochs() throws {
        let setup = try setUp(objects: Self.objects)
        try setup.daemon.submit(definition(setup, name: "epochs", environment: ["CHANNEL": "stream", "EPOCHS": "3"], channel: channel(setup)), as: "epochs.json")
        let job = try setup.daemon.waitForEnd("epochs", timeout: 60)
        #expect(job.lifecycle.status == .completed, "\(job.failureReason ?? "") \(setup.daemon.log("epochs"))")
        let expected = Self.hex(Self.objects.map(\.1).reduce(Data(), +))
        #expect(try epochs(setup, "epochs", count: 3) == Array(repeating: .string(expected), count: 3))
    }

    @Test("Gzip objects arrive decompressed, RecordIO frames each one as a record the spec's reader decodes")
    func gzipAndRecordIO() throws {
        var gzipped: [(String, Data)] = []
        let scratch = NSTemporaryDirectory() + "pipe-gzip-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        for (name, bytes) in Self.objects {
            try bytes.write(to: URL(fileURLWithPath: scratch + "/" + name))
            _ = try runCommand(["/bin/gzip", "-n", scratch + "/" + name])
            gzipped.append((name + ".gz", try Data(contentsOf: URL(fileURLWithPath: scratch + "/" + name + ".gz"))))
        }
        let setup = try setUp(objects: gzipped)
        let streamChannel = channel(setup, ["CompressionType": "Gzip", "RecordWrapperType": "RecordIO"])
        try setup.daemon.submit(definition(setup, name: "gzip-recordio", environment: ["CHANNEL": "stream", "EPOCHS": "2", "RECORDIO": "1"], channel: streamChannel),
                                as: "gzip-recordio.json")
        let job = try setup.daemon.waitForEnd("gzip-recordio", timeout: 60)
        #expect(job.lifecycle.status == .completed, "\(job.failureReason ?? "") \(setup.daemon.log("gzip-recordio"))")
        let expected = JSONValue.array(Self.objects.map { .string(Self.hex($0.1)) })
        #expect(try epochs(setup, "gzip-recordio", count: 2) == [expected, expected])
    }

    @Test("ShuffleConfig: an order per epoch, different between epochs, the same for the same seed")
    func shuffle() throws {
        let many = (0..<12).map { (String(format: "o%02d", $0), Data("object \($0)".utf8)) }
        let setup = try setUp(objects: many)
        let shuffled = channel(setup, ["RecordWrapperType": "RecordIO", "ShuffleConfig": ["Seed": 1234]])
        for name in ["shuffle-a", "shuffle-b"] {
            try setup.daemon.submit(definition(setup, name: name, environment: ["CHANNEL": "stream", "EPOCHS": "3", "RECORDIO": "1"], channel: shuffled), as: name + ".json")
        }
        var orders: [[JSONValue]] = []
        for name in ["shuffle-a", "shuffle-b"] {
            let job = try setup.daemon.waitForEnd(name, timeout: 60)
            #expect(job.lifecycle.status == .completed, "\(job.failureReason ?? "")")
            orders.append(try epochs(setup, name, count: 3))
        }
        let all = Set(many.map { JSONValue.string(Self.hex($0.1)) })
        for epoch in orders[0] { #expect(Set(epoch.arrayValue ?? []) == all, "an epoch is not a permutation of the objects") }
        #expect(orders[0] == orders[1], "the same seed gave different orders")
        #expect(orders[0][0] != orders[0][1] && orders[0][1] != orders[0][2], "two epochs had the same order")
        #expect(orders[0][0] != .array(many.map { .string(Self.hex($0.1)) }), "epoch 0 is not shuffled")
    }

    @Test("a reader that closes an epoch early gets the next one whole; one that never opens its channel ends the job at once")
    func earlyCloseAndNeverOpened() throws {
        let setup = try setUp(objects: Self.objects)
        try setup.daemon.submit(definition(setup, name: "early", environment: ["CHANNEL": "stream", "EPOCHS": "2", "FIRST_EPOCH_BYTES": "5"], channel: channel(setup)),
                                as: "early.json")
        let ignoring = try setup.daemon.script("ignores.sh", "echo 'not reading'; exit 0")
        try setup.daemon.submit(setup.daemon.definition(name: "never", image: ignoring)
            .setting("AlgorithmSpecification.TrainingInputMode", "Pipe").setting("InputDataConfig", [channel(setup)]), as: "never.json")
        let early = try setup.daemon.waitForEnd("early", timeout: 60)
        #expect(early.lifecycle.status == .completed, "\(early.failureReason ?? "") \(setup.daemon.log("early"))")
        let expected = Self.hex(Self.objects.map(\.1).reduce(Data(), +))
        #expect(try epochs(setup, "early", count: 2) == [.string(String(expected.prefix(10))), .string(expected)])
        let started = Date()
        let never = try setup.daemon.waitForEnd("never", timeout: 30)
        #expect(never.lifecycle.status == .completed, "\(never.failureReason ?? "")")
        #expect(Date().timeIntervalSince(started) < 15)
        #expect(try setup.daemon.jobctl(["describe", "early"]).status == 0, "the daemon stopped answering")
    }

    @Test("an AugmentedManifestFile streams each line's AttributeNames: -ref objects as their bytes, others as JSON, a record each")
    func augmentedManifest() throws {
        let setup = try setUp(objects: [("img-1.bin", Data([1, 2, 3])), ("img-2.bin", Data("second".utf8))])
        let manifest = setup.daemon.root + "/data/train.manifest"
        try """
            {"source-ref": "file://\(setup.data)/img-1.bin", "class": 3, "ignored": true}
            {"source-ref": "file://\(setup.data)/img-2.bin", "class": {"name": "cat"}}
            """.write(toFile: manifest, atomically: false, encoding: .utf8)
        var augmented = channel(setup, ["RecordWrapperType": "RecordIO"], dataType: "AugmentedManifestFile", uri: "file://\(manifest)")
        augmented = augmented.setting("DataSource.S3DataSource.AttributeNames", ["source-ref", "class"])
        try setup.daemon.submit(definition(setup, name: "augmented", environment: ["CHANNEL": "stream", "EPOCHS": "1", "RECORDIO": "1"], channel: augmented),
                                as: "augmented.json")
        let job = try setup.daemon.waitForEnd("augmented", timeout: 60)
        #expect(job.lifecycle.status == .completed, "\(job.failureReason ?? "") \(setup.daemon.log("augmented"))")
        let records = try epochs(setup, "augmented", count: 1)[0]
        #expect(records == .array([.string("010203"), .string(Self.hex(Data("3".utf8))), .string(Self.hex(Data("second".utf8))),
                                   .string(Self.hex(Data(#"{"name":"cat"}"#.utf8)))]))
    }
}

import Foundation
import Testing
import TrainingObjectStore
@testable import TrainingStaging

/// What a listing hands to staging: keys become files below the channel directory, or the
/// channel fails before anything moves.
@Suite("RemoteObjects: keys as files")
struct RemoteObjectsTests {
    let root = NSTemporaryDirectory() + "trainingd-remote-" + UUID().uuidString

    func store() throws -> DirectoryObjectStore {
        for (key, text) in [("data/train/a.csv", "a"), ("data/train/sub/b.csv", "b")] {
            let path = root + "/bucket/" + key
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: path, atomically: false, encoding: .utf8)
        }
        try FileManager.default.createDirectory(atPath: root + "/channel", withIntermediateDirectories: true)
        return DirectoryObjectStore(root: root + "/bucket")
    }

    @Test("objects arrive under their keys relative to the prefix")
    func delivered() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let objects = RemoteObjects(location: ResolvedLocation(store: try store(), key: "data/train/"), prefix: "data/train/",
                                    objects: [StoredObject(key: "data/train/a.csv", size: 1), StoredObject(key: "data/train/sub/b.csv", size: 1)])
        try objects.download(into: root + "/channel")
        #expect(try String(contentsOfFile: root + "/channel/sub/b.csv", encoding: .utf8) == "b")
    }

    @Test("a listed key that would leave the channel directory fails the channel before any object is written")
    func keyLeavingTheDirectory() throws {
        defer { try? FileManager.default.removeItem(atPath: root) }
        let objects = RemoteObjects(location: ResolvedLocation(store: try store(), key: "data/train/"), prefix: "data/train/",
                                    objects: [StoredObject(key: "data/train/a.csv", size: 1), StoredObject(key: "data/train/../../../../escaped.csv", size: 1)])
        let error = #expect(throws: StagingError.self) { try objects.download(into: root + "/channel") }
        #expect(error?.code == .client)
        #expect(error?.message.contains("cannot be delivered as a file") == true, "\(String(describing: error))")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root + "/channel").isEmpty)
        #expect(!FileManager.default.fileExists(atPath: root + "/escaped.csv"))
    }
}

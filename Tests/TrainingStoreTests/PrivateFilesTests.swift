import Foundation
import Testing

@testable import TrainingStore

/// The database holds every job's Environment: it and its -wal and -shm files are the daemon user's alone.
@Suite struct PrivateFilesTests {
    static func mode(_ path: String) -> mode_t? {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode & 0o7777 : nil
    }

    @Test func aNewDatabaseAndItsLogAre0600() throws {
        let scratch = try Scratch()
        let store = try scratch.openStore()
        try store.recordSubmission(Fixtures.submission("private"))
        for suffix in ["", "-wal", "-shm"] {
            #expect(Self.mode(scratch.databasePath + suffix) == 0o600, "database\(suffix)")
        }
    }

    @Test func aDatabaseAnOlderVersionLeftReadableIsMadePrivate() throws {
        let scratch = try Scratch()
        do {
            let store = try scratch.openStore()
            try store.recordSubmission(Fixtures.submission("readable"))
            for suffix in ["", "-wal", "-shm"] { chmod(scratch.databasePath + suffix, 0o644) }
            // Reopened while the old files are still there, as after a daemon upgrade.
            _ = try scratch.openStore()
            for suffix in ["", "-wal", "-shm"] {
                #expect(Self.mode(scratch.databasePath + suffix) == 0o600, "database\(suffix)")
            }
        }
    }

    @Test func aSymbolicLinkInPlaceOfTheDatabaseIsRefusedAndItsTargetLeftAlone() throws {
        let scratch = try Scratch()
        let target = scratch.directory.appendingPathComponent("elsewhere").path
        _ = FileManager.default.createFile(atPath: target, contents: Data("keep".utf8))
        chmod(target, 0o644)
        symlink(target, scratch.databasePath)
        #expect(throws: StoreError.self) { try scratch.openStore() }
        #expect(Self.mode(target) == 0o644)
        #expect(FileManager.default.contents(atPath: target) == Data("keep".utf8))
    }

    @Test func fullDisksAndIOErrorsAreTransientBadRequestsAreNot() {
        #expect(StoreError(.full, action: "a", message: "m", path: "p").isTransient)
        #expect(StoreError(.io, action: "a", message: "m", path: "p").isTransient)
        #expect(StoreError(.internal, action: "a", message: "out of memory", path: "p", sqliteCode: 7).isTransient)
        #expect(!StoreError(.jobExists, action: "a", message: "m", path: "p").isTransient)
        #expect(!StoreError(.constraint, action: "a", message: "m", path: "p", sqliteCode: 19).isTransient)
    }
}

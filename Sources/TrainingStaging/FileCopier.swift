import Foundation
import TrainingObjectStore

/// Copies files for staging (``FileCopy`` in `TrainingObjectStore`, which local stores use too),
/// creating the destination's directory and reporting failures as `StagingError`s.
public enum FileCopier {
    /// With `durable`, the copy is fsync'd before it is closed (a checkpoint must survive a crash once synced).
    public static func copy(_ source: String, to destination: String, durable: Bool = false) throws(StagingError) {
        try FileSystem.makeDirectory((destination as NSString).deletingLastPathComponent)
        do {
            try FileCopy.copy(source, to: destination, durable: durable)
        } catch {
            throw StagingError(error)
        }
    }

    /// Gives `destination` the modification time of `source` (so that a copy can be recognised as unchanged).
    public static func copyModificationTime(from source: String, to destination: String) {
        FileCopy.copyModificationTime(from: source, to: destination)
    }
}

public import Foundation

/// The mounts of the daemon's own mount namespace, as `/proc/self/mountinfo` lists them.
public enum Mounts {
    /// Mount points directly inside `directory` (one level down, nothing deeper): the only ones
    /// the daemon may detach by path, since `directory` is its own and no job user can put a
    /// link on the way (a mount deeper down, in a volume, is the owner's business).
    public static func mountPoints(in directory: String) -> [String] {
        guard let text = ProcFile.read("/proc/self/mountinfo") else { return [] }
        let parent = directory.hasSuffix("/") ? String(directory.dropLast()) : directory
        var found: [String] = []
        for line in text.split(separator: "\n") {
            // id parent major:minor root mount-point options ...
            let fields = line.split(separator: " ", maxSplits: 5)
            guard fields.count > 4 else { continue }
            let point = unescape(String(fields[4]))
            guard point.hasPrefix(parent + "/") else { continue }
            let name = point.dropFirst(parent.count + 1)
            if !name.isEmpty, !name.contains("/"), !found.contains(point) { found.append(point) }
        }
        return found
    }

    /// Detaches every mount directly inside `directory` (`umount2(MNT_DETACH | UMOUNT_NOFOLLOW)`,
    /// repeated: a point mounted twice comes free one mount at a time):
    /// a FUSE file system's process then sees its mount gone and exits. Returns what failed.
    @discardableResult
    public static func detachAll(in directory: String) -> [FileError] {
        var failures: [FileError] = []
        for point in mountPoints(in: directory) {
            detach(point)
            if mountPoints(in: directory).contains(point) { failures.append(FileError("unmount", point, errno: errno)) }
        }
        return failures
    }

    /// Detaches the mount at `point` (a path the daemon alone controls), if there is one.
    public static func detach(_ point: String) {
        var attempts = 0
        while umount2(point, detachFlags) == 0, attempts < 8 { attempts += 1 }
    }

    /// MNT_DETACH (2) and UMOUNT_NOFOLLOW (8), from <sys/mount.h>.
    private static let detachFlags: Int32 = 2 | 8

    /// mountinfo writes space, tab, newline and backslash as `\040`-style octal escapes.
    static func unescape(_ field: String) -> String {
        guard field.contains("\\") else { return field }
        var bytes: [UInt8] = []
        let source = Array(field.utf8)
        var index = 0
        while index < source.count {
            if source[index] == UInt8(ascii: "\\"), index + 3 < source.count,
               let value = UInt8(String(decoding: source[(index + 1)...(index + 3)], as: UTF8.self), radix: 8)
            {
                bytes.append(value)
                index += 4
            } else {
                bytes.append(source[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

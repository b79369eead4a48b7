public import Glibc
import CTrainingShim
public import TrainingFiles

/// A job host's volume as a file system of its own, `VolumeSizeInGB` large: a sparse file in the
/// job's `.work` (the daemon's), formatted ext4 and mounted over the host's volume directory
/// through a loop device. A job then gets ENOSPC where its volume ends, as on a SageMaker
/// instance, and staging's free-space check measures what the job asked for.
///
/// The privilege rule: the image file is created exclusively (`O_NOFOLLOW`) in `.work`, mkfs runs
/// on a path whose every directory is the daemon's, and the mount targets the volume directory
/// by its descriptor (`/proc/self/fd/N`) while it is still the daemon's and empty. The new file
/// system's root is then opened afresh and is what the caller hands to the owner.
public enum SizedVolume {
    /// Why a sized volume cannot be made on this machine, or nil when it can: root, the loop
    /// control device and mkfs.ext4 are needed.
    public static func unavailability() -> String? {
        guard geteuid() == 0 else { return "trainingd does not run as root, and only root mounts file systems" }
        guard access("/dev/loop-control", R_OK | W_OK) == 0 else { return "there is no /dev/loop-control (the loop driver is missing)" }
        guard mkfs != nil else { return "mkfs.ext4 is not installed (Debian's e2fsprogs)" }
        return nil
    }

    static let mkfs: String? = ["/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4"].first { access($0, X_OK) == 0 }

    /// The image file's name in `.work`.
    public static func imageName(host: String) -> String { "volume-" + host + ".img" }

    /// Mounts a new `bytes`-large file system on `host` (an empty directory of `job`), its image
    /// in `work`, and returns its root, opened after the mount.
    public static func mount(host: String, in job: Directory, work: Directory, bytes: UInt64) throws(FileError) -> Directory {
        guard let mkfs else { throw FileError("format the volume of", job.path + "/" + host, errno: ENOENT, reason: "mkfs.ext4 is not installed") }
        let name = imageName(host: host)
        _ = try work.removeFile(name)
        let image = openat(work.fd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard image >= 0 else { throw FileError("create", work.path + "/" + name, errno: errno) }
        defer { close(image) }
        guard ftruncate(image, off_t(bytes)) == 0 else { throw FileError("size", work.path + "/" + name, errno: errno) }
        // No journal (a volume is scratch space, made afresh for each attempt), no reserved blocks,
        // inode tables initialized lazily: formatting takes milliseconds whatever the size.
        let formatted = try HostCommand.run(mkfs, ["-q", "-F", "-m", "0", "-O", "^has_journal", "-E", "nodiscard,lazy_itable_init=1",
                                                   work.path + "/" + name], timeout: .seconds(60))
        guard formatted.status == 0 else {
            throw FileError("format", work.path + "/" + name, errno: EIO, reason: "mkfs.ext4 failed (exit \(formatted.status)): \(formatted.standardError)")
        }
        var device = [CChar](repeating: 0, count: 64)
        let loop = ctshim_loop_attach(image, &device, device.count)
        guard loop >= 0 else { throw FileError("attach a loop device to", work.path + "/" + name, errno: errno) }
        defer { close(loop) }  // the device stays while it is mounted (LO_FLAGS_AUTOCLEAR)
        guard let target = try job.subdirectory(host) else { throw FileError("open the directory", job.path + "/" + host, errno: ENOENT) }
        // noinit_itable: the inode tables stay uninitialized until used, rather than being written out in the background.
        let mounted = Glibc.mount(String(cString: device), "/proc/self/fd/\(target.fd)", "ext4", UInt(MS_NOSUID | MS_NODEV), "noinit_itable")
        guard mounted == 0 else { throw FileError("mount \(String(cString: device)) on", job.path + "/" + host, errno: errno) }
        guard let root = try job.subdirectory(host) else { throw FileError("open the directory", job.path + "/" + host, errno: ENOENT) }
        // SageMaker's /opt/ml has no lost+found; nothing else is in the new file system yet.
        unlinkat(root.fd, "lost+found", AT_REMOVEDIR)
        return root
    }
}

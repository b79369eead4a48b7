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
    /// in `work`, and returns its root, opened after the mount. The image is a copy of the blocks
    /// mkfs wrote into a template of that size in `templates` (the daemon's own directory; made
    /// the first time a size is asked for): a few MiB of metadata copied in the kernel rather than
    /// a mkfs process per volume.
    public static func mount(host: String, in job: Directory, work: Directory, bytes: UInt64, templates: Directory) throws(FileError) -> Directory {
        let template = try self.template(bytes: bytes, in: templates)
        defer { close(template) }
        let name = imageName(host: host)
        let image = try sparseFile(name, in: work, bytes: bytes)
        defer { close(image) }
        try copyData(from: template, to: image, path: work.path + "/" + name)
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

    /// The formatted template of `bytes` in `templates`, opened read-only; made (formatted into a
    /// temporary name, then renamed) when it is not there. Named by the format's version, so that
    /// a change of mkfs options never reuses an old one.
    static func template(bytes: UInt64, in templates: Directory) throws(FileError) -> Int32 {
        let name = "ext4-v1-\(bytes).img"
        let opened = openat(templates.fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if opened >= 0 { return opened }
        guard errno == ENOENT else { throw FileError("open", templates.path + "/" + name, errno: errno) }
        guard let mkfs else { throw FileError("format", templates.path + "/" + name, errno: ENOENT, reason: "mkfs.ext4 is not installed") }
        let temporary = name + ".new-\(getpid())"
        close(try sparseFile(temporary, in: templates, bytes: bytes))
        // No journal (a volume is scratch space, made afresh for each attempt), no reserved blocks,
        // inode tables initialized lazily: formatting takes milliseconds whatever the size.
        let formatted = try HostCommand.run(mkfs, ["-q", "-F", "-m", "0", "-O", "^has_journal", "-E", "nodiscard,lazy_itable_init=1",
                                                   templates.path + "/" + temporary], timeout: .seconds(60))
        guard formatted.status == 0 else {
            _ = try? templates.removeFile(temporary)
            throw FileError("format", templates.path + "/" + temporary, errno: EIO, reason: "mkfs.ext4 failed (exit \(formatted.status)): \(formatted.standardError)")
        }
        try templates.rename(temporary, to: name)
        let fd = openat(templates.fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw FileError("open", templates.path + "/" + name, errno: errno) }
        return fd
    }

    /// A new file `name` in `directory` (what was there is removed first), `bytes` long and all
    /// hole, made exclusively and without following a link; open for reading and writing.
    static func sparseFile(_ name: String, in directory: Directory, bytes: UInt64) throws(FileError) -> Int32 {
        _ = try directory.removeFile(name)
        let fd = openat(directory.fd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw FileError("create", directory.path + "/" + name, errno: errno) }
        guard ftruncate(fd, off_t(bytes)) == 0 else {
            let error = FileError("size", directory.path + "/" + name, errno: errno)
            close(fd)
            throw error
        }
        return fd
    }

    /// Copies the data of `source` (its holes stay holes in `target`, which has its size already).
    static func copyData(from source: Int32, to target: Int32, path: String) throws(FileError) {
        let seekData: Int32 = 3, seekHole: Int32 = 4  // SEEK_DATA, SEEK_HOLE
        var position: off_t = 0
        while true {
            let start = lseek(source, position, seekData)
            if start < 0 {
                if errno == ENXIO { return }  // no data past `position`
                throw FileError("read the template for", path, errno: errno)
            }
            let end = lseek(source, start, seekHole)
            guard end >= start else { throw FileError("read the template for", path, errno: errno) }
            var from = Int64(start), to = Int64(start)
            while from < Int64(end) {
                let copied = ctshim_copy_file_range(source, &from, target, &to, Int(Int64(end) - from))
                if copied < 0 && errno == EINTR { continue }
                guard copied > 0 else { throw FileError("copy the template into", path, errno: copied < 0 ? errno : EIO) }
            }
            position = end
        }
    }
}

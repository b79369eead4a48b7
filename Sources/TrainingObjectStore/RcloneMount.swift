public import Foundation
import CTrainingShim

/// A read-only FUSE view of an S3 prefix, for FastFile channels on the S3 endpoint: objects are
/// fetched when the algorithm reads them, so it starts without waiting for the data set.
///
/// The file system is rclone's (`rclone mount`, Debian's package, with fuse3), run by root so
/// that no `/etc/fuse.conf` change is needed for `allow_other`, with:
/// - no configuration file, no cache on disk (`--vfs-cache-mode off`) and no environment but the
///   `RCLONE_*` settings made here (the command line is fixed; only the remote path is the job's);
/// - `--read-only`, files and directories owned by the job's owner with modes 0400 and 0500 and
///   `--default-permissions`, so the kernel keeps every other user out (root's mount is
///   `allow_other`: without the mode check anyone could read it).
/// Where `/dev/fuse` or rclone is missing, the channel is downloaded instead (``isAvailable``).
public struct RcloneMount: Sendable, Equatable {
    public var executable: String
    public var settings: S3Settings
    public var bucket: String
    /// A key prefix that ends with `/` (or is empty): the directory the channel shows.
    public var prefix: String
    public var mountPoint: String
    public var uid: UInt32
    public var gid: UInt32

    public init(executable: String, settings: S3Settings, bucket: String, prefix: String, mountPoint: String, uid: UInt32, gid: UInt32) {
        self.executable = executable
        self.settings = settings
        self.bucket = bucket
        self.prefix = prefix
        self.mountPoint = mountPoint
        self.uid = uid
        self.gid = gid
    }

    /// `rclone mount trainingd:BUCKET/PREFIX MOUNTPOINT ...` with the remote described in the
    /// environment only (its keys never appear on a command line that `ps` shows).
    public var arguments: [String] {
        let remote = "trainingd:" + bucket + (prefix.isEmpty ? "" : "/" + String(prefix.dropLast()))
        return [executable, "mount", remote, mountPoint,
                "--read-only", "--allow-other", "--default-permissions",
                "--uid", String(uid), "--gid", String(gid), "--umask", "0277",
                "--vfs-cache-mode", "off", "--dir-cache-time", "1h", "--attr-timeout", "1h",
                "--no-modtime", "--log-level", "NOTICE"]
    }

    /// The remote `trainingd` of type s3, as `RCLONE_CONFIG_TRAININGD_*` variables.
    public var environment: [String: String] {
        var environment = [
            "RCLONE_CONFIG": "/nonexistent/trainingd-rclone.conf",
            "RCLONE_CONFIG_TRAININGD_TYPE": "s3",
            "RCLONE_CONFIG_TRAININGD_PROVIDER": "Other",
            "RCLONE_CONFIG_TRAININGD_ENV_AUTH": "false",
            "RCLONE_CONFIG_TRAININGD_ENDPOINT": settings.endpoint,
            "RCLONE_CONFIG_TRAININGD_REGION": settings.region,
            "RCLONE_CONFIG_TRAININGD_FORCE_PATH_STYLE": settings.pathStyle ? "true" : "false",
            "RCLONE_CONFIG_TRAININGD_ACCESS_KEY_ID": settings.credentials.accessKeyID,
            "RCLONE_CONFIG_TRAININGD_SECRET_ACCESS_KEY": settings.credentials.secretAccessKey,
            "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8",
        ]
        if let token = settings.credentials.sessionToken { environment["RCLONE_CONFIG_TRAININGD_SESSION_TOKEN"] = token }
        return environment
    }

    /// Whether FastFile channels on the S3 endpoint can be mounted here: `/dev/fuse` exists and
    /// `executable` (rclone) can be run. The fuse3 package provides the device's user space.
    public static func isAvailable(executable: String) -> Bool {
        !executable.isEmpty && access("/dev/fuse", R_OK | W_OK) == 0 && access(executable, X_OK) == 0
    }

    /// FUSE's magic number in `statfs`'s `f_type`.
    static let fuseSuperMagic: Int64 = 0x6573_5546

    /// Whether `path` is the root of a FUSE file system now (the mount came up).
    public static func isMounted(_ path: String) -> Bool {
        ctshim_file_system_type(path) == fuseSuperMagic
    }

    /// Waits until `path` is a FUSE mount, checking every 20 ms for at most `timeout` seconds.
    public static func waitUntilMounted(_ path: String, timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !isMounted(path) {
            if Date() >= deadline { return false }
            usleep(20_000)
        }
        return true
    }
}

import Glibc
import CTrainingShim

extension LocalExecutor {
    /// The keeper's own environment, whatever the job's: a root keeper must never run with
    /// anything a user wrote (LD_PRELOAD, LD_LIBRARY_PATH, GCONV_PATH, ...).
    static let keeperEnvironment = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"]

    /// The descriptor number at which the keeper finds the job's environment (`--env-fd`).
    static let environmentDescriptor: Int32 = 3

    /// The job's environment in an anonymous memory file (NUL-terminated KEY=VALUE strings), for
    /// the keeper to apply in the algorithm's process only. Never on disk: it holds secrets.
    static func environmentFile(_ environment: [String: String]) throws(RuntimeError) -> Int32 {
        var bytes: [UInt8] = []
        for entry in environment.map({ "\($0.key)=\($0.value)" }).sorted() { bytes += Array(entry.utf8) + [0] }
        return try memoryFile(named: "trainingd-job-environment", holding: bytes)
    }

    /// An anonymous memory file (close-on-exec) holding `bytes`.
    static func memoryFile(named name: String, holding bytes: [UInt8]) throws(RuntimeError) -> Int32 {
        let fd = ctshim_memfd_create(name)
        guard fd >= 0 else {
            throw RuntimeError(.spawnFailed, errorNumber: errno, message: "memfd_create failed; trainingd needs Linux 3.17 or later")
        }
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                let error = errno
                close(fd)
                throw RuntimeError(.spawnFailed, errorNumber: error, message: "cannot write \(name) to a memfd")
            }
            written += count
        }
        return fd
    }

    /// posix_spawn with a clean slate: empty signal mask, default dispositions, its own
    /// process group, stdin from /dev/null, stdout and stderr to `outputPath` (never through a
    /// link), `environmentFD` (if any) as descriptor 3, nothing else open, and the fixed
    /// `keeperEnvironment`.
    static func spawn(
        program: String, arguments: [String], environmentFD: Int32?, outputPath: String
    ) throws(RuntimeError) -> pid_t {
        // The daemon's ignored SIGPIPE and blocked signals must not reach the keeper (and the job).
        var attributes = posix_spawnattr_t()
        ctshim_spawnattr_init_clean(&attributes, 1)
        defer { posix_spawnattr_destroy(&attributes) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0o640)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        if let environmentFD {
            posix_spawn_file_actions_adddup2(&actions, environmentFD, Self.environmentDescriptor)
            ctshim_spawn_addclosefrom(&actions, Self.environmentDescriptor + 1)
        } else {
            ctshim_spawn_addclosefrom(&actions, 3)
        }

        let argv = CStringArray(arguments)
        let envp = CStringArray(Self.keeperEnvironment)
        defer {
            argv.free()
            envp.free()
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, program, &actions, &attributes, argv.pointers, envp.pointers)
        if result != 0 {
            throw RuntimeError(
                .spawnFailed, path: program, errorNumber: result,
                message: "cannot start the keeper: check that its log \(outputPath) can be created "
                    + "and that the process limit is not reached")
        }
        return pid
    }
}

/// A NULL-terminated array of C strings for posix_spawn, freed explicitly.
private struct CStringArray {
    let pointers: [UnsafeMutablePointer<CChar>?]

    init(_ strings: [String]) {
        pointers = strings.map { strdup($0) } + [nil]
    }

    func free() {
        for pointer in pointers { Glibc.free(pointer) }
    }
}

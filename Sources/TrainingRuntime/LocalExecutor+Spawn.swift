import Glibc
import CTrainingShim

extension LocalExecutor {
    /// posix_spawn with a clean slate: empty signal mask, default dispositions, its own
    /// process group, stdin from /dev/null, stdout and stderr to `outputPath`, nothing else open.
    static func spawn(
        program: String, arguments: [String], environment: [String: String], outputPath: String
    ) throws(RuntimeError) -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        // The daemon ignores SIGPIPE and blocks signals it handles through Dispatch:
        // neither may reach the keeper (and through it the job).
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o640)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        ctshim_spawn_addclosefrom(&actions, 3)

        let argv = CStringArray(arguments)
        let envp = CStringArray(environment.map { "\($0.key)=\($0.value)" }.sorted())
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

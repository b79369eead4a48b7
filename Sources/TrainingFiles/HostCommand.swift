public import Glibc
import CTrainingShim

/// Runs a fixed program of the host (an image tool such as podman, mkfs) as the daemon's user and
/// returns what it printed. Bounded: at most `outputLimit` bytes are kept, and a program still
/// running after `timeout` is killed. Its environment is fixed (`PATH`, `LANG`), never a user's,
/// and its arguments are the caller's constants and ids the tool itself reported.
public struct HostCommand: Sendable {
    public var status: Int32
    public var standardOutput: [UInt8]
    public var standardError: String

    static let environment = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "HOME=/root"]

    /// Fails (FileError, with what went wrong as its reason) only when the program cannot be run
    /// or outlives `timeout`; its exit status is the caller's to judge.
    public static func run(_ program: String, _ arguments: [String], timeout: Duration = .seconds(60), outputLimit: Int = 64 << 20)
        throws(FileError) -> HostCommand
    {
        var outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        guard pipe(&outPipe) == 0, pipe(&errPipe) == 0 else {
            throw FileError("run", program, errno: errno, reason: "pipe: \(String(cString: strerror(errno)))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // The pipes are not CLOEXEC (Glibc's pipe2 is not imported); closefrom(3) closes them in the child.
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        ctshim_spawn_addclosefrom(&actions, 3)
        var attributes = posix_spawnattr_t()
        ctshim_spawnattr_init_clean(&attributes, 0)
        defer { posix_spawnattr_destroy(&attributes) }
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, program, &actions, &attributes, argv, envp)
        close(outPipe[1])
        close(errPipe[1])
        defer {
            close(outPipe[0])
            close(errPipe[0])
        }
        guard spawned == 0 else {
            throw FileError("run", program, errno: spawned, reason: "cannot run \(program): \(String(cString: strerror(spawned)))")
        }
        var output: [UInt8] = [], errors: [UInt8] = []
        var open = [outPipe[0], errPipe[0]]
        let deadline = ContinuousClock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 65536)
        var timedOut = false
        while !open.isEmpty {
            let left = deadline - ContinuousClock.now
            guard left > .zero else { timedOut = true; break }
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let milliseconds = Int32(min(left.components.seconds * 1000 + 1, 60_000))
            let ready = poll(&fds, nfds_t(fds.count), milliseconds)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { continue }
            for entry in fds where entry.revents != 0 {
                let count = read(entry.fd, &buffer, buffer.count)
                if count <= 0 { open.removeAll { $0 == entry.fd }; continue }
                if entry.fd == outPipe[0] {
                    if output.count + count > outputLimit { timedOut = true; open.removeAll(); break }
                    output += buffer[0..<count]
                } else if errors.count < 65536 {
                    errors += buffer[0..<min(count, 65536 - errors.count)]
                }
            }
        }
        if timedOut { kill(pid, SIGKILL) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if timedOut {
            throw FileError("run", program, errno: ETIMEDOUT, reason: "\(program) \(arguments.first ?? "") did not finish within \(timeout) or printed more than \(outputLimit >> 20) MiB; it was killed")
        }
        let exited = (status & 0x7f) == 0
        return HostCommand(status: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), standardOutput: output,
                             standardError: String(decoding: errors, as: UTF8.self))
    }
}

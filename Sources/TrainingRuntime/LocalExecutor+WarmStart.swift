import Glibc
import CTrainingShim

extension LocalExecutor {
    /// Hands a job to a warm keeper (warm.c): the keeper's output file (opened here as the spawn
    /// would open it, in the daemon's own log directory), the job's environment and the keeper's
    /// command line (a memfd) over its socket. False when the keeper is gone: it was released,
    /// and the caller spawns a keeper instead.
    static func handOff(
        to keeper: WarmKeeper, arguments: [String], environmentFD: Int32, outputPath: String
    ) throws(RuntimeError) -> Bool {
        let output = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o640)
        guard output >= 0 else {
            let error = errno
            keeper.release()
            throw RuntimeError(.spawnFailed, path: outputPath, errorNumber: error,
                               message: "cannot open the keeper's log; check that its directory exists and is the daemon's")
        }
        defer { close(output) }
        let commandLine: Int32
        do {
            commandLine = try memoryFile(named: "trainingd-keeper-arguments", holding: arguments.flatMap { Array($0.utf8) + [0] })
        } catch {
            keeper.release()
            throw error
        }
        defer { close(commandLine) }
        let descriptors = [output, environmentFD, commandLine]
        let sent = descriptors.withUnsafeBufferPointer { ctshim_send_descriptors(keeper.socket, $0.baseAddress, 3) } == 0
        guard sent else {
            keeper.release()
            return false
        }
        close(keeper.socket)  // it has all it needs; nothing else goes to it
        return true
    }
}

import Foundation

/// Faults the tests inject through `TRAININGD_TEST_HOOKS` (comma-separated), so that failure
/// paths run for real in end-to-end tests. Unset in production: every hook is off.
///
/// - `wedge-on-sigusr2`: SIGUSR2 blocks the supervisor's queue, as a deadlock would.
/// - `stage-fault:<job>:<n>`: the first `n` attempts of `<job>` see their staging fail with an
///   InternalServerError (a platform fault, which RetryStrategy retries).
/// - `stage-fault-at:<job>:<attempt>`: attempt `<attempt>` of `<job>` sees its staging fail the same way.
/// - `ignore-exit:<job>`: the supervisor drops the exits of `<job>`'s algorithm, as a lost
///   event would; `forget-run:<job>`: it forgets `<job>` once its algorithm started, as a bug
///   would. Both show that the stuck-job sweep ends such a job (`Supervisor+Sweep`).
/// - `crash-at:<point>`: the daemon SIGKILLs itself the first time any job reaches `<point>`
///   (`FaultPoint`), to show that a crash anywhere in a job's life loses nothing.
/// - `spool-record-fault:<n>`: the first `n` attempts to record a spool file's job fail as a
///   full disk would (SQLITE_FULL), to show that the file waits instead of being rejected.
/// - `pending-time-scale:<factor>`: MaxPendingTimeInSeconds counts `<factor>` seconds per second
///   of the limit (its smallest value, 1800 s, is too long for a test to wait).
struct TestHooks: Sendable {
    var wedgeOnSIGUSR2 = false
    var stagingFaults: [String: Int] = [:]
    var stagingFaultAttempts: [String: Set<Int>] = [:]
    var crashAt: FaultPoint?
    var ignoredExits: Set<String> = []
    var forgottenRuns: Set<String> = []
    var spoolRecordFaults = 0
    var pendingTimeScale: Double?
    /// `gpu-device-directory:<dir>`: GPU device nodes are taken from there rather than /dev (stand-ins
    /// on a machine without GPUs).
    var gpuDeviceDirectory: String?

    /// Named places in a job's life where the crash test kills the daemon.
    enum FaultPoint: String, Sendable {
        /// Staging workers have been started.
        case staging
        /// The algorithm has been launched on every host.
        case training
        /// A stopping job's algorithm has had its SIGTERM; the grace period runs.
        case grace
        /// The packaging worker has been started.
        case packaging
        /// Artifacts are delivered; the outcome is about to be recorded.
        case publishing
    }

    static func fromEnvironment() -> TestHooks {
        var hooks = TestHooks()
        for item in (ProcessInfo.processInfo.environment["TRAININGD_TEST_HOOKS"] ?? "").split(separator: ",") {
            let parts = item.split(separator: ":").map(String.init)
            switch parts.first {
            case "wedge-on-sigusr2": hooks.wedgeOnSIGUSR2 = true
            case "stage-fault" where parts.count == 3: hooks.stagingFaults[parts[1]] = Int(parts[2]) ?? 0
            case "stage-fault-at" where parts.count == 3: hooks.stagingFaultAttempts[parts[1], default: []].insert(Int(parts[2]) ?? 0)
            case "ignore-exit" where parts.count == 2: hooks.ignoredExits.insert(parts[1])
            case "forget-run" where parts.count == 2: hooks.forgottenRuns.insert(parts[1])
            case "crash-at" where parts.count == 2: hooks.crashAt = FaultPoint(rawValue: parts[1])
            case "spool-record-fault" where parts.count == 2: hooks.spoolRecordFaults = Int(parts[1]) ?? 0
            case "pending-time-scale" where parts.count == 2: hooks.pendingTimeScale = Double(parts[1])
            case "gpu-device-directory" where parts.count == 2: hooks.gpuDeviceDirectory = String(parts[1])
            default: break
            }
        }
        return hooks
    }

    func injectsStagingFault(job: String, attempt: Int) -> Bool {
        attempt <= stagingFaults[job, default: 0] || stagingFaultAttempts[job]?.contains(attempt) == true
    }
}

import Foundation

/// Faults the tests inject through `TRAININGD_TEST_HOOKS` (comma-separated), so that failure
/// paths run for real in end-to-end tests. Unset in production: every hook is off.
///
/// - `wedge-on-sigusr2`: SIGUSR2 blocks the supervisor's queue, as a deadlock would.
/// - `stage-fault:<job>:<n>`: the first `n` attempts of `<job>` see their staging fail with an
///   InternalServerError (a platform fault, which RetryStrategy retries).
struct TestHooks: Sendable {
    var wedgeOnSIGUSR2 = false
    var stagingFaults: [String: Int] = [:]

    static func fromEnvironment() -> TestHooks {
        var hooks = TestHooks()
        for item in (ProcessInfo.processInfo.environment["TRAININGD_TEST_HOOKS"] ?? "").split(separator: ",") {
            let parts = item.split(separator: ":").map(String.init)
            switch parts.first {
            case "wedge-on-sigusr2": hooks.wedgeOnSIGUSR2 = true
            case "stage-fault" where parts.count == 3: hooks.stagingFaults[parts[1]] = Int(parts[2]) ?? 0
            default: break
            }
        }
        return hooks
    }

    func injectsStagingFault(job: String, attempt: Int) -> Bool {
        attempt <= stagingFaults[job, default: 0]
    }
}

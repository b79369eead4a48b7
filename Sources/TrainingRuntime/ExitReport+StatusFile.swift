import Foundation

extension ExitReport {
    /// Builds the report from the keeper's wait status and its status file at `statusPath`.
    static func collect(keeperStatus: KeeperStatus, statusPath: String, keeperLogPath: String) -> ExitReport {
        var report = ExitReport(keeperStatus: keeperStatus)
        let fields: [String: String]
        do throws(RuntimeError) {
            fields = try readKeyValueFile(statusPath)
        } catch {
            report.statusFileError = RuntimeError(
                .statusUnreadable, path: statusPath, errorNumber: error.errorNumber,
                message: "the keeper ended (\(keeperStatus)) without a status file; its own messages are in "
                    + keeperLogPath)
            return report
        }
        report.isolationUsed = fields["isolation"].flatMap(IsolationUsed.init(rawValue:))
        report.algorithmPID = fields["algorithm_pid"].flatMap { Int32($0) }
        report.exitCode = fields["exit_code"].flatMap { Int32($0) }
        report.signal = fields["signal"].flatMap { Int32($0) }
        if let code = fields["exec_error"].flatMap({ Int32($0) }) {
            report.execError = ExecError(errorNumber: code, message: fields["exec_error_message"] ?? "")
        }
        report.setupError = fields["setup_error"]
        report.logError = fields["log_error"]
        report.escapedKilled = fields["escaped_killed"].flatMap { Int($0) } ?? 0
        report.forwardedSignal = fields["forwarded_signal"].flatMap { Int32($0) }
        return report
    }
}

extension AlgorithmStart {
    /// Reads the keeper's `.started` file for the job whose status file is `statusPath`;
    /// nil while the algorithm has not been exec'd yet.
    public static func read(statusPath: String) -> AlgorithmStart? {
        guard let fields = try? readKeyValueFile(statusPath + ".started"),
            let pid = fields["algorithm_pid"].flatMap({ Int32($0) })
        else { return nil }
        return AlgorithmStart(algorithmPID: pid, isolationUsed: fields["isolation"].flatMap(IsolationUsed.init(rawValue:)))
    }
}

/// Parses the keeper's `key=value` lines (a value runs to the end of its line).
func readKeyValueFile(_ path: String) throws(RuntimeError) -> [String: String] {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw RuntimeError(.statusUnreadable, path: path, errorNumber: ENOENT, message: "cannot read \(path)")
    }
    var fields: [String: String] = [:]
    for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
        guard let equals = line.firstIndex(of: "=") else { continue }
        fields[String(line[..<equals])] = String(line[line.index(after: equals)...])
    }
    return fields
}

import Foundation

extension ExitReport {
    /// Builds the report from the keeper's wait status and its status file at `statusPath`.
    static func collect(keeperStatus: KeeperStatus, statusPath: String, keeperLogPath: String, keeperUID: uid_t) -> ExitReport {
        var report = ExitReport(keeperStatus: keeperStatus)
        let fields: [String: String]
        do throws(RuntimeError) {
            fields = try readKeyValueFile(statusPath, owner: keeperUID)
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
    public static func read(statusPath: String, keeperUID: UInt32? = nil) -> AlgorithmStart? {
        guard let fields = try? readKeyValueFile(statusPath + ".started", owner: keeperUID ?? geteuid()),
            let pid = fields["algorithm_pid"].flatMap({ Int32($0) })
        else { return nil }
        return AlgorithmStart(algorithmPID: pid, isolationUsed: fields["isolation"].flatMap(IsolationUsed.init(rawValue:)))
    }
}

/// Parses the keeper's `key=value` lines (a value runs to the end of its line).
///
/// Only a regular file of the keeper's user (`owner`) counts, opened without following a link and
/// read up to 64 KiB: a status file is the keeper's word, never something a job put there.
func readKeyValueFile(_ path: String, owner: uid_t) throws(RuntimeError) -> [String: String] {
    let fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
    guard fd >= 0 else {
        throw RuntimeError(.statusUnreadable, path: path, errorNumber: errno, message: "cannot read \(path)")
    }
    defer { close(fd) }
    var info = stat()
    guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_uid == owner else {
        throw RuntimeError(.statusUnreadable, path: path, errorNumber: EPERM,
                           message: "\(path) is not a regular file of uid \(owner); it was not written by a keeper")
    }
    var data = [UInt8](repeating: 0, count: 64 * 1024)
    var used = 0
    while used < data.count {
        let count = data[used...].withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 && errno == EINTR { continue }
        if count <= 0 { break }
        used += count
    }
    var fields: [String: String] = [:]
    for line in String(decoding: data[..<used], as: UTF8.self).split(separator: "\n") {
        guard let equals = line.firstIndex(of: "=") else { continue }
        fields[String(line[..<equals])] = String(line[line.index(after: equals)...])
    }
    return fields
}

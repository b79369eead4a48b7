import Foundation
import TrainingCore

/// Reading a claimed file and moving it out, with its report when it is rejected.
extension SpoolDirectory {
    /// Reads a claimed file through one descriptor, checked to be the regular file that was
    /// claimed and no larger than `limit`.
    /// - Throws: `deferred` when the daemon cannot read now (no descriptors, an I/O error),
    ///   `unusable` when the file is what is wrong.
    func read(claimed identity: Identity, limit: Int) throws(SpoolFault) -> [UInt8] {
        let path = claimed + "/" + identity.name
        // O_NONBLOCK: a FIFO swapped in would otherwise block the queue; O_NOCTTY: a terminal stays not ours.
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { throw SpoolFault.system("open", path, errno) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SpoolFault.system("inspect", path, errno) }
        guard info.st_mode & S_IFMT == S_IFREG, UInt64(info.st_dev) == identity.device, UInt64(info.st_ino) == identity.inode else {
            throw .unusable(ValidationIssue(path: "", code: .unreadable,
                message: "\(identity.name) changed after it was claimed and is no longer the regular file that was submitted; submit it again"))
        }
        // The file's owner becomes the job's owner. A second link would let a user submit a file
        // someone else owns (and could only write to): the job would run as that someone.
        guard info.st_nlink == 1 else {
            throw .unusable(ValidationIssue(path: "", code: .unreadable,
                message: "\(identity.name) has \(info.st_nlink) hard links; the spool takes files with exactly one, because a file's owner becomes the job's owner. Copy the definition into the spool instead of linking it"))
        }
        guard Int(info.st_size) <= limit else { throw .unusable(DefinitionValidator.tooLarge(size: Int(info.st_size))) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            if count < 0 { throw SpoolFault.system("read", path, errno) }
            if count == 0 { return bytes }
            bytes += buffer[..<count]
            // Its owner may still be writing through a descriptor opened before the claim.
            guard bytes.count <= limit else { throw .unusable(DefinitionValidator.tooLarge(size: bytes.count)) }
        }
    }

    func accept(_ name: String) throws(SpoolFault) {
        try move(name, to: freeName(for: name, in: accepted), in: accepted)
    }

    /// Writes the report, then moves the claimed file beside it: a file in `rejected/` always
    /// has its `.error.json`. When either step fails the file stays claimed (and the report,
    /// if written, is taken back) so that the caller can try again.
    func reject(_ name: String, report: ValidationReport) throws(SpoolFault) {
        let target = freeName(for: name, in: rejected)
        let reportPath = rejected + "/" + target + ".error.json"
        try writeReport(Array((report.jsonText(pretty: true) + "\n").utf8), to: reportPath)
        do {
            try move(name, to: target, in: rejected)
        } catch {
            unlink(reportPath)
            throw error
        }
    }

    /// A name in `directory` that neither a file nor a report uses yet: `x.json`, `x.1.json`, ...
    /// Only this daemon's queue writes there, so the name stays free until the rename.
    private func freeName(for name: String, in directory: String) -> String {
        var target = name
        var attempt = 1
        while exists(directory + "/" + target) || exists(directory + "/" + target + ".error.json") {
            target = String(name.dropLast(5)) + ".\(attempt).json"
            attempt += 1
        }
        return target
    }

    /// Moves a file out of `.claimed/`; any failure leaves it there to be tried again.
    private func move(_ name: String, to target: String, in directory: String) throws(SpoolFault) {
        guard rename(claimed + "/" + name, directory + "/" + target) != 0 else { return }
        let code = errno
        throw .deferred(SpoolFault.system("move \(claimed)/\(name) to", directory + "/" + target, code).description)
    }

    /// Writes a report under a temporary name and renames it into place: no reader sees half of one.
    private func writeReport(_ bytes: [UInt8], to path: String) throws(SpoolFault) {
        let temporary = rejected + "/.report-\(getpid()).tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .deferred(SpoolFault.system("write the report", temporary, errno).description) }
        var written = 0
        var failure: Int32 = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if count < 0, errno == EINTR { continue }
            if count <= 0 { failure = count < 0 ? errno : ENOSPC; break }
            written += count
        }
        // The umask must not decide who may read a report: its submitter needs to.
        if failure == 0, fchmod(fd, 0o644) != 0 { failure = errno }
        if failure == 0, fsync(fd) != 0 { failure = errno }
        if close(fd) != 0, failure == 0 { failure = errno }
        if failure == 0, rename(temporary, path) != 0 { failure = errno }
        guard failure == 0 else {
            unlink(temporary)
            throw .deferred(SpoolFault.system("write the report", path, failure).description)
        }
    }
}

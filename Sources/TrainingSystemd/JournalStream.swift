import Glibc

/// Whether standard error is connected to the journal: systemd sets `JOURNAL_STREAM` to the
/// `device:inode` of the stream it hands the service, and a match means structured records can
/// go to the journal directly instead of as plain lines (systemd.exec(5), "JOURNAL_STREAM").
public enum JournalStream {
    public static func standardErrorIsJournal() -> Bool {
        standardErrorIsJournal(environment: getenv("JOURNAL_STREAM").map { String(cString: $0) })
    }

    static func standardErrorIsJournal(environment value: String?) -> Bool {
        guard let value, let expected = parse(value) else { return false }
        var info = stat()
        guard fstat(STDERR_FILENO, &info) == 0 else { return false }
        return UInt64(info.st_dev) == expected.device && UInt64(info.st_ino) == expected.inode
    }

    static func parse(_ value: String) -> (device: UInt64, inode: UInt64)? {
        let parts = value.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return nil }
        return (device, inode)
    }
}

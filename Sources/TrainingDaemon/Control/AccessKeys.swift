import Foundation
import TrainingConfig
import TrainingSigV4

/// One access key of the TCP API: its secret and the local user whose requests it signs.
struct AccessKey: Sendable, Equatable {
    var id: String
    var secret: String
    /// The section of the credentials file it came from, for messages.
    var label: String
    var userName: String
    var uid: uid_t
    var gid: gid_t
}

/// The access keys of `[aws_api] credentials_file`, shared by the TCP listener (which checks
/// signatures with them) and the supervisor (which gives a job its owner's key); replaced as a
/// whole by a reload. The file is in the AWS shared-credentials format, one section per key:
///
///     [alice-laptop]
///     user = alice
///     aws_access_key_id = AKIATRAININGDALICE01
///     aws_secret_access_key = ...
final class AccessKeys: @unchecked Sendable {
    private let lock = NSLock()
    private var keys: [AccessKey]

    init(_ keys: [AccessKey] = []) {
        self.keys = keys
    }

    func replace(with keys: [AccessKey]) {
        lock.withLock { self.keys = keys }
    }

    var count: Int { lock.withLock { keys.count } }

    func key(id: String) -> AccessKey? {
        lock.withLock { keys.first { $0.id == id } }
    }

    /// The first key of the file mapped to `uid`: the one a job of that user is given.
    func firstKey(ofUID uid: uid_t) -> AccessKey? {
        lock.withLock { keys.first { $0.uid == uid } }
    }

    /// The keys of the file a configuration names; required when the TCP listener is on.
    static func load(for configuration: DaemonConfiguration) throws(DaemonError) -> [AccessKey] {
        try load(configuration.paths.awsCredentials, required: configuration.awsAPI.listen != nil)
    }

    /// Reads the file. A file that is missing is no keys when `required` is false. The file must
    /// be a regular file of the daemon's user that nobody else can read or write (0600): it holds
    /// secrets, and whoever can write it can act as any user through the API.
    static func load(_ path: String, required: Bool) throws(DaemonError) -> [AccessKey] {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard descriptor >= 0 else {
            if errno == ENOENT, !required { return [] }
            if errno == ENOENT {
                throw DaemonError(.configuration, "[aws_api] listen needs access keys, and \(path) does not exist: create it (mode 0600, owned by the daemon's user) with a section per key: user = NAME, aws_access_key_id = ..., aws_secret_access_key = ... (docs/aws-tools.md)")
            }
            throw DaemonError.system("open the credentials file", path, errno)
        }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw DaemonError(.configuration, "the credentials file \(path) is not a regular file; it must be a file of mode 0600")
        }
        guard info.st_uid == geteuid() else {
            throw DaemonError(.configuration, "the credentials file \(path) belongs to uid \(info.st_uid), not to the daemon's user (uid \(geteuid())): whoever owns it can act as any user; chown it to the daemon's user")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw DaemonError(.configuration, "the credentials file \(path) has mode \(String(info.st_mode & 0o777, radix: 8)); it holds secrets: chmod 600 \(path)")
        }
        guard info.st_size <= 1024 * 1024 else {
            throw DaemonError(.configuration, "the credentials file \(path) is over 1 MiB; it holds one short section per access key")
        }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        let got = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        guard got == bytes.count else { throw DaemonError.system("read the credentials file", path, errno) }
        return try parse(String(decoding: bytes, as: UTF8.self), path: path)
    }

    static func parse(_ text: String, path: String) throws(DaemonError) -> [AccessKey] {
        var keys: [AccessKey] = []
        var problems: [String] = []
        for section in AWSSharedFile.sections(text) {
            let values = section.values
            let label = "[\(section.name)]"
            for key in values.keys where !["user", "aws_access_key_id", "aws_secret_access_key"].contains(key) {
                problems.append("\(label): unknown key \(key); a section has user, aws_access_key_id and aws_secret_access_key")
            }
            guard let id = values["aws_access_key_id"], let secret = values["aws_secret_access_key"], let user = values["user"] else {
                problems.append("\(label): needs user, aws_access_key_id and aws_secret_access_key")
                continue
            }
            guard (16...128).contains(id.count), id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
                problems.append("\(label): aws_access_key_id must be 16 to 128 letters and digits, as AWS's are")
                continue
            }
            guard secret.count >= 16 else {
                problems.append("\(label): aws_secret_access_key must be at least 16 characters (AWS's are 40)")
                continue
            }
            // getpwnam_r: the supervisor's queue looks users up at the same time.
            var record = passwd()
            var found: UnsafeMutablePointer<passwd>?
            var buffer = [CChar](repeating: 0, count: 16 * 1024)
            guard getpwnam_r(user, &record, &buffer, buffer.count, &found) == 0, found != nil else {
                problems.append("\(label): there is no local user \(user)")
                continue
            }
            if let other = keys.first(where: { $0.id == id }) {
                problems.append("\(label): access key \(id) is also in \(other.label); each key maps to one user")
                continue
            }
            keys.append(AccessKey(id: id, secret: secret, label: label, userName: user, uid: record.pw_uid, gid: record.pw_gid))
        }
        guard problems.isEmpty else {
            throw DaemonError(.configuration, "the credentials file \(path) cannot be used: " + problems.joined(separator: "; "))
        }
        return keys
    }
}

public import Foundation

/// Copies files the cheapest way the file system allows: copy_file_range lets the kernel share
/// extents (reflinks on btrfs and XFS) or copy in-kernel, without bouncing data through user
/// space; read/write where it cannot.
public enum FileCopy {
    private typealias CopyFileRange = @convention(c) (Int32, UnsafeMutablePointer<Int64>?, Int32, UnsafeMutablePointer<Int64>?, Int, UInt32) -> Int

    /// glibc declares copy_file_range only under _GNU_SOURCE, which Swift's Glibc module does not set.
    private static let copyFileRange: CopyFileRange? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "copy_file_range") else { return nil }
        return unsafeBitCast(symbol, to: CopyFileRange.self)
    }()

    /// Copies `source` to `destination` (created or truncated; its directory must exist). With
    /// `durable`, the copy is fsync'd before it is closed (a checkpoint must survive a crash once synced).
    public static func copy(_ source: String, to destination: String, durable: Bool = false) throws(StorageError) {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw failure("cannot read", source, errno) }
        defer { close(input) }
        // Read-ahead for a whole-file sequential copy, as cp does.
        _ = posix_fadvise(input, 0, 0, POSIX_FADV_SEQUENTIAL)
        let output = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw failure("cannot create", destination, errno) }
        var outputClosed = false
        defer { if !outputClosed { close(output) } }
        var useRead = false
        while true {
            if !useRead {
                guard let copyFileRange = Self.copyFileRange else {
                    useRead = true
                    continue
                }
                let copied = copyFileRange(input, nil, output, nil, 1 << 30, 0)
                if copied > 0 { continue }
                if copied == 0 { break }
                if [EXDEV, EINVAL, ENOSYS, EOPNOTSUPP, EBADF].contains(errno) {
                    useRead = true
                    continue
                }
                if errno == EINTR { continue }
                throw failure("cannot copy to", destination, errno)
            }
            guard try copyChunk(from: input, to: output, destination: destination) else { break }
        }
        if durable, fsync(output) != 0 { throw failure("cannot sync", destination, errno) }
        outputClosed = true
        guard close(output) == 0 else { throw failure("cannot write", destination, errno) }
    }

    /// Gives `destination` the modification time of `source` (so that a copy can be recognised as unchanged).
    public static func copyModificationTime(from source: String, to destination: String) {
        var info = stat()
        guard stat(source, &info) == 0 else { return }
        let omit = (1 << 30) - 2  // UTIME_OMIT (a macro Swift does not import): leave the access time alone
        var times = [timespec(tv_sec: 0, tv_nsec: omit), info.st_mtim]
        _ = utimensat(AT_FDCWD, destination, &times, 0)
    }

    /// A local failure: EACCES, ENOENT and the like are the owner's to fix, the rest the machine's.
    package static func failure(_ action: String, _ path: String, _ code: Int32) -> StorageError {
        StorageError(location: path, message: "\(action) \(path): \(String(cString: strerror(code)))", errno: code,
                     isClientError: [EACCES, EPERM, ENOENT, ENOTDIR, ENOSPC, EDQUOT, EROFS, ELOOP].contains(code))
    }

    /// Writes all of `data` at `offset` (pwrite, retried after EINTR and short writes).
    package static func writeFully(_ data: Data, to fd: Int32, at offset: UInt64, path: String) throws(StorageError) {
        var written = 0
        while written < data.count {
            let result = data.withUnsafeBytes { pwrite(fd, $0.baseAddress! + written, $0.count - written, off_t(offset) + off_t(written)) }
            if result < 0 {
                if errno == EINTR { continue }
                throw FileCopy.failure("cannot write", path, errno)
            }
            written += result
        }
    }

    /// Reads exactly `count` bytes at `offset`; a file that ends first is a ClientError (it shrank meanwhile).
    package static func readFully(_ fd: Int32, at offset: UInt64, count: Int, path: String) throws(StorageError) -> Data {
        var data = Data(count: count)
        var done = 0
        while done < count {
            let result = data.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
            if result < 0 {
                if errno == EINTR { continue }
                throw FileCopy.failure("cannot read", path, errno)
            }
            guard result > 0 else {
                throw StorageError(location: path, message: "\(path) became shorter while it was uploaded", isClientError: true)
            }
            done += result
        }
        return data
    }

    /// Copies up to 1 MiB with read/write; false at end of file.
    private static func copyChunk(from input: Int32, to output: Int32, destination: String) throws(StorageError) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        let count = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
        if count < 0 {
            if errno == EINTR { return true }
            throw failure("cannot read the source of", destination, errno)
        }
        if count == 0 { return false }
        var written = 0
        while written < count {
            let result = buffer[written..<count].withUnsafeBytes { write(output, $0.baseAddress, $0.count) }
            if result < 0 {
                if errno == EINTR { continue }
                throw failure("cannot write", destination, errno)
            }
            written += result
        }
        return true
    }
}

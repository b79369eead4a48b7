import CZlib
public import Foundation

/// The checksums S3 checks a part against, in the encoding its headers and XML use.
public enum PartChecksum {
    /// CRC32 (zlib's, the one S3 calls CRC32) of `data`, as base64 of its four big-endian bytes.
    public static func crc32Base64(of data: Data) -> String {
        let value = data.withUnsafeBytes { bytes -> UInt in
            guard let base = bytes.bindMemory(to: UInt8.self).baseAddress else { return crc32_z(0, nil, 0) }
            return crc32_z(0, base, bytes.count)
        }
        let checksum = UInt32(truncatingIfNeeded: value)
        let bigEndian = [UInt8(checksum >> 24), UInt8((checksum >> 16) & 0xff), UInt8((checksum >> 8) & 0xff), UInt8(checksum & 0xff)]
        return Data(bigEndian).base64EncodedString()
    }
}

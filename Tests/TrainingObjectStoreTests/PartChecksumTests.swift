import Foundation
import Testing
import TrainingObjectStore
import TrainingS3

@Suite("PartChecksum: the CRC32 S3 checks a part against")
struct PartChecksumTests {
    @Test("CRC32 is zlib's, base64 of its big-endian bytes, as in x-amz-checksum-crc32")
    func encoding() {
        // 0xCBF43926 is CRC-32's published check value for "123456789".
        #expect(PartChecksum.crc32Base64(of: Data("123456789".utf8)) == "y/Q5Jg==")
        #expect(PartChecksum.crc32Base64(of: Data()) == "AAAAAA==")
    }
}

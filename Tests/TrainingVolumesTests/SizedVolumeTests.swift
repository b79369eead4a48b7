import Foundation
import Testing
import TrainingFiles
@testable import TrainingVolumes

@Suite("SizedVolume: a volume of its own file system, copied from a template",
       .enabled(if: SizedVolume.mkfs != nil, "needs mkfs.ext4 (e2fsprogs)"))
struct SizedVolumeTests {
    @Test("a size is formatted once; a volume's image is the template's blocks, its holes kept, byte for byte")
    func templateCopy() throws {
        let directory = NSTemporaryDirectory() + "sized-volume-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let templates = try Directory.open(directory)
        let bytes: UInt64 = 256 << 20
        let first = try SizedVolume.template(bytes: bytes, in: templates)
        defer { close(first) }
        var made = stat(), again = stat()
        fstat(first, &made)
        let second = try SizedVolume.template(bytes: bytes, in: templates)
        defer { close(second) }
        fstat(second, &again)
        #expect(made.st_ino == again.st_ino, "formatted once")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["ext4-v1-\(bytes).img"], "no temporary left")

        let image = open(directory + "/copy.img", O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        defer { close(image) }
        #expect(ftruncate(image, off_t(bytes)) == 0)
        try SizedVolume.copyData(from: first, to: image, path: directory + "/copy.img")
        var copied = stat()
        fstat(image, &copied)
        #expect(copied.st_size == off_t(bytes))
        #expect(copied.st_blocks * 512 < 16 << 20, "holes stay holes: \(copied.st_blocks * 512) bytes allocated")
        let template = try Data(contentsOf: URL(fileURLWithPath: directory + "/ext4-v1-\(bytes).img"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/copy.img")) == template)
    }
}

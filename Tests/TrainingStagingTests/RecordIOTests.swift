import Testing
import TrainingStaging

@Suite("RecordIO framing, as the contract gives it")
struct RecordIOTests {
    @Test("a record is magic, length | cflag << 29, payload, zero padding to 4 bytes")
    func header() {
        #expect(RecordIO.header(length: 5, flag: 0) == [0x0A, 0x23, 0xD7, 0xCE, 5, 0, 0, 0])
        #expect(RecordIO.header(length: 7, flag: 3) == [0x0A, 0x23, 0xD7, 0xCE, 7, 0, 0, 0x60])
        #expect(RecordIO.padding(length: 5) == [0, 0, 0])
        #expect(RecordIO.padding(length: 8).isEmpty)
    }

    @Test("records longer than 2^29 - 1 bytes are cut into first, middle and last parts")
    func parts() {
        let limit = RecordIO.maximumPartLength
        #expect(RecordIO.parts(length: 0).map(\.flag) == [0])
        #expect(RecordIO.parts(length: limit).map(\.flag) == [0])
        let two = RecordIO.parts(length: limit + 6)
        #expect(two.map(\.flag) == [1, 3] && two.map(\.length) == [limit, 6])
        let three = RecordIO.parts(length: 3 * limit)
        #expect(three.map(\.flag) == [1, 2, 3] && three.map(\.length) == [limit, limit, limit])
    }
}

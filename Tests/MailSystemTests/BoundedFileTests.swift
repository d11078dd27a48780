import Foundation
import MailSystem
import Testing
import TestSupport

@Suite("BoundedFile: whole files with a size bound and errors naming the path")
struct BoundedFileTests {
    @Test("a file is read whole, with the stamp of the file read", arguments: [0, 1, 4095, 4096, 65_537, 300_000])
    func reads(size: Int) throws {
        let directory = try TemporaryDirectory()
        let contents = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let path = directory.file("data")
        try Data(contents).write(to: URL(fileURLWithPath: path))
        let (bytes, stamp) = try BoundedFile.readWithStamp(path, limit: size)
        #expect(bytes == contents)
        #expect(stamp.size == Int64(size))
        #expect(try FileStamp.of(path).get() == stamp)
    }

    @Test("one byte over the limit is refused, naming the file and the limit")
    func tooLarge() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("big", String(repeating: "x", count: 4097))
        let error = #expect(throws: BoundedFileError.self) { try BoundedFile.read(path, limit: 4096) }
        #expect(error?.description == "\(path): larger than 4096 bytes")
        #expect(try BoundedFile.read(path, limit: 4097).count == 4097)
    }

    @Test("a pipe larger than the limit is refused without reading it all")
    func pipeTooLarge() throws {
        // /dev/zero reports size 0 and never ends: only the bound stops the read.
        let error = #expect(throws: BoundedFileError.self) { try BoundedFile.read("/dev/zero", limit: 100_000) }
        #expect(error?.reason == .tooLarge(limit: 100_000))
    }

    @Test("a missing file, a folder and an unreadable file each say why, naming the path")
    func failures() throws {
        let directory = try TemporaryDirectory()
        let missing = #expect(throws: BoundedFileError.self) { try BoundedFile.read(directory.file("none"), limit: 10) }
        #expect(missing?.description == "\(directory.file("none")): cannot open: No such file or directory")
        #expect(missing?.isNoSuchFile == true)
        let folder = #expect(throws: BoundedFileError.self) { try BoundedFile.read(directory.path, limit: 10) }
        #expect(folder?.description == "\(directory.path): cannot read: Is a directory")
        #expect(folder?.isNoSuchFile == false)
    }

    @Test("text must be UTF-8 without NUL", arguments: [
        ([0x61, 0x00, 0x62], false), ([0xC3, 0x28], false), ([0xC3, 0xA9, 0x0A], true),
    ] as [([UInt8], Bool)])
    func text(bytes: [UInt8], valid: Bool) throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("text")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        if valid {
            #expect(try BoundedFile.readText(path, limit: 100) == String(decoding: bytes, as: UTF8.self))
        } else {
            let error = #expect(throws: BoundedFileError.self) { try BoundedFile.readText(path, limit: 100) }
            #expect(error?.description == "\(path): not UTF-8 text")
        }
    }
}

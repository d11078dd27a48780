import Foundation
import MailMaps
import MailMapsBerkeleyDB
import Testing
import TestSupport

/// The seed talk's access table (../shared/fixtures/seed-talk/access), as Sendmail and Postfix build it.
private let accessText = """
    localhost\tRELAY
    real-time.com\tRELAY
    206.10.252\tRELAY
    206.10.253\tRELAY
    uu.net\tRELAY
    ca.uu.net\tRELAY
    chicago.il.uu.net\tRELAY
    Mixed.Case.Example\tREJECT
    spam.example\tERROR:"550 5.7.1 We do not accept mail from you"

    """

@Suite("Berkeley DB maps built by makemap and postmap")
struct BerkeleyDBMapTests {
    @Test("makemap and postmap files give the same answers", arguments: BerkeleyDBMap.Format.allCases)
    func bothConventions(format: BerkeleyDBMap.Format) throws {
        let directory = try TemporaryDirectory()
        let makemapFile = directory.file("makemap-access.db")
        try MapTools.makemap(format.rawValue, text: accessText, output: makemapFile)
        let textFile = try directory.write("postmap-access", accessText)
        try MapTools.postmap(format.rawValue, textFile: textFile)

        let sendmail = try BerkeleyDBMap(path: makemapFile, format: format)
        let postfix = try BerkeleyDBMap(path: textFile + ".db", format: format)
        for map in [sendmail, postfix] {
            #expect(try map.value(forKey: "real-time.com") == "RELAY")
            #expect(try map.value(forKey: "206.10.252") == "RELAY")
            #expect(try map.value(forKey: "chicago.il.uu.net") == "RELAY")
            #expect(try map.value(forKey: "spam.example") == "ERROR:\"550 5.7.1 We do not accept mail from you\"")
            // Both tools fold keys to lower case when building; lookups fold too.
            #expect(try map.value(forKey: "REAL-TIME.COM") == "RELAY")
            #expect(try map.value(forKey: "mixed.case.example") == "REJECT")
            #expect(try map.value(forKey: "il.uu.net") == nil)
            #expect(try map.value(forKey: "") == nil)
        }
        #expect(sendmail.spec == "\(format.rawValue):\(makemapFile)")
    }

    @Test("postmap -q reads back what makemap wrote")
    func postmapReadsMakemap() throws {
        let directory = try TemporaryDirectory()
        let file = directory.file("access.db")
        try MapTools.makemap("hash", text: accessText, output: file)
        // Postfix, like BerkeleyDBMap, tries the key with and without its trailing NUL.
        #expect(try MapTools.postmapQuery("real-time.com", type: "hash", file: directory.file("access")) == "RELAY")
        #expect(try BerkeleyDBMap(path: file, format: .hash).value(forKey: "real-time.com") == "RELAY")
    }

    @Test("the async lookup answers like the synchronous one")
    func asyncLookup() async throws {
        let directory = try TemporaryDirectory()
        let file = directory.file("access.db")
        try MapTools.makemap("hash", text: accessText, output: file)
        let map: any MailMap = try BerkeleyDBMap(path: file, format: .hash)
        #expect(try await map.lookup("uu.net") == "RELAY")
        #expect(try await map.lookup("example.org") == nil)
    }

    @Test("a missing file is an error naming it")
    func missingFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("absent.db")
        let error = #expect(throws: MailMapError.self) { try BerkeleyDBMap(path: path, format: .hash) }
        #expect(error?.kind == .unreadable)
        #expect(error?.message.contains(path) == true)
        #expect(error?.message.contains("No such file") == true)
    }

    @Test("a corrupt or foreign file is an error, not a crash", arguments: [
        ("text file", Data("localhost RELAY\n".utf8)),
        ("zeros", Data(count: 8192)),
        ("random bytes", Data((0..<16384).map { UInt8(truncatingIfNeeded: $0 &* 7919 &+ 13) })),
        ("empty", Data()),
    ])
    func corruptFile(name: String, contents: Data) throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("corrupt.db")
        try contents.write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: MailMapError.self) { try BerkeleyDBMap(path: path, format: .hash) }
        #expect(error?.kind == .malformed, "\(name): \(String(describing: error))")
        #expect(error?.message.contains(path) == true)
    }

    @Test("a truncated makemap file is an error, not a crash")
    func truncatedFile() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("access.db")
        try MapTools.makemap("hash", text: accessText, output: path)
        let whole = try Data(contentsOf: URL(fileURLWithPath: path))
        try whole.prefix(100).write(to: URL(fileURLWithPath: path))
        #expect(throws: MailMapError.self) { try BerkeleyDBMap(path: path, format: .hash) }
    }

    @Test("a hash file opened as btree is an error")
    func wrongFormat() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("access.db")
        try MapTools.makemap("hash", text: accessText, output: path)
        let error = #expect(throws: MailMapError.self) { try BerkeleyDBMap(path: path, format: .btree) }
        #expect(error?.kind == .malformed)
    }
}

import Foundation
import MailMaps
import MailMapsBerkeleyDB
import Testing
import TestSupport

private func entries(_ text: String) throws -> [MailMapTextParser.Entry] {
    try MailMapTextParser(format: .table(delimiter: nil), spec: "test", source: "test").entries(Array(text.utf8))
}

@Suite("our makemap: files Sendmail's makemap -u and Postfix's postmap -q read back")
struct BerkeleyDBMapWriterTests {
    @Test("makemap -u and postmap -q read what we wrote", arguments: BerkeleyDBMap.Format.allCases, [false, true])
    func readBack(format: BerkeleyDBMap.Format, includesNUL: Bool) throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("virtusertable.db")
        let text = """
            cfandre@mn-linux.org\tcfandre@real-time.com
            Tanner@MN-Linux.org\ttanner@real-time.com
            amy@tebbe.org   atebbe@real-time.com
            @tanners.org\terror:nouser 550 No such user here

            """
        let writer = BerkeleyDBMapWriter(path: path, options: .init(format: format, includesNUL: includesNUL))
        let report = try writer.write(entries(text))
        #expect(report.stored == 4)
        #expect(report.duplicates.isEmpty)

        let listed = try MapTools.makemapDump(format.rawValue, file: path, flags: includesNUL ? ["-N"] : [])
        #expect(Dictionary(uniqueKeysWithValues: listed.map { ($0.key, $0.value) }) == [
            "cfandre@mn-linux.org": "cfandre@real-time.com",
            "tanner@mn-linux.org": "tanner@real-time.com",
            "amy@tebbe.org": "atebbe@real-time.com",
            "@tanners.org": "error:nouser 550 No such user here",
        ])
        let base = directory.file("virtusertable")
        #expect(try MapTools.postmapQuery("tanner@mn-linux.org", type: format.rawValue, file: base) == "tanner@real-time.com")
        #expect(try MapTools.postmapQuery("@tanners.org", type: format.rawValue, file: base) == "error:nouser 550 No such user here")
        #expect(try MapTools.postmapQuery("nobody@tebbe.org", type: format.rawValue, file: base) == nil)
        #expect(try BerkeleyDBMap(path: path, format: format).value(forKey: "Amy@Tebbe.org") == "atebbe@real-time.com")
    }

    @Test("duplicates: the first stays and is reported; -r replaces")
    func duplicates() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("access.db")
        let report = try BerkeleyDBMapWriter(path: path, options: .init(format: .hash)).write(entries("a one\nA two\nb x\n"))
        #expect(report.stored == 2)
        #expect(report.duplicates.map(\.line) == [2])
        #expect(try BerkeleyDBMap(path: path, format: .hash).value(forKey: "a") == "one")

        _ = try BerkeleyDBMapWriter(path: path, options: .init(format: .hash, replacesDuplicates: true)).write(entries("a one\nA two\n"))
        #expect(try BerkeleyDBMap(path: path, format: .hash).value(forKey: "a") == "two")
    }

    @Test("-o adds to a map makemap built; -f keeps case")
    func appendAndCase() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("access.db")
        try MapTools.makemap("hash", text: "old.example OK\n", output: path)
        _ = try BerkeleyDBMapWriter(path: path, options: .init(format: .hash, appends: true)).write(entries("new.example RELAY\n"))
        let listed = try MapTools.makemapDump("hash", file: path)
        #expect(Set(listed.map(\.key)) == ["old.example", "new.example"])

        _ = try BerkeleyDBMapWriter(path: path, options: .init(format: .hash, foldsCase: false)).write(entries("Mixed.Example OK\n"))
        #expect(try MapTools.makemapDump("hash", file: path).map(\.key) == ["Mixed.Example"])
    }

    @Test("the map is replaced by a rename: an open map sees the new one, the old file's mode stays")
    func atomicReplace() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("access.db")
        let writer = BerkeleyDBMapWriter(path: path, options: .init(format: .hash))
        _ = try writer.write(entries("a.example OK\n"))
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o640)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        let before = try FileManager.default.attributesOfItem(atPath: path)[.systemFileNumber] as? Int

        let map = try BerkeleyDBMap(path: path, format: .hash, options: MailMapOptions(reloadInterval: .zero))
        #expect(try await map.lookup("a.example") == "OK")
        _ = try writer.write(entries("a.example REJECT\n"))
        let after = try FileManager.default.attributesOfItem(atPath: path)
        #expect(after[.systemFileNumber] as? Int != before)
        #expect(after[.posixPermissions] as? Int == 0o600)
        #expect(try await map.lookup("a.example") == "REJECT")
        // No temporary file is left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["access.db"])
    }

    @Test("a directory that cannot be written is an error naming it")
    func unwritable() throws {
        let error = #expect(throws: MailMapError.self) {
            try BerkeleyDBMapWriter(path: "/nonexistent/swiftmta/access.db", options: .init(format: .hash)).write([])
        }
        #expect(error?.message.contains("/nonexistent/swiftmta") == true)
    }
}

@Suite("the seeds' tables: text, makemap, postmap and ours give the same answers")
struct SeedTablesTests {
    /// Each seed table, the keys to ask besides its own, and how to read it as text.
    static let tables: [(name: String, extraKeys: [String])] = [
        ("seed-talk/access", ["206.10.254", "il.uu.net", "example.org"]),
        ("seed-talk/virtusertable", ["nobody@mn-linux.org", "@tebbe.org"]),
        ("seed-howto/mailertable", ["darknet.lan", "foo.darknet.lan", ".com"]),
        ("seed-howto/client-info", ["AuthInfo:other.somedom.com"]),
    ]

    @Test("text:, makemap hash, postmap hash and swiftmta's writer agree", arguments: tables.map(\.name))
    func agree(name: String) async throws {
        let extraKeys = Self.tables.first { $0.name == name }!.extraKeys
        let source = try SeedFixtures.text(name)
        let directory = try TemporaryDirectory()
        var registry = MailMapRegistry.standard
        registry.registerBerkeleyDB()

        let text = try await registry.open("text:\(SeedFixtures.path(name))")
        try MapTools.makemap("hash", text: source, output: directory.file("sendmail.db"))
        let postfixText = try directory.write("postfix", source)
        try MapTools.postmap("hash", textFile: postfixText)
        let parsed = try MailMapTextParser(format: .table(delimiter: nil), spec: "seed", source: name).entries(Array(source.utf8))
        _ = try BerkeleyDBMapWriter(path: directory.file("ours.db"), options: .init(format: .hash)).write(parsed)

        let maps = [
            text,
            try await registry.open("hash:\(directory.file("sendmail"))"),
            try await registry.open("hash:\(directory.file("postfix"))"),
            try await registry.open("hash:\(directory.file("ours"))"),
        ]
        let keys = parsed.map(\.key) + parsed.map { $0.key.uppercased() } + extraKeys
        #expect(parsed.count >= 1)
        for key in keys {
            let expected = try await text.lookup(key)
            for map in maps.dropFirst() {
                #expect(try await map.lookup(key) == expected, "\(map.spec) \(key)")
            }
        }
        // And every entry is found.
        for entry in parsed {
            #expect(try await text.lookup(entry.key) == entry.value)
        }
    }

    @Test("local-host-names: list:, and hash maps built from it, know the same names")
    func localHostNames() async throws {
        let source = try SeedFixtures.text("seed-talk/local-host-names")
        let directory = try TemporaryDirectory()
        var registry = MailMapRegistry.standard
        registry.registerBerkeleyDB()
        let list = try await registry.open("list:\(SeedFixtures.path("seed-talk/local-host-names"))")
        // makemap and postmap need a value per key: the usual conversion gives each name itself.
        let table = source.split(separator: "\n").map { "\($0)\t\($0)" }.joined(separator: "\n") + "\n"
        try MapTools.makemap("hash", text: table, output: directory.file("sendmail.db"))
        try MapTools.postmap("hash", textFile: try directory.write("postfix", table))
        let maps = [list, try await registry.open("hash:\(directory.file("sendmail"))"), try await registry.open("hash:\(directory.file("postfix"))")]
        for name in ["mn-linux.org", "tanners.org", "TEBBE.org"] {
            for map in maps { #expect(try await map.lookup(name) != nil, "\(map.spec) \(name)") }
        }
        for name in ["real-time.com", "linux.org"] {
            for map in maps { #expect(try await map.lookup(name) == nil, "\(map.spec) \(name)") }
        }
    }
}

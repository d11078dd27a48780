import Foundation
import MailMaps
import Testing
import TestSupport

@Suite("text:, aliases: and list: maps")
struct TextMapTests {
    @Test("key value lines, comments, blank lines, CR LF, continuation lines")
    func format() async throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("access", """
            # Sendmail access map\r
            localhost\tRELAY\r
            \r
            Real-Time.COM   RELAY
              # an indented comment is still a comment
            spam.example    ERROR:"550 5.7.1 We do not accept mail from you"
            long.example    first part
            \tand its continuation
            trailing.example   OK   \t

            """)
        let map = try TextMap(path: path)
        #expect(map.spec == "text:\(path)")
        #expect(try await map.lookup("localhost") == "RELAY")
        #expect(try await map.lookup("real-time.com") == "RELAY")
        #expect(try await map.lookup("REAL-TIME.com") == "RELAY")
        #expect(try await map.lookup("spam.example") == "ERROR:\"550 5.7.1 We do not accept mail from you\"")
        // As postmap joins them: the continuation line is appended as it is.
        #expect(try await map.lookup("long.example") == "first part\tand its continuation")
        #expect(try await map.lookup("trailing.example") == "OK")
        #expect(try await map.lookup("example.org") == nil)
        #expect(try await map.lookup("") == nil)
        #expect(try await map.entries().map(\.key) == ["localhost", "real-time.com", "spam.example", "long.example", "trailing.example"])
    }

    @Test("the first of two entries for a key wins, as with makemap and postmap")
    func duplicates() async throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("map", "a.example first\nA.EXAMPLE second\n")
        #expect(try await TextMap(path: path).lookup("a.example") == "first")
    }

    @Test("-f keeps case: keys match exactly")
    func caseKept() async throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("map", "Mixed.Example yes\n")
        let map = try TextMap(path: path, options: MailMapOptions(foldsCase: false))
        #expect(try await map.lookup("Mixed.Example") == "yes")
        #expect(try await map.lookup("mixed.example") == nil)
        // Through the registry, with Sendmail's flag.
        let flagged = try await MailMapRegistry.standard.open("text:-f \(path)")
        #expect(try await flagged.lookup("mixed.example") == nil)
        #expect(try await flagged.lookup("Mixed.Example") == "yes")
    }

    @Test("only ASCII letters are folded, as makemap folds them")
    func asciiFolding() async throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("map", "ÄRGER.example umlaut\n")
        let map = try TextMap(path: path)
        #expect(try await map.lookup("Ärger.EXAMPLE") == "umlaut")
        #expect(try await map.lookup("ärger.example") == nil)
    }

    @Test("bad lines are errors naming the file and line", arguments: [
        ("localhost RELAY\nnovalue\n", "line 2", "no value"),
        ("localhost RELAY\n\nkey   \t \n", "line 3", "no value"),
        ("  leading continuation\nlocalhost RELAY\n", "line 1", "continues no entry"),
        ("localhost RELAY\nbad\u{0}key value\n", "line 2", "NUL"),
    ])
    func badLines(contents: String, line: String, problem: String) throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("access", contents)
        let error = #expect(throws: MailMapError.self) { try TextMap(path: path) }
        #expect(error?.kind == .malformed)
        #expect(error?.message.contains("\(path), \(line)") == true, "\(String(describing: error))")
        #expect(error?.message.contains(problem) == true, "\(String(describing: error))")
    }

    @Test("text that is not UTF-8 is an error naming the line; comments may be anything")
    func notUTF8() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("latin1")
        var bytes = Array("# caf\u{e9} in Latin-1: ".utf8) + [0xe9, 0x0a]
        bytes += Array("ok.example OK\n".utf8) + [0x63, 0x61, 0x66, 0xe9] + Array(" REJECT\n".utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let error = #expect(throws: MailMapError.self) { try TextMap(path: path) }
        #expect(error?.message.contains("line 3: is not valid UTF-8") == true, "\(String(describing: error))")
    }

    @Test("an error message does not repeat the line: authinfo lines hold passwords")
    func noSecretInError() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("client-info", "AuthInfo:host\"U:root\"\"P:s3cret-password\"\n")
        let error = #expect(throws: MailMapError.self) { try TextMap(path: path) }
        #expect(error?.message.contains("s3cret") == false)
        #expect(error?.message.contains("line 1") == true)
    }

    @Test("a missing file is an error naming it, unless the map is optional (-o)")
    func missingFile() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("virtusertable")
        let error = #expect(throws: MailMapError.self) { try TextMap(path: path) }
        #expect(error?.kind == .unreadable)
        #expect(error?.message.contains(path) == true)
        #expect(error?.message.contains("No such file") == true)

        let optional = try await MailMapRegistry.standard.open("text:-o \(path)")
        #expect(try await optional.lookup("anything") == nil)
    }

    @Test("a file that cannot be read is an error naming it")
    func unreadable() throws {
        let directory = try TemporaryDirectory()
        // A directory in place of the file: unreadable even for root, who reads any file.
        let path = directory.file("access")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let error = #expect(throws: MailMapError.self) { try TextMap(path: path) }
        #expect(error?.kind == .unreadable)
        #expect(error?.message.contains(path) == true)
        #expect(error?.message.contains("Is a directory") == true, "\(String(describing: error))")
    }

    @Test("a file larger than the limit is an error, not unbounded memory")
    func tooLarge() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("big", String(repeating: "key value\n", count: 1000))
        let error = #expect(throws: MailMapError.self) {
            try TextMap(path: path, options: MailMapOptions(maximumFileSize: 4096))
        }
        #expect(error?.message.contains("4096-byte limit") == true, "\(String(describing: error))")
    }

    @Test("an edited file takes effect without reopening; a broken edit fails lookups until fixed")
    func reload() async throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("access", "a.example OK\n")
        let map = try TextMap(path: path, options: MailMapOptions(reloadInterval: .zero))
        #expect(try await map.lookup("a.example") == "OK")

        try directory.write("access", "a.example REJECT\nb.example RELAY\n")
        #expect(try await map.lookup("a.example") == "REJECT")
        #expect(try await map.lookup("b.example") == "RELAY")

        try directory.write("access", "a.example REJECT\nbroken\n")
        let error = await #expect(throws: MailMapError.self) { try await map.lookup("a.example") }
        #expect(error?.message.contains("line 2") == true)

        try FileManager.default.removeItem(atPath: path)
        let gone = await #expect(throws: MailMapError.self) { try await map.lookup("a.example") }
        #expect(gone?.kind == .unreadable)

        try directory.write("access", "a.example DISCARD\n")
        #expect(try await map.lookup("a.example") == "DISCARD")
    }

    @Test("changes are noticed at most once per reload interval")
    func reloadInterval() async throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("access", "a.example OK\n")
        let map = try TextMap(path: path, options: MailMapOptions(reloadInterval: .seconds(3600)))
        try directory.write("access", "a.example REJECT\n")
        #expect(try await map.lookup("a.example") == "OK")
    }

    @Test("aliases(5) files: name, colon, value; continuation lines")
    func aliases() async throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("aliases", """
            # aliases
            postmaster: root
            Staff:  alice,
                    bob, carol
            root: tanner@real-time.com

            """)
        let map = try await MailMapRegistry.standard.open("aliases:\(path)")
        #expect(try await map.lookup("postmaster") == "root")
        #expect(try await map.lookup("staff") == "alice,        bob, carol")
        #expect(try await map.lookup("root") == "tanner@real-time.com")
        let error = #expect(throws: MailMapError.self) {
            try TextMap(path: try directory.write("bad", "postmaster root\n"), format: .aliases)
        }
        #expect(error?.message.contains("line 1: has no colon") == true)
    }

    @Test("list: files hold names, one or more per line")
    func list() async throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("local-host-names", "# class w\nmn-linux.org\nTanners.org  tebbe.org\n")
        let map = try await MailMapRegistry.standard.open("list:\(path)")
        #expect(try await map.lookup("mn-linux.org") == "mn-linux.org")
        #expect(try await map.lookup("tanners.org") == "Tanners.org")
        #expect(try await map.lookup("TEBBE.ORG") == "tebbe.org")
        #expect(try await map.lookup("real-time.com") == nil)
    }
}

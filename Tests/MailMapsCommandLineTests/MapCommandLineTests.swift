import Foundation
import Testing
import TestSupport

/// The `swiftmta` program built beside this test bundle.
private var swiftmta: String {
    let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("swiftmta").path
}

private func run(_ arguments: [String], input: String? = nil) throws -> ExternalTool.Output {
    guard FileManager.default.isExecutableFile(atPath: swiftmta) else {
        throw TestSupportError("\(swiftmta) is not built (swift build --build-tests builds it)")
    }
    return try ExternalTool.run(swiftmta, arguments, input: input ?? "")
}

@Suite("swiftmta makemap and swiftmta map, as a user runs them")
struct MapCommandLineTests {
    @Test("makemap hash FILE: Sendmail's makemap -u and Postfix's postmap -q read it back", arguments: ["hash", "btree"])
    func makemapReadBack(type: String) throws {
        let directory = try TemporaryDirectory()
        let output = try run(["makemap", type, directory.file("access")], input: try SeedFixtures.text("seed-talk/access"))
        #expect(output.status == 0, "\(output.standardError)")
        #expect(output.standardError.isEmpty)
        let listed = try MapTools.makemapDump(type, file: directory.file("access.db"))
        #expect(Set(listed.map(\.key)) == ["localhost", "real-time.com", "206.10.252", "206.10.253", "uu.net", "ca.uu.net", "chicago.il.uu.net"])
        #expect(listed.allSatisfy { $0.value == "RELAY" })
        #expect(try MapTools.postmapQuery("chicago.il.uu.net", type: type, file: directory.file("access")) == "RELAY")
        #expect(try MapTools.postmapQuery("il.uu.net", type: type, file: directory.file("access")) == nil)
    }

    @Test("map query: 0 with the value, 1 for not found, 2 with the reason")
    func query() throws {
        let directory = try TemporaryDirectory()
        try MapTools.makemap("hash", text: try SeedFixtures.text("seed-talk/virtusertable"), output: directory.file("virtusertable.db"))
        let found = try run(["map", "query", "hash:\(directory.file("virtusertable"))", "Amy@Tebbe.org"])
        #expect(found.status == 0)
        #expect(found.standardOutput == "atebbe@real-time.com\n")
        let missing = try run(["map", "query", "hash:\(directory.file("virtusertable"))", "nobody@tebbe.org"])
        #expect(missing.status == 1)
        #expect(missing.standardOutput.isEmpty)

        let absent = try run(["map", "query", "hash:\(directory.file("absent"))", "x"])
        #expect(absent.status == 2)
        #expect(absent.standardError.contains(directory.file("absent.db")))
        #expect(absent.standardError.contains("No such file"))

        let corrupt = try directory.write("corrupt.db", "not a database\n")
        let broken = try run(["map", "query", "hash:\(corrupt)", "x"])
        #expect(broken.status == 2)
        #expect(broken.standardError.contains("is not a readable Berkeley DB hash file"))

        let badSpec = try run(["map", "query", "nosuch:/etc/mail/access", "x"])
        #expect(badSpec.status == 2)
        #expect(badSpec.standardError.contains("unknown map type \"nosuch\""))

        let text = try run(["map", "query", "text:\(SeedFixtures.path("seed-howto/mailertable"))", ".lan"])
        #expect(text.standardOutput == "esmtp:[%1.lan]\n")
    }

    @Test("map dump lists a map as key<TAB>value; LDAP and DNS maps cannot be listed")
    func dump() throws {
        let listed = try run(["map", "dump", "text:\(SeedFixtures.path("seed-talk/virtusertable"))"])
        #expect(listed.status == 0)
        #expect(listed.standardOutput.split(separator: "\n").first == "cfandre@mn-linux.org\tcfandre@real-time.com")
        #expect(listed.standardOutput.split(separator: "\n").count == 4)

        let dns = try run(["map", "dump", "dns:-R MX"])
        #expect(dns.status == 2)
        #expect(dns.standardError.contains("cannot be listed"))
    }

    @Test("a bad input line: exit 65 naming the line, the good lines written; --postmap-input leaves the old map")
    func badInput() throws {
        let directory = try TemporaryDirectory()
        #expect(try run(["makemap", "hash", directory.file("access")], input: "a.example OK\n").status == 0)
        let output = try run(["makemap", "hash", directory.file("access")], input: "a.example REJECT\nnovalue\n")
        #expect(output.status == 65)
        #expect(output.standardError.contains("standard input, line 2: no value for the key novalue"))
        #expect(try MapTools.makemapDump("hash", file: directory.file("access.db")).map(\.value) == ["REJECT"])

        let postmap = try run(["makemap", "--postmap-input", "hash", directory.file("access")], input: "a.example DISCARD\nnovalue\n")
        #expect(postmap.status == 65)
        #expect(postmap.standardError.contains("line 2"))
        #expect(try MapTools.makemapDump("hash", file: directory.file("access.db")).map(\.value) == ["REJECT"])
    }

    /// Input with every kind of line makemap reads: comments, blank lines, lines that start with
    /// white space, a key without a value, a value with inner and trailing blanks.
    static let makemapInput = "a\t1\n  b 2\n# comment\n\nc 3  three\n\tcontinued x\nd\ne   spaced value \n   \n"

    @Test("input is read as Sendmail's makemap reads it: same entries, same exit status, lines named")
    func readsAsMakemap() throws {
        let directory = try TemporaryDirectory()
        let sendmail = try ExternalTool.run("makemap", ["hash", directory.file("sendmail")], input: Self.makemapInput)
        let ours = try run(["makemap", "hash", directory.file("swiftmta")], input: Self.makemapInput)
        #expect(sendmail.status == 65)
        #expect(ours.status == sendmail.status)
        let theirs = try MapTools.makemapDump("hash", file: directory.file("sendmail.db"))
        let written = try MapTools.makemapDump("hash", file: directory.file("swiftmta.db"))
        #expect(Dictionary(uniqueKeysWithValues: written.map { ($0.key, $0.value) }) == Dictionary(uniqueKeysWithValues: theirs.map { ($0.key, $0.value) }))
        #expect(Set(written.map(\.key)) == ["a", "c", "e"])
        // makemap names lines 2, 6 (leading space) and 7 (no value); so do we.
        for line in [2, 6, 7] {
            #expect(sendmail.standardError.contains("line \(line):"))
            #expect(ours.standardError.contains("standard input, line \(line):"), "\(ours.standardError)")
        }
        #expect(ours.standardError.contains("line 2: syntax error (leading space)"))

        // postmap's reading: the indented lines continue the entries above them.
        let postmap = try run(["makemap", "--postmap-input", "hash", directory.file("postmap")], input: "a 1\n  more\nb 2\n")
        #expect(postmap.status == 0)
        let continued = try MapTools.makemapDump("hash", file: directory.file("postmap.db"))
        #expect(Dictionary(uniqueKeysWithValues: continued.map { ($0.key, $0.value) }) == ["a": "1  more", "b": "2"])
    }

    @Test("--help documents the spec flags and makemap's reading")
    func help() throws {
        let map = try run(["map", "--help"])
        for text in ["-o  optional", "-f  keep the case", "-N  keys end in a NUL", "-O  keys have no NUL", "-T<TMPF>", "passwd:", "-m (match only"] {
            #expect(map.standardOutput.contains(text), "map --help lacks \(text)")
        }
        let makemap = try run(["makemap", "--help"])
        for text in ["--postmap-input", "syntax error", "65 bad input lines"] {
            #expect(makemap.standardOutput.replacingOccurrences(of: "\n", with: " ").contains(text) || makemap.standardOutput.contains(text), "makemap --help lacks \(text)")
        }
    }

    @Test("duplicates: exit 65 and the first is kept, as makemap does; -r keeps the last")
    func duplicates() throws {
        let directory = try TemporaryDirectory()
        let first = try run(["makemap", "hash", directory.file("map")], input: "a one\nA two\n")
        #expect(first.status == 65)
        #expect(first.standardError.contains("line 2: key A: duplicate key"))
        #expect(try MapTools.makemapDump("hash", file: directory.file("map.db")).map(\.value) == ["one"])
        #expect(try run(["makemap", "-r", "hash", directory.file("map")], input: "a one\nA two\n").status == 0)
        #expect(try MapTools.makemapDump("hash", file: directory.file("map.db")).map(\.value) == ["two"])
    }

    @Test("-f, -N, -o and -t, checked with Sendmail's makemap -u")
    func flags() throws {
        let directory = try TemporaryDirectory()
        #expect(try run(["makemap", "-f", "hash", directory.file("cased")], input: "Mixed.Example OK\n").status == 0)
        #expect(try MapTools.makemapDump("hash", file: directory.file("cased.db")).map(\.key) == ["Mixed.Example"])

        #expect(try run(["makemap", "-N", "hash", directory.file("nul")], input: "k v\n").status == 0)
        #expect(try MapTools.makemapDump("hash", file: directory.file("nul.db"), flags: ["-N"]).map(\.key) == ["k"])
        #expect(try MapTools.postmapQuery("k", type: "hash", file: directory.file("nul")) == "v")

        #expect(try run(["makemap", "hash", directory.file("grown")], input: "k v\n").status == 0)
        #expect(try run(["makemap", "-o", "hash", directory.file("grown")], input: "k2 v2\n").status == 0)
        #expect(Set(try MapTools.makemapDump("hash", file: directory.file("grown.db")).map(\.key)) == ["k", "k2"])

        #expect(try run(["makemap", "-t", ":", "hash", directory.file("aliases")], input: "postmaster: root\n").status == 0)
        #expect(try MapTools.makemapDump("hash", file: directory.file("aliases.db")).first?.value == "root")

        let usage = try run(["makemap", "dbm", directory.file("x")], input: "")
        #expect(usage.status == 64)
        #expect(usage.standardError.contains("unknown map type \"dbm\""))
    }

    @Test("map query on dns: maps, against a private dnsmasq")
    func dnsQuery() throws {
        let dnsmasq = try DnsmasqServer(records: [
            "--local=/example.test/", "--mx-host=example.test,mx1.example.test,10",
            "--host-record=99.2.0.192.zen.example,127.0.0.2", "--local=/zen.example/",
        ])
        let mx = try run(["map", "query", "--nameserver", dnsmasq.address, "dns:-R MX", "example.test"])
        #expect(mx.status == 0)
        #expect(mx.standardOutput == "mx1.example.test\n")
        let listed = try run(["map", "query", "--nameserver", dnsmasq.address, "dns:-R DNSBL -B zen.example", "192.0.2.99"])
        #expect(listed.standardOutput == "127.0.0.2\n")
        let clean = try run(["map", "query", "--nameserver", dnsmasq.address, "dns:-R DNSBL -B zen.example", "192.0.2.1"])
        #expect(clean.status == 1)
    }

    @Test("map query on ldap: maps, against a private slapd")
    func ldapQuery() throws {
        let slapd = try SlapdServer(ldif: """
            dn: uid=cfandre,dc=example,dc=test
            objectClass: inetOrgPerson
            objectClass: inetLocalMailRecipient
            uid: cfandre
            cn: Carl Fandre
            sn: Fandre
            mailLocalAddress: cfandre@mn-linux.org
            mailRoutingAddress: cfandre@real-time.com

            """)
        let spec = "ldap:-H \(slapd.uri) -b \(slapd.suffix) -k (mailLocalAddress=%0) -v mailRoutingAddress"
        let found = try run(["map", "query", spec, "cfandre@mn-linux.org"])
        #expect(found.status == 0)
        #expect(found.standardOutput == "cfandre@real-time.com\n")
        #expect(try run(["map", "query", spec, "nobody@mn-linux.org"]).status == 1)
        slapd.stop()
        let down = try run(["map", "query", spec, "cfandre@mn-linux.org"])
        #expect(down.status == 2)
        #expect(down.standardError.contains("Can't contact LDAP server"))
        let bad = try run(["map", "query", "ldap:-H \"ldapx://bad host\" -k (uid=%0)", "x"])
        #expect(bad.status == 2)
        #expect(bad.standardError.contains("ldapx://bad host"))
    }
}

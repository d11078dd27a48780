import MailMaps
import Testing
import TestSupport

@Suite("map specs, the registry, inline: and sequence:")
struct SpecAndRegistryTests {
    @Test("type:name splits at the first colon; the type is lower-cased")
    func specParsing() throws {
        let spec = try MailMapSpec("HASH:/etc/mail/access")
        #expect(spec.type == "hash")
        #expect(spec.name == "/etc/mail/access")
        #expect(spec.description == "hash:/etc/mail/access")
        let ldap = try MailMapSpec("ldap:-b \"dc=example, dc=test\" -k (uid=%0) -v cn")
        #expect(try ldap.arguments() == ["-b", "dc=example, dc=test", "-k", "(uid=%0)", "-v", "cn"])
    }

    @Test("specs that do not parse are errors naming them", arguments: [
        ("/etc/mail/access", "has no type"),
        ("h@sh:/etc/mail/access", "is not a map type"),
        ("nosuch:/etc/mail/access", "unknown map type \"nosuch\""),
        ("text:-x /etc/mail/access", "unknown flag -x"),
        ("text:/etc/a /etc/b", "expected one file name"),
        ("text:\"/etc/mail/access", "double quote is not closed"),
        ("inline:a=b", "expected { key=value"),
        ("inline:{a=b, c}", "has no \"=\""),
        ("inline:{a=b", "balanced braces"),
        ("sequence:", "expected a list of map specs"),
        ("dns:-R SRV", "unknown record type \"SRV\""),
        ("dns:-R DNSBL", "needs its zone with -B"),
        ("dns:-R", "needs an argument"),
    ])
    func badSpecs(spec: String, problem: String) {
        let error = #expect(throws: MailMapError.self) { try MailMapRegistry.standard.open(spec) }
        #expect(error?.kind == .badSpec, "\(spec): \(String(describing: error))")
        #expect(error?.message.contains(problem) == true, "\(spec): \(String(describing: error))")
    }

    @Test("the standard registry's types")
    func standardTypes() {
        #expect(MailMapRegistry.standard.types == ["aliases", "dns", "inline", "list", "passwd", "sequence", "text"])
        #expect(MailMapRegistry().types.isEmpty)
    }

    @Test("inline maps, with braces around values that hold commas or spaces")
    func inline() async throws {
        let map = try await MailMapRegistry.standard.open("inline:{ Localhost=RELAY, 206.10.252=RELAY, { spam.example = ERROR:550 go away, now } }")
        #expect(try await map.lookup("localhost") == "RELAY")
        #expect(try await map.lookup("206.10.252") == "RELAY")
        #expect(try await map.lookup("spam.example") == "ERROR:550 go away, now")
        #expect(try await map.lookup("other") == nil)
        let empty = try await MailMapRegistry.standard.open("inline:{}")
        #expect(try await empty.lookup("x") == nil)
    }

    @Test("a sequence answers from the first map that has the key")
    func sequence() async throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("access", "a.example FROM-FILE\nb.example FROM-FILE\n")
        let map = try await MailMapRegistry.standard.open("sequence:{ inline:{a.example=FROM-INLINE}, text:\(path) }")
        #expect(try await map.lookup("a.example") == "FROM-INLINE")
        #expect(try await map.lookup("b.example") == "FROM-FILE")
        #expect(try await map.lookup("c.example") == nil)
        let listed = try #require(map as? any ListableMailMap)
        #expect(try await listed.entries().map(\.value) == ["FROM-INLINE", "FROM-FILE"])
    }

    @Test("an error in a sequence stops it: a later map never answers for a broken one")
    func sequenceStopsAtError() async throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("access", "a.example OK\n")
        let registry = MailMapRegistry(fileOptions: MailMapOptions(reloadInterval: .zero))
        var withTypes = registry
        withTypes.registerStandardTypes()
        let map = try await withTypes.open("sequence:{text:\(path)} inline:{a.example=WRONG}")
        #expect(try await map.lookup("a.example") == "OK")
        try directory.write("access", "broken\n")
        let error = await #expect(throws: MailMapError.self) { try await map.lookup("a.example") }
        #expect(error?.message.contains("line 1") == true)
    }

    @Test("a map that cannot be opened can stand as one that fails every lookup")
    func failedMap() async throws {
        let map = MailMapRegistry.standard.openOrFailing("text:/nonexistent/swiftmta/access")
        #expect(map is FailedMailMap)
        let error = await #expect(throws: MailMapError.self) { try await map.lookup("x") }
        #expect(error?.kind == .unreadable)
        #expect(error?.message.contains("/nonexistent/swiftmta/access") == true)
    }

    @Test("searching keys stops at the first found and records every key tried")
    func search() async throws {
        let map = try await MailMapRegistry.standard.open("inline:{ uu.net=RELAY, ca.uu.net=REJECT }")
        let keys = MailMapKeys.domainAndParents("chicago.il.uu.net")
        let search = await map.search(keys)
        #expect(search.probes.map(\.key) == ["chicago.il.uu.net", "il.uu.net", "uu.net"])
        #expect(search.probes.map(\.outcome) == [.notFound, .notFound, .found("RELAY")])
        #expect(try search.get()?.key == "uu.net")
        #expect(search.match?.value == "RELAY")
        #expect(search.probes[0].description == "inline:{ uu.net=RELAY, ca.uu.net=REJECT } chicago.il.uu.net: not found")

        let none = await map.search(["example.org", "org"])
        #expect(none.match == nil)
        #expect(none.error == nil)
        #expect(none.probes.count == 2)
    }

    @Test("a search that meets an error stops there and says so")
    func searchError() async {
        let map = MailMapRegistry.standard.openOrFailing("text:/nonexistent/access")
        let search = await map.search(["a", "b"])
        #expect(search.probes.count == 1)
        #expect(search.error?.kind == .unreadable)
        #expect(throws: MailMapError.self) { try search.get() }
    }

    @Test("secret values can be hidden from a trace")
    func redaction() async throws {
        let directory = try TemporaryDirectory()
        let path = try directory.write("client-info", "AuthInfo:relay.example \"U:root\" \"P:secret\"\n")
        let map = try await MailMapRegistry.standard.open("text:\(path)")
        let probe = try #require(await map.search([MailMapTag.authInfo.key("relay.example")]).match)
        #expect(probe.value == "\"U:root\" \"P:secret\"")
        #expect(probe.redacted.description.contains("secret") == false)
        #expect(probe.redacted.description.contains("AuthInfo:relay.example") == true)
    }
}

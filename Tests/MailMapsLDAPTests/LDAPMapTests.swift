import Foundation
import MailMaps
import MailMapsLDAP
import Testing
import TestSupport

/// Users with Sendmail LDAP-routing attributes (misc.schema's inetLocalMailRecipient).
private let entries = """
    dn: uid=cfandre,dc=example,dc=test
    objectClass: inetOrgPerson
    objectClass: inetLocalMailRecipient
    uid: cfandre
    cn: Carl Fandre
    sn: Fandre
    mailLocalAddress: cfandre@mn-linux.org
    mailRoutingAddress: cfandre@real-time.com

    dn: uid=tanner,dc=example,dc=test
    objectClass: inetOrgPerson
    objectClass: inetLocalMailRecipient
    uid: tanner
    cn: Bob Tanner
    sn: Tanner
    mailLocalAddress: tanner@mn-linux.org
    mailLocalAddress: rjt@tanners.org
    mailRoutingAddress: tanner@real-time.com
    mail: tanner@real-time.com
    mail: bob@real-time.com

    dn: uid=tanner2,dc=example,dc=test
    objectClass: inetOrgPerson
    objectClass: inetLocalMailRecipient
    uid: tanner2
    cn: Other Tanner
    sn: Tanner
    mailLocalAddress: other@tebbe.org
    mailRoutingAddress: other@real-time.com

    """

private func registry() -> MailMapRegistry {
    var registry = MailMapRegistry.standard
    registry.registerLDAP()
    return registry
}

@Suite("ldap: maps against a private slapd", .serialized)
struct LDAPMapTests {
    let slapd: SlapdServer

    init() throws {
        slapd = try SlapdServer(ldif: entries)
    }

    private func spec(_ rest: String) -> String {
        "ldap:-H \(slapd.uri) -b \(slapd.suffix) \(rest)"
    }

    @Test("Sendmail's LDAP routing: mailLocalAddress to mailRoutingAddress")
    func routing() async throws {
        let map = try await registry().open(spec("-k (&(objectClass=inetLocalMailRecipient)(mailLocalAddress=%0)) -v mailRoutingAddress -c 0"))
        #expect(try await map.lookup("cfandre@mn-linux.org") == "cfandre@real-time.com")
        #expect(try await map.lookup("RJT@Tanners.ORG") == "tanner@real-time.com")
        #expect(try await map.lookup("nobody@mn-linux.org") == nil)
        let search = await map.search(["nobody@tebbe.org", "other@tebbe.org"])
        #expect(search.probes.map(\.outcome) == [.notFound, .found("other@real-time.com")])
    }

    @Test("keys are escaped (RFC 4515): they never change the filter", arguments: [
        "*", "*)(uid=*", "cfandre@mn-linux.org)(uid=*", "\\2a", "cfandre@mn-linux.org\u{0}",
    ])
    func escaping(key: String) async throws {
        let map = try await registry().open(spec("-k (mailLocalAddress=%s) -v mailRoutingAddress -c 0"))
        #expect(try await map.lookup(key) == nil)
    }

    @Test("%u and %d: the key's local part and domain; a key without @ is not found")
    func addressParts() async throws {
        let map = try await registry().open(spec("-k (&(uid=%u)(mailLocalAddress=%s)) -v mailRoutingAddress -c 0"))
        #expect(try await map.lookup("cfandre@mn-linux.org") == "cfandre@real-time.com")
        #expect(try await map.lookup("cfandre") == nil)
    }

    @Test("several values: the first, or all joined with -z; -1 refuses several entries; no -v gives the DN")
    func values() async throws {
        let first = try await registry().open(spec("-k (uid=%0) -v mail -c 0"))
        #expect(try await first.lookup("tanner") == "tanner@real-time.com")
        let all = try await registry().open(spec("-k (uid=%0) -v mail -z, -c 0"))
        #expect(try await all.lookup("tanner") == "tanner@real-time.com,bob@real-time.com")
        let several = try await registry().open(spec("-k (sn=%0) -v uid -z\" \" -c 0"))
        #expect(try await several.lookup("Tanner").map { Set($0.split(separator: " ")) } == ["tanner", "tanner2"])
        let single = try await registry().open(spec("-1 -k (sn=%0) -v uid -c 0"))
        #expect(try await single.lookup("Tanner") == nil)
        #expect(try await single.lookup("Fandre") == "cfandre")
        let dn = try await registry().open(spec("-k (uid=%0) -c 0"))
        #expect(try await dn.lookup("cfandre") == "uid=cfandre,dc=example,dc=test")
    }

    @Test("slapd stopped mid-test: lookups fail with an error; started again, they recover")
    func stopAndRestart() async throws {
        let map = try await registry().open(spec("-k (mailLocalAddress=%0) -v mailRoutingAddress -c 0 -l 2"))
        #expect(try await map.lookup("cfandre@mn-linux.org") == "cfandre@real-time.com")
        slapd.stop()
        let error = await #expect(throws: MailMapError.self) { try await map.lookup("cfandre@mn-linux.org") }
        #expect(error?.kind == .unavailable)
        #expect(error?.message.contains("Can't contact LDAP server") == true, "\(String(describing: error))")
        #expect(error?.message.hasPrefix("ldap:-H \(slapd.uri)") == true)
        try slapd.start()
        #expect(try await map.lookup("cfandre@mn-linux.org") == "cfandre@real-time.com")
    }

    @Test("cached answers are served within their TTL, even with slapd down; uncached keys fail")
    func cache() async throws {
        let map = try await registry().open(spec("-k (mailLocalAddress=%0) -v mailRoutingAddress -c 60 -l 2"))
        #expect(try await map.lookup("cfandre@mn-linux.org") == "cfandre@real-time.com")
        #expect(try await map.lookup("nobody@mn-linux.org") == nil)
        slapd.stop()
        #expect(try await map.lookup("cfandre@mn-linux.org") == "cfandre@real-time.com")
        #expect(try await map.lookup("nobody@mn-linux.org") == nil)
        await #expect(throws: MailMapError.self) { try await map.lookup("tanner@mn-linux.org") }
        try slapd.start()
        #expect(try await map.lookup("tanner@mn-linux.org") == "tanner@real-time.com")
    }

    @Test("connections are reused: many lookups, at most the configured number of connections")
    func connectionReuse() async throws {
        let configuration = LDAPMap.Configuration(
            uris: [slapd.uri], base: slapd.suffix, filter: "(uid=%0)", attributes: ["cn"], connections: 2, cacheTTL: .zero)
        let map = try LDAPMap(configuration: configuration)
        for _ in 0..<40 {
            #expect(try await map.lookup("cfandre") == "Carl Fandre")
        }
        let open = TCPConnections.established(toPort: slapd.port)
        #expect((1...2).contains(open), "\(open) connections")
    }

    @Test("a simple bind with -d and a password file; a wrong password is an error without it")
    func simpleBind() async throws {
        let directory = try TemporaryDirectory()
        let good = try directory.write("secret", slapd.rootPassword + "\n", permissions: 0o600)
        let map = try await registry().open(spec("-d \(slapd.rootDN) -P \(good) -k (uid=%0) -v cn -c 0"))
        #expect(try await map.lookup("tanner") == "Bob Tanner")

        let wrong = try directory.write("wrong", "not-the-password-xyzzy\n", permissions: 0o600)
        let refused = try await registry().open(spec("-d \(slapd.rootDN) -P \(wrong) -k (uid=%0) -v cn -c 0"))
        let error = await #expect(throws: MailMapError.self) { try await refused.lookup("tanner") }
        #expect(error?.kind == .lookupFailed)
        #expect(error?.message.contains("Invalid credentials") == true, "\(String(describing: error))")
        #expect(error?.message.contains("xyzzy") == false)
        #expect(error?.message.contains(slapd.rootDN) == true)
    }

    @Test("specs that do not parse are errors naming what is wrong", arguments: [
        ("-H \"ldapx://bad host\" -b dc=x -k (uid=%0)", "ldapx://bad host"),
        ("-b dc=x -k (uid=%0)", "no server"),
        ("-H ldap://127.0.0.1 -b dc=x", "no filter"),
        ("-H ldap://127.0.0.1 -k (uid=%0) -s deep", "unknown scope \"deep\""),
        ("-H ldap://127.0.0.1 -k (uid=%x)", "unknown placeholder %x"),
        ("-H ldap://127.0.0.1 -k (uid=%0", "do not balance"),
        ("-H ldap://127.0.0.1 -k (uid=%0) -M LDAP_AUTH_SIMPLE", "needs the DN"),
        ("-H ldap://127.0.0.1 -k (uid=%0) -d cn=x", "needs the file holding its password"),
        ("-H ldap://127.0.0.1 -k (uid=%0) -M LDAP_AUTH_KRBV4", "unknown bind method"),
        ("-H ldap://127.0.0.1 -k (uid=%0) -w 2", "version 3"),
        ("-H ldap://127.0.0.1 -k (uid=%0) -l soon", "not a number of seconds"),
        ("-H ldap://127.0.0.1 -k (uid=%0) -q", "unknown flag -q"),
        ("-H ldap://127.0.0.1 -k (uid=%0) extra", "unexpected \"extra\""),
    ])
    func badSpecs(rest: String, problem: String) {
        let error = #expect(throws: MailMapError.self) { try registry().open("ldap:" + rest) }
        #expect(error?.kind == .badSpec, "\(String(describing: error))")
        #expect(error?.message.contains(problem) == true, "\(String(describing: error))")
    }

    @Test("a password file that cannot be read is an error naming it")
    func missingPasswordFile() {
        let error = #expect(throws: MailMapError.self) {
            try registry().open("ldap:-H ldap://127.0.0.1 -k (uid=%0) -d cn=x -P /nonexistent/secret")
        }
        #expect(error?.kind == .unreadable)
        #expect(error?.message.contains("/nonexistent/secret") == true)
    }
}

@Suite("LDAP filter templates (RFC 4515)")
struct LDAPFilterTemplateTests {
    @Test("escaping")
    func escape() {
        #expect(LDAPFilterTemplate.escape("a*b(c)d\\e\u{0}") == "a\\2ab\\28c\\29d\\5ce\\00")
        #expect(LDAPFilterTemplate.escape("jörg@example.com") == "jörg@example.com")
    }

    @Test("placeholders")
    func placeholders() throws {
        let template = try LDAPFilterTemplate("(&(uid=%u)(domain=%d)(mail=%s)(alt=%0)(pct=100%%))", map: "test")
        #expect(template.filter(for: "a*b@example.com") == "(&(uid=a\\2ab)(domain=example.com)(mail=a\\2ab@example.com)(alt=a\\2ab@example.com)(pct=100%))")
        #expect(template.filter(for: "no-at-sign") == nil)
        #expect(try LDAPFilterTemplate("(uid=%0)", map: "test").filter(for: "no-at-sign") == "(uid=no-at-sign)")
    }
}

@Suite("SASL EXTERNAL over ldapi:// against a private slapd")
struct LDAPSASLTests {
    @Test("an EXTERNAL bind reads what anonymous searches cannot")
    func external() async throws {
        let slapd = try SlapdServer(ldif: entries, externalAuthentication: true)
        let anonymous = try await registry().open("ldap:-H \(slapd.ldapiURI) -b \(slapd.suffix) -k (uid=%0) -v cn -c 0")
        let refused = await #expect(throws: MailMapError.self) { try await anonymous.lookup("cfandre") }
        #expect(refused?.message.contains("Insufficient access") == true, "\(String(describing: refused))")

        let external = try await registry().open("ldap:-H \(slapd.ldapiURI) -b \(slapd.suffix) -Y EXTERNAL -k (uid=%0) -v cn -c 0")
        #expect(try await external.lookup("cfandre") == "Carl Fandre")

        // EXTERNAL means nothing over TCP without a client certificate: the bind is refused.
        let overTCP = try await registry().open("ldap:-H \(slapd.uri) -b \(slapd.suffix) -Y EXTERNAL -k (uid=%0) -v cn -c 0")
        let error = await #expect(throws: MailMapError.self) { try await overTCP.lookup("cfandre") }
        #expect(error?.message.contains("SASL EXTERNAL bind") == true, "\(String(describing: error))")
    }
}

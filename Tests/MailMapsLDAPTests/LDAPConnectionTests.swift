import MailMaps
import MailMapsLDAP
import Testing
import TestSupport

/// One user with Sendmail LDAP-routing attributes (misc.schema's inetLocalMailRecipient).
private let entries = """
    dn: uid=cfandre,dc=example,dc=test
    objectClass: inetOrgPerson
    objectClass: inetLocalMailRecipient
    uid: cfandre
    cn: Carl Fandre
    sn: Fandre
    mailLocalAddress: cfandre@mn-linux.org
    mailRoutingAddress: cfandre@real-time.com

    """

@Suite("OpenLDAP through libldap, against a private slapd", .serialized)
struct LDAPConnectionTests {
    @Test("reads an attribute of an entry found by a filter")
    func readsAttribute() throws {
        let slapd = try SlapdServer(ldif: entries)
        let connection = try LDAPConnection(uri: slapd.uri)
        try connection.bind(dn: nil, password: nil)
        let found = try connection.search(
            base: slapd.suffix, scope: .subtree,
            filter: "(mailLocalAddress=cfandre@mn-linux.org)", attributes: ["mailRoutingAddress"])
        #expect(found.count == 1)
        #expect(found.first?.dn == "uid=cfandre,dc=example,dc=test")
        #expect(found.first?.attributes["mailRoutingAddress"] == ["cfandre@real-time.com"])

        let missing = try connection.search(
            base: slapd.suffix, scope: .subtree,
            filter: "(mailLocalAddress=nobody@mn-linux.org)", attributes: ["mailRoutingAddress"])
        #expect(missing.isEmpty)
    }

    @Test("a simple bind with the right and a wrong password")
    func simpleBind() throws {
        let slapd = try SlapdServer(ldif: entries)
        let connection = try LDAPConnection(uri: slapd.uri)
        try connection.bind(dn: slapd.rootDN, password: slapd.rootPassword)

        let other = try LDAPConnection(uri: slapd.uri)
        let error = #expect(throws: MailMapError.self) { try other.bind(dn: slapd.rootDN, password: "wrong") }
        #expect(error?.kind == .lookupFailed)
        #expect(error?.message.contains("Invalid credentials") == true)
        #expect(error?.message.contains("wrong") == false, "the password must not appear in the error")
    }

    @Test("a server that is not running is a clear error")
    func serverDown() throws {
        let port = try LoopbackPort.free()
        let connection = try LDAPConnection(uri: "ldap://127.0.0.1:\(port)/", timeout: .seconds(2))
        let error = #expect(throws: MailMapError.self) {
            try connection.search(base: "dc=example,dc=test", scope: .subtree, filter: "(uid=x)", attributes: ["cn"])
        }
        #expect(error?.kind == .unavailable)
        #expect(error?.message.contains("127.0.0.1:\(port)") == true)
        #expect(error?.message.contains("Can't contact LDAP server") == true)
    }

    @Test("slapd stopped mid-test is an error; started again, the connection recovers")
    func stopAndRestart() throws {
        let slapd = try SlapdServer(ldif: entries)
        let connection = try LDAPConnection(uri: slapd.uri)
        let filter = "(uid=cfandre)"
        #expect(try connection.search(base: slapd.suffix, scope: .subtree, filter: filter, attributes: ["cn"]).count == 1)
        slapd.stop()
        #expect(throws: MailMapError.self) {
            try connection.search(base: slapd.suffix, scope: .subtree, filter: filter, attributes: ["cn"])
        }
        try slapd.start()
        #expect(try connection.search(base: slapd.suffix, scope: .subtree, filter: filter, attributes: ["cn"]).count == 1)
    }

    @Test("a URI that does not parse is an error naming it")
    func badURI() {
        let error = #expect(throws: MailMapError.self) { try LDAPConnection(uri: "ldapx://bad host") }
        #expect(error?.kind == .badSpec)
        #expect(error?.message.contains("ldapx://bad host") == true)
    }
}

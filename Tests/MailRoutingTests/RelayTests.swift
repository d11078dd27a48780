import Foundation
import MailMaps
import MailRouting
import SMTPProtocol
import Testing
import TestSupport

/// The access table of the relay tests: the seed talk's entries and one of each other kind.
let relayAccess = """
    localhost\tRELAY
    real-time.com\tRELAY
    206.10.252\tRELAY
    206.10.253\tRELAY
    uu.net\tRELAY
    ca.uu.net\tRELAY
    chicago.il.uu.net\tRELAY
    Connect:198.51.100.7\tRELAY
    Connect:203.0.113\tREJECT
    Connect:bad.example\tERROR:"550 Go away, bad host"
    To:relayto.example\tRELAY
    To:blocked@tebbe.org\tREJECT
    To:nospam.tebbe.org\tERROR:5.7.1:550 No mail for this host
    From:spammer.example\tREJECT
    From:dropit.example\tDISCARD
    Connect:192.0.2.99\tSKIP
    192.0.2.99\tRELAY
    Connect:IPv6:2001:db8::77\tRELAY
    IPv6:2001:db8:1\tRELAY

    """

/// One check_rcpt question.
struct RelayCase: CustomStringConvertible, Sendable {
    var ip: String
    var host: String?
    var auth: String?
    var sender: String
    var recipient: String

    init(_ ip: String, host: String? = nil, auth: String? = nil, sender: String = "someone@client.example", _ recipient: String) {
        self.ip = ip
        self.host = host
        self.auth = auth
        self.sender = sender
        self.recipient = recipient
    }

    var description: String { "\(ip) \(host ?? "-") auth=\(auth ?? "-") from \(sender) to \(recipient)" }
}

@Suite("Relay decisions", .serialized)
struct RelayTests {
    static func fixture(relayBasedOnMX: Bool = false, nameserver: String? = nil, dnsbl: [DNSBLZone] = []) throws -> RoutingFixture {
        try RoutingFixture(
            configuration: RoutingConfiguration(
                hostname: "mx.example.test", virtualDomains: ["virt.example"], relayBasedOnMX: relayBasedOnMX,
                blacklistRecipients: true, delayChecks: true, acceptUnresolvableDomains: true, dnsbl: dnsbl,
                trustedMechanisms: ["LOGIN", "PLAIN", "DIGEST-MD5", "CRAM-MD5"]),
            localHostNames: ["mn-linux.org", "tanners.org", "tebbe.org"],
            access: relayAccess,
            nameserver: nameserver)
    }

    static let outsider = "192.0.2.55"

    /// The classic open-relay tests (the forms of Sendmail's and the MAPS relay-test suites).
    static let openRelayForms = [
        "user@other.example",
        "user%other.example@tebbe.org",
        "user%other.example@[127.0.0.1]",
        "\"user@other.example\"@tebbe.org",
        "\"user%other.example\"@tebbe.org",
        "other.example!user@tebbe.org",
        "other.example!user",
        "@tebbe.org:user@other.example",
        "@tebbe.org,@mx.example.test:user@other.example",
        "user@other.example@tebbe.org",
        "user%other.example%tebbe.org@tebbe.org",
        "\"other.example!user\"@tebbe.org",
        "user@[192.0.2.200]",
    ]

    @Test("every classic open-relay form is refused for an outside client", arguments: RelayTests.openRelayForms)
    func openRelay(form: String) async throws {
        let fixture = try Self.fixture()
        guard let verdict = try? await fixture.rcpt(form, from: Self.outsider) else {
            // Forms that are not even a valid path never reach the relay check: the parser refuses them.
            #expect(throws: (any Error).self) { try SMTPCommand.parse(Substring("RCPT TO:<\(form)>")) }
            return
        }
        guard case .reject(let reply) = verdict.action else {
            Issue.record("\(form) was not refused: \(verdict) (\(verdict.reason))")
            return
        }
        #expect(reply.code == 550)
        #expect(reply.enhancedCode?.description == "5.7.1")
    }

    @Test("the same forms pass for a client allowed to relay", arguments: ["206.10.252.103", "198.51.100.7"])
    func allowedClient(ip: String) async throws {
        let fixture = try Self.fixture()
        for form in ["user@other.example", "user%other.example@tebbe.org", "@tebbe.org:user@other.example"] {
            let verdict = try await fixture.rcpt(form, from: ip)
            #expect(verdict.action == .relay, "\(form) from \(ip): \(verdict)")
        }
    }

    @Test("every combination of client entry, AUTH and recipient", arguments: [
        // (client ip, host name, auth, recipient, expected: "relay" | "ok" | "reject")
        (outsider, nil, nil, "bob@tebbe.org", "ok"),
        (outsider, nil, nil, "info@virt.example", "ok"),
        (outsider, nil, nil, "x@real-time.com", "relay"),
        (outsider, nil, nil, "x@sub.real-time.com", "relay"),
        (outsider, nil, nil, "a@relayto.example", "relay"),
        (outsider, nil, nil, "user@other.example", "reject"),
        (outsider, "mail.uu.net", nil, "user@other.example", "relay"),
        (outsider, "mail.chicago.il.uu.net", nil, "user@other.example", "relay"),
        (outsider, "uu.net.evil.example", nil, "user@other.example", "reject"),
        ("206.10.253.1", nil, nil, "user@other.example", "relay"),
        ("206.10.254.1", nil, nil, "user@other.example", "reject"),
        // The seed's `localhost RELAY` does not open the relay to loopback clients (a local proxy
        // makes every client 127.0.0.1, and /etc/hosts names it localhost); Connect:127.0.0.1
        // RELAY would.
        ("127.0.0.1", "localhost", nil, "user@other.example", "reject"),
        (outsider, nil, "PLAIN", "user@other.example", "relay"),
        (outsider, nil, "CRAM-MD5", "user@other.example", "relay"),
        (outsider, nil, "GSSAPI", "user@other.example", "reject"),
        ("203.0.113.9", nil, nil, "bob@tebbe.org", "reject"),
        ("203.0.113.9", nil, "PLAIN", "user@other.example", "relay"),
        ("192.0.2.99", nil, nil, "user@other.example", "reject"),
        ("2001:db8::77", nil, nil, "user@other.example", "relay"),
        ("2001:db8:1::5", nil, nil, "user@other.example", "relay"),
        ("2001:db8:2::5", nil, nil, "user@other.example", "reject"),
    ] as [(String, String?, String?, String, String)])
    func matrix(ip: String, host: String?, auth: String?, recipient: String, expected: String) async throws {
        let verdict = try await Self.fixture().rcpt(recipient, from: ip, host: host, auth: auth)
        let got: String
        switch verdict.action {
        case .relay: got = "relay"
        case .ok, .pass: got = "ok"
        case .reject: got = "reject"
        case .discard: got = "discard"
        }
        #expect(got == expected, "\(ip) \(host ?? "") \(auth ?? "") → \(recipient): \(verdict) (\(verdict.reason))")
    }

    @Test("recipient and sender entries: REJECT, ERROR:, DISCARD")
    func entries() async throws {
        let fixture = try Self.fixture()
        let blocked = try await fixture.rcpt("blocked@tebbe.org")
        #expect(blocked.action == .reject(SMTPReply(550, EnhancedStatusCode(5, 2, 1)!, "Mailbox disabled for this recipient")))
        let nospam = try await fixture.rcpt("a@nospam.tebbe.org")
        #expect(nospam.action == .reject(SMTPReply(550, .deliveryNotAuthorized, "No mail for this host")))
        let spammer = try await fixture.rcpt("bob@tebbe.org", sender: "a@spammer.example")
        #expect(spammer.isRejection)
        let drop = try await fixture.rcpt("bob@tebbe.org", sender: "a@dropit.example")
        #expect(drop.action == .discard)
        let bad = try await fixture.rcpt("bob@tebbe.org", host: "bad.example")
        // ERROR:"550 text" without an enhanced code: Sendmail answers 550 5.0.0 (the oracle's 192.0.2.23).
        #expect(bad.action == .reject(SMTPReply(550, EnhancedStatusCode(5, 0, 0)!, "Go away, bad host")))
        // delay_checks: an authenticated client is not refused for its sender or address.
        let authenticated = try await fixture.rcpt("bob@tebbe.org", from: "203.0.113.9", auth: "LOGIN", sender: "a@spammer.example")
        #expect(authenticated.action == .relay)
    }

    @Test("delay_checks uses the session's connect and sender verdicts when it is given them")
    func reusedVerdicts() async throws {
        let fixture = try Self.fixture()
        let path = ForwardPath(mailbox: try Mailbox(parsing: "bob@tebbe.org"))
        let client = ClientIdentity(address: "203.0.113.9")
        let connect = await fixture.router.checkConnect(client)
        #expect(connect.isRejection)
        let given = await fixture.router.checkRecipient(path, sender: .null, client: client, connectVerdict: connect, senderVerdict: AccessVerdict(.pass, reason: "no entry"))
        let made = await fixture.router.checkRecipient(path, sender: .null, client: client)
        #expect(given.action == made.action)
        // Given, the connect lookups are not made again: the trace holds them once, not twice.
        let connectProbes = given.trace.filter { $0.description.contains("Connect:203.0.113") }
        #expect(connectProbes.count == connect.trace.filter { $0.description.contains("Connect:203.0.113") }.count)
    }

    @Test("Sendmail's check_rcpt reaches the same verdicts")
    func sendmailAgrees() async throws {
        let cases: [RelayCase] = [
            RelayCase(Self.outsider, "bob@tebbe.org"),
            RelayCase(Self.outsider, "user@other.example"),
            RelayCase(Self.outsider, "x@real-time.com"),
            RelayCase(Self.outsider, "a@relayto.example"),
            RelayCase(Self.outsider, host: "mail.uu.net", "user@other.example"),
            RelayCase("206.10.252.103", "user@other.example"),
            RelayCase("206.10.254.1", "user@other.example"),
            RelayCase("198.51.100.7", "user@other.example"),
            RelayCase("203.0.113.9", "bob@tebbe.org"),
            RelayCase("203.0.113.9", auth: "PLAIN", "user@other.example"),
            RelayCase(Self.outsider, host: "bad.example", "bob@tebbe.org"),
            RelayCase(Self.outsider, sender: "a@spammer.example", "bob@tebbe.org"),
            RelayCase(Self.outsider, sender: "a@dropit.example", "bob@tebbe.org"),
            RelayCase(Self.outsider, "blocked@tebbe.org"),
            RelayCase(Self.outsider, "a@nospam.tebbe.org"),
            RelayCase(Self.outsider, auth: "CRAM-MD5", "user@other.example"),
            RelayCase(Self.outsider, auth: "GSSAPI", "user@other.example"),
            RelayCase("192.0.2.99", "user@other.example"),
        ] + Self.openRelayForms.filter { (try? SMTPCommand.parse(Substring("RCPT TO:<\($0)>"))) != nil }.map { RelayCase(Self.outsider, $0) }
        let sendmail = try await SendmailRelayOracle.verdicts(access: relayAccess, localHostNames: ["mn-linux.org", "tanners.org", "tebbe.org"], cases: cases)
        let fixture = try Self.fixture()
        for (relayCase, expected) in zip(cases, sendmail) {
            let ours = try await fixture.rcpt(relayCase.recipient, from: relayCase.ip, host: relayCase.host, auth: relayCase.auth, sender: relayCase.sender)
            switch (expected, ours.action) {
            case (.accept, .ok), (.accept, .relay), (.accept, .pass), (.discard, .discard):
                break
            case (.reject(let code, let enhanced), .reject(let reply)):
                #expect(reply.code == code, "\(relayCase)")
                if let enhanced { #expect(reply.enhancedCode?.description == enhanced, "\(relayCase)") }
            default:
                Issue.record("\(relayCase): Sendmail \(expected), SwiftMTA \(ours) (\(ours.reason))")
            }
        }
    }

    @Test("relay_based_on_MX: relaying for a domain whose MX is this host (private dnsmasq)")
    func relayBasedOnMX() async throws {
        let dns = try DnsmasqServer(records: [
            "--mx-host=backup.example,mx.example.test,10",
            "--mx-host=elsewhere.example,mx.elsewhere.example,10",
            "--host-record=mx.elsewhere.example,192.0.2.80",
            "--local=/backup.example/", "--local=/elsewhere.example/", "--local=/nomx.example/",
        ])
        let fixture = try Self.fixture(relayBasedOnMX: true, nameserver: dns.address)
        #expect(try await fixture.rcpt("a@backup.example").action == .relay)
        #expect(try await fixture.rcpt("a@elsewhere.example").isRejection)
        #expect(try await fixture.rcpt("a@nomx.example").isRejection)
        let off = try Self.fixture(relayBasedOnMX: false, nameserver: dns.address)
        #expect(try await off.rcpt("a@backup.example").isRejection)
    }

    @Test("DNSBL at connect, with the reply template, and delayed to RCPT with delay_checks (private dnsmasq)")
    func dnsbl() async throws {
        let dns = try DnsmasqServer(records: [
            "--host-record=55.2.0.192.zen.example,127.0.0.2",
            "--local=/zen.example/",
        ])
        let zone = DNSBLZone(zone: "zen.example", message: "Mail from ${client_addr} Rejected - see http://zen.example/")
        let fixture = try Self.fixture(nameserver: dns.address, dnsbl: [zone])
        let listed = await fixture.router.checkConnect(ClientIdentity(address: "192.0.2.55"))
        #expect(listed.action == .reject(SMTPReply(550, .deliveryNotAuthorized, "Mail from 192.0.2.55 Rejected - see http://zen.example/")))
        let clean = await fixture.router.checkConnect(ClientIdentity(address: "192.0.2.56"))
        #expect(clean.action == .pass)
        // A RELAY client is not looked up at all.
        let trusted = await fixture.router.checkConnect(ClientIdentity(address: "206.10.252.55"))
        #expect(trusted.action == .relay)
        // delay_checks: refused at RCPT, unless authenticated.
        #expect(try await fixture.rcpt("bob@tebbe.org", from: "192.0.2.55").isRejection)
        #expect(try await fixture.rcpt("bob@tebbe.org", from: "192.0.2.55", auth: "PLAIN").action == .relay)
    }

    @Test("DNS that does not answer is a temporary failure, not a pass")
    func dnsTimeout() async throws {
        // A port where nothing answers: the lookup times out.
        let silent = try LoopbackPort.free()
        let fixture = try Self.fixture(nameserver: "127.0.0.1:\(silent)", dnsbl: [DNSBLZone(zone: "zen.example")])
        let verdict = await fixture.router.checkConnect(ClientIdentity(address: "192.0.2.55"))
        guard case .reject(let reply) = verdict.action else {
            Issue.record("not a temporary failure: \(verdict)")
            return
        }
        #expect(reply.code == 451)
    }
}

/// Runs Sendmail's check_rcpt for the cases, through `sendmail -bt` on a .cf made from the seed
/// talk's features (less the DNS ones) and the given access table.
enum SendmailRelayOracle {
    enum Verdict: Equatable, CustomStringConvertible {
        case accept
        case discard
        case reject(code: Int, enhanced: String?)

        var description: String {
            switch self {
            case .accept: "accept"
            case .discard: "discard"
            case .reject(let code, let enhanced): "reject \(code) \(enhanced ?? "")"
            }
        }
    }

    static func verdicts(access: String, localHostNames: [String], cases: [RelayCase]) async throws -> [Verdict] {
        let directory = try TemporaryDirectory(prefix: "swiftmta-relay-oracle")
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
        try MapTools.makemap("hash", text: access, output: directory.file("access"))
        try directory.write("local-host-names", localHostNames.joined(separator: "\n") + "\n")
        let mc = """
            divert(-1)dnl
            include(`/usr/share/sendmail/cf/m4/cf.m4')dnl
            OSTYPE(`linux')dnl
            define(`confDONT_BLAME_SENDMAIL', `MapInUnsafeDirPath,ClassFileInUnsafeDirPath,GroupWritableDirPathSafe')dnl
            define(`confCW_FILE', `\(directory.path)/local-host-names')dnl
            VIRTUSER_DOMAIN(`virt.example')dnl
            FEATURE(`virtusertable', `hash -o \(directory.path)/virtusertable')dnl
            FEATURE(use_cw_file)dnl
            FEATURE(`access_db', `hash -T<TMPF> -o \(directory.path)/access')dnl
            FEATURE(`blocklist_recipients')dnl
            FEATURE(`delay_checks')dnl
            FEATURE(`accept_unresolvable_domains')dnl
            TRUST_AUTH_MECH(`LOGIN PLAIN DIGEST-MD5 CRAM-MD5')dnl
            define(`confAUTH_MECHANISMS', `LOGIN PLAIN DIGEST-MD5 CRAM-MD5')dnl
            MAILER(`local')dnl
            MAILER(`smtp')dnl

            """
        let cf = try await ExternalTool.runChecked("m4", [], input: mc).standardOutput
        try directory.write("sendmail.cf", cf)
        var script = ""
        for relayCase in cases {
            script += ".D{client_addr}\(relayCase.ip)\n"
            script += ".D{client_name}\(relayCase.host ?? "unknown.invalid")\n"
            script += ".D{auth_type}\(relayCase.auth ?? "")\n"
            script += ".Df\(relayCase.sender)\n"
            script += "check_rcpt <\(relayCase.recipient)>\n"
        }
        let output = try await ExternalTool.runChecked(
            "unshare", ["-u", "sh", "-c", "hostname mx.example.test && exec /usr/sbin/sendmail -bt -C \(directory.path)/sendmail.cf"],
            input: script, timeout: .seconds(120)).standardOutput
        let results = output.split(separator: "\n").filter { $0.hasPrefix("check_rcpt") && $0.contains("returns:") }
        guard results.count == cases.count else {
            throw TestSupportError("sendmail answered \(results.count) of \(cases.count) checks:\n\(output)")
        }
        return results.map { line in
            let text = String(line)
            if text.contains("$# discard") { return .discard }
            guard text.contains("$# error") else { return .accept }
            var enhanced: String?
            if let at = text.range(of: "$@ ") {
                let rest = text[at.upperBound...]
                let code = rest.prefix { $0 != "$" }.replacingOccurrences(of: " ", with: "")
                if code.split(separator: ".").count == 3 { enhanced = code }
            }
            let digits = text.range(of: #"\$: "?(\d{3})"#, options: .regularExpression).map { text[$0].filter(\.isNumber) }
            return .reject(code: Int(digits ?? "550") ?? 550, enhanced: enhanced)
        }
    }
}

import Foundation
import MailMaps
import MailRouting
import SMTPProtocol
import Testing
import TestSupport

/// The answers the server sends at MAIL and RCPT (Router.answerMail, Router.answerRecipient),
/// beside the oracle's comparison with sendmail -bD: the cases the oracle cannot make (a DNS
/// server that does not answer, loopback without a name, the server's parsed paths).
@Suite("MAIL and RCPT answers", .serialized)
struct AnswerTests {
    static let access = """
        Connect:192.0.2.21\tREJECT
        Connect:192.0.2.22\tDISCARD
        From:spammer.example\tREJECT
        To:root+spam@tebbe.org\tREJECT
        To:daemon+*@tebbe.org\tDISCARD

        """

    static func fixture(nameserver: String, timeout: Duration = .seconds(5), acceptUnresolvable: Bool = false, delayChecks: Bool = false, access: String = AnswerTests.access) throws -> RoutingFixture {
        try RoutingFixture(
            configuration: RoutingConfiguration(
                hostname: "mx.example.test", blacklistRecipients: true, delayChecks: delayChecks,
                acceptUnresolvableDomains: acceptUnresolvable),
            localHostNames: ["tebbe.org"], access: access, localUsers: ["root", "daemon"],
            nameserver: nameserver, dnsTimeout: timeout)
    }

    static let records = [
        "--local=/example/", "--local=/org/", "--local=/in-addr.arpa/",
        "--mx-host=client.example,mx.client.example,10", "--host-record=mx.client.example,192.0.2.200",
        "--host-record=a-only.example,192.0.2.201", "--host-record=tebbe.org,192.0.2.250",
    ]

    static func mail(_ fixture: RoutingFixture, _ sender: String?, client: ClientIdentity? = ClientIdentity(address: "192.0.2.55")) async throws -> RoutingAnswer {
        await fixture.router.answerMail(try sender.map { try RoutingAddress(parsing: $0) }, session: SessionFacts(client: client))
    }

    @Test("check_mail through the configured resolver: resolvable, nonexistent, and accept_unresolvable_domains", arguments: [
        ("x@client.example", "250 2.1.0 Sender ok"),
        ("x@a-only.example", "250 2.1.0 Sender ok"),
        ("x@nx.example", "553 5.1.8 Domain of sender address x@nx.example does not exist"),
        ("x@[192.0.2.1]", "553 5.1.8 Domain of sender address x@[192.0.2.1] does not exist"),
        ("x@localhost", "553 5.5.4 Real domain name required for sender address"),
        ("root", "553 5.5.4 Domain name required for sender address root"),
        ("x@spammer.example", "550 5.7.1 Access denied"),
    ])
    func senderChecks(sender: String, reply: String) async throws {
        let dns = try DnsmasqServer(records: Self.records)
        defer { dns.stop() }
        let answer = try await Self.mail(try Self.fixture(nameserver: dns.address), sender)
        #expect(Self.text(answer.reply) == reply, "\(answer.trace)")
        #expect(answer.isRefusal == !reply.hasPrefix("250"))
        // accept_unresolvable_domains lets the nonexistent domain through, nothing else.
        let lenient = try await Self.mail(try Self.fixture(nameserver: dns.address, acceptUnresolvable: true), sender)
        if sender.hasSuffix("nx.example") || sender.hasSuffix("]") {
            #expect(Self.text(lenient.reply) == "250 2.1.0 Sender ok")
        } else {
            #expect(Self.text(lenient.reply) == reply)
        }
    }

    @Test("a DNS server that does not answer: 451 4.1.8, never 553")
    func senderDNSFailure() async throws {
        let silent = try SilentUDPPort()
        let fixture = try Self.fixture(nameserver: "127.0.0.1:\(silent.port)", timeout: .milliseconds(300))
        let answer = try await Self.mail(fixture, "x@client.example")
        #expect(Self.text(answer.reply) == "451 4.1.8 Domain of sender address x@client.example does not resolve")
        #expect(answer.trace.contains { $0.description.contains("DNS failed") })
        _ = silent
    }

    @Test("a local submission may send unqualified and relay; a loopback client without a name may not")
    func localAndLoopback() async throws {
        let dns = try DnsmasqServer(records: Self.records)
        defer { dns.stop() }
        let fixture = try Self.fixture(nameserver: dns.address)
        let remote = try RoutingAddress(parsing: "user@other.example")
        let local = SessionFacts(client: nil)
        let mail = await fixture.router.answerMail(try RoutingAddress(parsing: "root"), session: local)
        #expect(mail.disposition == .accept)
        let relayed = await fixture.router.answerRecipient(remote, sender: try RoutingAddress(parsing: "root"), mail: mail, session: local)
        #expect(Self.text(relayed.reply) == "250 2.1.5 Recipient ok")
        #expect(relayed.trace.contains(.rule("a local submission may relay")))

        let loopback = SessionFacts(client: ClientIdentity(address: "127.0.0.1"))
        let refused = await fixture.router.answerRecipient(remote, sender: nil, mail: nil, session: loopback)
        #expect(Self.text(refused.reply) == "550 5.7.1 Relaying denied. IP name lookup failed [127.0.0.1]")
        #expect(refused.trace.contains { $0.description.contains("the access entry Connect:127.0.0.1 RELAY would") })

        let trusting = try Self.fixture(nameserver: dns.address, access: Self.access + "Connect:127.0.0.1\tRELAY\n")
        let allowed = await trusting.router.answerRecipient(remote, sender: nil, mail: nil, session: loopback)
        #expect(Self.text(allowed.reply) == "250 2.1.5 Recipient ok")
    }

    @Test("the server's parsed paths: connect REJECT answers every MAIL, DISCARD discards the message, the verdict is reused")
    func serverPaths() async throws {
        let dns = try DnsmasqServer(records: Self.records)
        defer { dns.stop() }
        let fixture = try Self.fixture(nameserver: dns.address)
        let router = fixture.router
        let sender = ReversePath(mailbox: try Mailbox(parsing: "x@client.example"))
        func rcpt(_ text: String) throws -> ForwardPath {
            guard case .recipient(let path, _) = try SMTPCommand.parse(Substring("RCPT TO:<\(text)>")) else { throw TestSupportError("not a RCPT") }
            return path
        }

        let rejected = ClientIdentity(address: "192.0.2.21")
        let connect = await router.checkConnect(rejected)
        let session = SessionFacts(client: rejected, connectVerdict: connect)
        let refused = await router.answerMail(sender, session: session)
        #expect(Self.text(refused.reply) == "550 5.7.1 Access denied")
        // The session's verdict is used as it is: no Connect: lookup again.
        #expect(!refused.trace.contains { $0.description.contains("Connect:192.0.2.21") && $0 != connect.trace.first })
        #expect(refused.trace == connect.trace + [.rule("the client was refused at connect (check_relay): every MAIL is")])

        let dropped = SessionFacts(client: ClientIdentity(address: "192.0.2.22"))
        let mail = await router.answerMail(sender, session: dropped)
        #expect(mail.disposition == .discard)
        #expect(Self.text(mail.reply) == "250 2.1.0 Sender ok")
        let unknown = await router.answerRecipient(try rcpt("nosuchuser@tebbe.org"), sender: sender, mail: mail, session: dropped)
        #expect(unknown.disposition == .discard)
        let remote = await router.answerRecipient(try rcpt("user@other.example"), sender: sender, mail: mail, session: dropped)
        #expect(remote.disposition == .refuse)
        #expect(remote.reply.enhancedCode?.description == "5.7.1")

        let outsider = SessionFacts(client: ClientIdentity(address: "192.0.2.55", hostName: "host.client.example"))
        let ok = await router.answerMail(sender, session: outsider)
        let cases: [(String, String, RoutingAnswer.Disposition)] = [
            ("root@tebbe.org", "250 2.1.5 Recipient ok", .accept),
            ("root+spam@tebbe.org", "550 5.2.1 Mailbox disabled for this recipient", .refuse),
            ("daemon+x@tebbe.org", "250 2.1.5 Recipient ok", .discard),
            ("nosuchuser@tebbe.org", "550 5.1.1 User unknown", .refuse),
            ("Postmaster", "250 2.1.5 Recipient ok", .accept),
            ("user@other.example", "550 5.7.1 Relaying denied", .refuse),
        ]
        for (recipient, reply, disposition) in cases {
            let answer = await router.answerRecipient(try rcpt(recipient), sender: sender, mail: ok, session: outsider)
            #expect(Self.text(answer.reply) == reply, "\(recipient): \(answer.trace)")
            #expect(answer.disposition == disposition, "\(recipient)")
        }
    }

    @Test("delay_checks: MAIL is taken, the sender's verdict waits for RCPT and is not made again")
    func delayed() async throws {
        let dns = try DnsmasqServer(records: Self.records)
        defer { dns.stop() }
        let fixture = try Self.fixture(nameserver: dns.address, delayChecks: true)
        let session = SessionFacts(client: ClientIdentity(address: "192.0.2.21"))
        let mail = try await Self.mail(fixture, "x@nx.example", client: session.client)
        #expect(mail.disposition == .accept)
        #expect(mail.verdict.isRejection)
        let answer = await fixture.router.answerRecipient(try RoutingAddress(parsing: "root@tebbe.org"), sender: try RoutingAddress(parsing: "x@nx.example"), mail: mail, session: session)
        #expect(Self.text(answer.reply) == "553 5.1.8 Domain of sender address x@nx.example does not exist")
        // The DNS lookups of the sender were made at MAIL, once.
        let lookups = answer.trace.filter { $0.description.contains("nx.example") && $0.description.hasPrefix("dns") }
        #expect(lookups.count == mail.trace.filter { $0.description.contains("nx.example") && $0.description.hasPrefix("dns") }.count)
    }

    @Test("the address forms administrators type", arguments: [
        ("Amy Tebbe <amy@tebbe.org>", "amy@tebbe.org"),
        ("\"Tebbe, Amy\" <amy@tebbe.org>", "amy@tebbe.org"),
        ("amy@tebbe.org (Amy (the) Tebbe)", "amy@tebbe.org"),
        ("(comment) amy@tebbe.org", "amy@tebbe.org"),
        ("<<amy@tebbe.org>>", "amy@tebbe.org"),
        ("Name <\"quoted user\"@tebbe.org>", "\"quoted user\"@tebbe.org"),
        ("amy@tebbe.org.", "amy@tebbe.org"),
        ("host!user", "host!user"),
        ("user%host.example", "user%host.example"),
        ("<@a.example,@b.example:user@c.example>", "user@c.example"),
    ])
    func forms(text: String, address: String) throws {
        #expect(try RoutingAddress(parsing: text).description == address)
    }

    @Test("address lists, as To:, Cc: and Bcc: hold them", arguments: [
        ("amy@tebbe.org, Bob <bob@tebbe.org>", ["amy@tebbe.org", "bob@tebbe.org"]),
        ("\"Tebbe, Amy\" <amy@tebbe.org>, root", ["amy@tebbe.org", "root"]),
        ("amy@tebbe.org (Amy, the first), bob@tebbe.org", ["amy@tebbe.org", "bob@tebbe.org"]),
        ("Team: amy@tebbe.org, bob@tebbe.org;, carol@tebbe.org", ["amy@tebbe.org", "bob@tebbe.org", "carol@tebbe.org"]),
        ("undisclosed-recipients:;", []),
        ("", []),
        ("<a@b.example>,,<c@d.example>", ["a@b.example", "c@d.example"]),
    ])
    func lists(text: String, addresses: [String]) throws {
        #expect(try RoutingAddress.list(parsing: text).map(\.description) == addresses)
    }

    @Test("forms that are no address are refused with 553 5.1.3", arguments: [
        "Amy <amy@tebbe.org", "amy@tebbe.org (unclosed", "\"open quote@tebbe.org", "a@b@c.example", "", "<>",
    ])
    func badForms(text: String) {
        let error = #expect(throws: RoutingError.self) { try RoutingAddress(parsing: text) }
        #expect(error?.reply.code == 553)
    }

    static func text(_ reply: SMTPReply) -> String {
        [String(reply.code), reply.enhancedCode?.description, reply.lines.joined(separator: " ")].compactMap { $0 }.joined(separator: " ")
    }
}

@Suite("passwd: maps")
struct PasswdMapTests {
    @Test("the system's accounts, on the maps' pool; a name that cannot be a login is not found")
    func accounts() async throws {
        let map = try await MailMapRegistry.standard.open("passwd:")
        #expect(try await map.lookup("root") == "root")
        #expect(try await map.lookup("nosuchuser-swiftmta") == nil)
        #expect(try await map.lookup("../etc") == nil)
        #expect(try await map.lookup("a:b") == nil)
        #expect(try await map.lookup("") == nil)
        let search = await map.search(["nosuchuser-swiftmta", "daemon"])
        #expect(search.match?.key == "daemon")
    }

    @Test("passwd: takes no name or flags")
    func spec() {
        let error = #expect(throws: MailMapError.self) { try MailMapRegistry.standard.open("passwd:/etc/passwd") }
        #expect(error?.kind == .badSpec)
    }

    @Test("the local-user check of a router over passwd:")
    func router() async throws {
        let router = Router(
            configuration: RoutingConfiguration(hostname: "mx.example.test"),
            tables: RoutingTables(localUsers: .map(try await MailMapRegistry.standard.open("passwd:"))))
        #expect(await router.verify(try RoutingAddress(parsing: "root")).isDeliverable)
        let unknown = await router.verify(try RoutingAddress(parsing: "nosuchuser-swiftmta@mx.example.test"))
        #expect(unknown.lines.map(\.description) == ["nosuchuser-swiftmta... User unknown"])
    }
}

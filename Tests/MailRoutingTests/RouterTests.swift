import MailMaps
import MailRouting
import SMTPProtocol
import Testing
import TestSupport

@Suite("Routing: virtusertable, mailertable, local users, aliases, errors")
struct RouterTests {
    static let virtusertable = """
        exact+tag@virt.example\tfull-key
        both++@virt.example\tdouble-plus
        star+*@virt.example\tplus-star
        plain@virt.example\tplain-user
        ++@virt.example\tany-detail
        @other.example\t%1-%2-%3@elsewhere.example
        err@virt.example\terror:5.7.1:550 Not here
        gone@virt.example\terror:nouser No such user
        tmp@virt.example\terror:4.2.2:452 Mailbox full
        left@virt.example\terror:nouser 550 5.1.1 User unknown
        ping@virt.example\tpong@virt.example
        pong@virt.example\tping@virt.example

        """

    func fixture() throws -> RoutingFixture {
        try RoutingFixture(
            configuration: RoutingConfiguration(hostname: "mx.example.test", virtualDomains: ["virt.example", "other.example"]),
            virtusertable: Self.virtusertable,
            localUsers: ["full-key", "double-plus", "plus-star", "plain-user", "any-detail", "root"])
    }

    @Test("Sendmail's lookup order for user+detail", arguments: [
        ("exact+tag@virt.example", "full-key"),
        ("both+x@virt.example", "double-plus"),
        // No entry: a VIRTUSER_DOMAIN address goes on to the domain, as Sendmail routes it.
        ("both+@virt.example", "both+@virt.example"),
        ("star+x@virt.example", "plus-star"),
        ("star+@virt.example", "plus-star"),
        ("plain+x@virt.example", "plain-user"),
        ("plain@virt.example", "plain-user"),
        ("nobody+x@virt.example", "any-detail"),
    ] as [(String, String?)])
    func order(address: String, user: String?) async throws {
        let decision = try await fixture().route(address)
        #expect(decision.delivery?.user == user, "\(decision)")
    }

    @Test("the trace lists every key tried, in order, up to the hit")
    func trace() async throws {
        let decision = try await fixture().route("plain+x@virt.example")
        let keys = decision.trace.compactMap { step -> String? in
            if case .lookup(let probe) = step, probe.map.hasSuffix("virtusertable") { return probe.key }
            return nil
        }
        #expect(keys == ["plain+x@virt.example", "plain++@virt.example", "plain+*@virt.example", "plain@virt.example"])
    }

    @Test("%1, %2 and %3 in a catch-all")
    func substitution() async throws {
        let fixture = try fixture()
        #expect(try await fixture.route("joe+spam@other.example").delivery?.user == "joe-spam-+spam@elsewhere.example")
        #expect(try await fixture.route("joe@other.example").delivery?.user == "joe--@elsewhere.example")
    }

    @Test("error: entries become the replies they name", arguments: [
        ("err@virt.example", 550, "5.7.1", "Not here"),
        // Sendmail's reply for an error: entry without a reply code: 553 5.3.0 (see the oracle).
        ("gone@virt.example", 553, "5.3.0", "No such user"),
        ("tmp@virt.example", 452, "4.2.2", "Mailbox full"),
        ("left@virt.example", 550, "5.1.1", "User unknown"),
    ])
    func errors(address: String, code: Int, enhanced: String, text: String) async throws {
        let error = try #require(try await fixture().route(address).error)
        #expect(error.kind == .tableError)
        #expect(error.reply.code == code)
        #expect(error.reply.enhancedCode?.description == enhanced)
        #expect(error.reply.lines == [text])
    }

    @Test("a rewriting loop is refused, not followed forever")
    func loop() async throws {
        let decision = try await fixture().route("ping@virt.example")
        #expect(decision.error?.kind == .loop)
        #expect(decision.error?.reply.enhancedCode?.description == "5.4.6")
    }

    @Test("an unknown local user: /parse routes it, verify and RCPT say 550 5.1.1")
    func unknownUsers() async throws {
        let fixture = try fixture()
        let address = try RoutingAddress(parsing: "nobody@mx.example.test")
        #expect(await fixture.router.route(address).delivery?.user == "nobody")
        let verification = await fixture.router.verify(address)
        #expect(verification.lines.map(\.description) == ["nobody... User unknown"])
        let answer = await fixture.router.answerRecipient(address, sender: nil, mail: nil, session: SessionFacts(client: nil))
        #expect(answer.reply.code == 550)
        #expect(answer.reply.enhancedCode?.description == "5.1.1")
        #expect(try await fixture.route("root@mx.example.test").delivery?.mailer == .local)
        #expect(try await fixture.route("Postmaster@mx.example.test").delivery?.user == "postmaster")
    }

    @Test("aliases: lists and detail forms; an alias needs no account")
    func aliases() async throws {
        let fixture = try RoutingFixture(
            aliases: "staff: amy, bob,\n  carol\nlist+*: list-owner\nowner-x: \"|/usr/bin/prog\"\n",
            localUsers: ["root"])
        #expect(try await fixture.route("staff").delivery?.aliasExpansion == ["amy", "bob", "carol"])
        #expect(try await fixture.route("staff@mx.example.test").delivery?.aliasExpansion == ["amy", "bob", "carol"])
        #expect(try await fixture.route("list+news@localhost").delivery?.aliasExpansion == ["list-owner"])
        #expect(try await fixture.route("owner-x").delivery?.aliasExpansion == ["\"|/usr/bin/prog\""])
    }

    @Test("a negative rewriting limit counts as 0: a loop is still found, nothing traps")
    func negativeRewritingLimit() async throws {
        var configuration = RoutingConfiguration(hostname: "mx.example.test", virtualDomains: ["virt.example", "other.example"])
        configuration.maximumRewriting = -3
        let fixture = try RoutingFixture(configuration: configuration, virtusertable: Self.virtusertable, localUsers: ["root"])
        let loop = try await fixture.route("ping@virt.example")
        #expect(loop.error?.reply.enhancedCode?.description == "5.4.6", "\(loop.trace)")
        #expect(try await fixture.route("root").delivery != nil)
    }

    @Test("a table that cannot be read is a temporary failure, never \"not found\"")
    func brokenTable() async throws {
        // A table that failed to open fails every lookup (Postfix's dict_surrogate).
        let broken = MailMapRegistry.standard.openOrFailing("text:/nonexistent/swiftmta/virtusertable")
        let router = Router(
            configuration: RoutingConfiguration(hostname: "mx.example.test", virtualDomains: ["virt.example"]),
            tables: RoutingTables(virtusertable: broken))
        let decision = await router.route(try RoutingAddress(parsing: "a@virt.example"))
        #expect(decision.trace.contains { $0.description.contains("/nonexistent/swiftmta/virtusertable") })
        #expect(decision.error?.kind == .tableUnavailable)
        #expect(decision.error?.reply.code == 451)
    }

    @Test("mailertable: most to least qualified, %0 and %1, [host] is not looked up by MX")
    func mailertable() async throws {
        let fixture = try RoutingFixture(
            configuration: RoutingConfiguration(hostname: "mx.example.test", mailers: MailerDefinition.standard(relayPort: 587)),
            mailertable: ".darknet.lan\tesmtp:[mailhost.private.lan]\n.lan\tesmtp:[%1.lan]\n.\trelay:[relayhost.somedom.com]\nx.example\tsmtp:gw.example\n")
        let a = try #require(try await fixture.route("a@host.darknet.lan").delivery)
        #expect(a.host == .direct("mailhost.private.lan"))
        #expect(a.port == 25)
        #expect(try await fixture.route("a@b.c.lan").delivery?.host == .direct("b.c.lan"))
        let relay = try #require(try await fixture.route("a@example.org").delivery)
        #expect(relay.mailer == .relay)
        #expect(relay.port == 587)
        #expect(relay.host?.usesMX == false)
        let smtp = try #require(try await fixture.route("a@x.example").delivery)
        #expect(smtp.host == .mx("gw.example"))
        #expect(smtp.definition.transport == .smtp)
    }

    @Test("an unknown mailer in a table is a temporary configuration failure")
    func unknownMailer() async throws {
        let fixture = try RoutingFixture(mailertable: "example.org\tuucp:gateway\n")
        let error = try #require(try await fixture.route("a@example.org").error)
        #expect(error.kind == .unknownMailer)
        #expect(error.reply.code == 451)
    }
}

import Foundation
import MailMaps
import MailRouting
import MailServer
import SMTPProtocol
import Testing
import TestSupport

/// RoutingSetup: the tables a configuration names, opened so that one broken table never fails
/// the whole router (issue 11: Postfix's failing surrogate).
@Suite("Routing set-up: a table that cannot open fails its own lookups")
struct RouteSetupTests {
    @Test("a missing access map: its lookups are 451 4.3.0, routing without it is unchanged")
    func missingTable() async throws {
        let directory = try TemporaryDirectory()
        _ = try directory.write("local-host-names", "tebbe.org\n")
        _ = try directory.write("virtusertable", "amy@tebbe.org\tatebbe@real-time.com\n")
        let config = try directory.write("swiftmta.toml", """
            hostname = "mx.example.test"
            local_host_names = "text:\(directory.path)/local-host-names"
            local_users = "passwd"

            [maps]
            virtusertable = "text:\(directory.path)/virtusertable"
            access = "hash:\(directory.path)/no-such-access"

            [relay]
            accept_unresolvable_domains = true

            """)
        let configuration = try SwiftMTAConfiguration.load(path: config)
        let registry = try RoutingSetup.registry()
        let router = try RoutingSetup.router(for: configuration, registry: registry)
        let errors = RoutingSetup.openingErrors(for: configuration, registry: registry)
        #expect(errors.count == 1)
        #expect(errors.first?.message.contains("no-such-access.db") == true)

        // Routing never reads the access map: it still works.
        let decision = await router.route(try RoutingAddress(parsing: "amy@tebbe.org"))
        #expect(decision.description == "mailer esmtp, host real-time.com, user atebbe@real-time.com")
        // The answers that need it are temporary failures, never "not found".
        let session = SessionFacts(client: ClientIdentity(address: "192.0.2.55"))
        let mail = await router.answerMail(try RoutingAddress(parsing: "x@client.example"), session: session)
        #expect(mail.reply.code == 451)
        #expect(mail.reply.enhancedCode?.description == "4.3.0")
        #expect(mail.trace.contains { $0.description.contains("no-such-access") })
        // A local submission does not consult Connect: entries; its sender is still checked.
        let local = await router.answerMail(nil, session: SessionFacts(client: nil))
        #expect(local.disposition == .accept)

        // swiftmta route says the same, and exits 1 (refused), not 2.
        let (output, status) = await RouteCommand.run(RouteCommand.Request(
            address: "amy@tebbe.org", sender: "x@client.example", clientAddress: "192.0.2.55", configurationFile: config))
        #expect(status == 1)
        #expect(output.contains("verdict: REFUSE 451 4.3.0 Temporary system failure. Please try again later."), "\(output)")
    }

    @Test("a map spec without a known type is a configuration error, not a stand-in")
    func badSpec() throws {
        let directory = try TemporaryDirectory()
        let config = try directory.write("swiftmta.toml", "hostname = \"mx.example.test\"\n[maps]\naccess = \"nosuch:/etc/mail/access\"\n")
        let configuration = try SwiftMTAConfiguration.load(path: config)
        let error = #expect(throws: MailMapError.self) { try RoutingSetup.router(for: configuration, registry: RoutingSetup.registry()) }
        #expect(error?.kind == .badSpec)
        #expect(error?.message.contains("unknown map type \"nosuch\"") == true)
    }

    @Test("local_users = \"passwd\" is the passwd: map")
    func passwd() async throws {
        let directory = try TemporaryDirectory()
        let config = try directory.write("swiftmta.toml", "hostname = \"mx.example.test\"\nlocal_users = \"passwd\"\n")
        let router = try RoutingSetup.router(for: SwiftMTAConfiguration.load(path: config), registry: RoutingSetup.registry())
        #expect(router.tables.localUsers?.map.spec == "passwd:")
        #expect(await router.verify(try RoutingAddress(parsing: "root@mx.example.test")).isDeliverable)
    }
}

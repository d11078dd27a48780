import Foundation
import MailServer
import Testing
import TestSupport

/// `swiftmta route` as an administrator runs it: the built executable, its output and exit status.
@Suite("swiftmta route", .serialized)
struct RouteCommandTests {
    static var executable: String { "\(ExternalTool.repositoryRoot)/.build/debug/swiftmta" }

    @Test("the seed howto's example, as /parse prints it, with the relay verdict")
    func howto() async throws {
        let (directory, config) = try RoutingOracleTests.install("howto")
        defer { _ = directory }
        let routed = try await ExternalTool.runChecked(Self.executable, ["route", "--config", config, "foo@somedom.com"])
        #expect(routed.standardOutput.hasPrefix("mailer relay, host [relayhost.somedom.com], user foo@somedom.com\n  port 587, no MX lookup\n"))
        #expect(routed.standardOutput.contains("text:\(directory.path)/mailertable . → relay:[relayhost.somedom.com]"))

        let denied = try await ExternalTool.run(Self.executable, ["route", "--config", config, "--client-ip", "192.0.2.55", "foo@somedom.com"])
        #expect(denied.status == 1)
        #expect(denied.standardOutput.contains("verdict: REFUSE 550 5.7.1 Relaying denied. IP name lookup failed [192.0.2.55]"), "\(denied.standardOutput)")

        let authenticated = try await ExternalTool.run(Self.executable, ["route", "--config", config, "--client-ip", "192.0.2.55", "--auth", "PLAIN:amy", "foo@somedom.com"])
        // The howto trusts no mechanism: AUTH does not open the relay there.
        #expect(authenticated.standardOutput.contains("verdict: REFUSE 550 5.7.1 Relaying denied"), "\(authenticated.standardOutput)")
    }

    @Test("--json gives the triple, the lookups and the verdict")
    func json() async throws {
        let (directory, config) = try RoutingOracleTests.install("talk")
        defer { _ = directory }
        let output = try await ExternalTool.runChecked(Self.executable, ["route", "--config", config, "--json", "--client-ip", "206.10.252.103", "--sender", "<>", "user@other.example"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(output.standardOutput.utf8)) as? [String: Any])
        #expect(object["mailer"] as? String == "esmtp")
        #expect(object["host"] as? String == "other.example")
        #expect(object["port"] as? Int == 25)
        let verdict = try #require(object["verdict"] as? [String: Any])
        #expect(verdict["disposition"] as? String == "accept")
        #expect((verdict["reply"] as? [String: Any])?["code"] as? Int == 250)
        #expect((verdict["decided_by"] as? String)?.contains("206.10.252") == true)
    }

    @Test("a configuration error exits 2 with file, line and key")
    func badConfiguration() async throws {
        let directory = try TemporaryDirectory()
        let config = try directory.write("bad.toml", "[routing]\nsmart_hots = \"x\"\n")
        let output = try await ExternalTool.run(Self.executable, ["route", "--config", config, "a@b.example"])
        #expect(output.status == 2)
        #expect(output.standardOutput.contains("\(config):2: routing.smart_hots: unknown key"))
    }

    @Test("options that do not go together, or values that are wrong, are clear errors (exit 64)", arguments: [
        (["--auth", "PLAIN", "--client-ip", "192.0.2.1"], "--auth takes MECH:USER"),
        (["--auth", "NOSUCH:amy", "--client-ip", "192.0.2.1"], "\"NOSUCH\" is not a SASL mechanism"),
        (["--auth", "PLAIN:amy"], "--auth needs --client-ip"),
        (["--client-ip", "mail.example"], "--client-ip \"mail.example\" is not an IPv4 or IPv6 address"),
        (["--client-ip", "192.0.2.300"], "is not an IPv4 or IPv6 address"),
        (["--sender", "a@b.example"], "--sender needs --client-ip or --local"),
        (["--client-host", "mail.example"], "--client-host needs --client-ip"),
        (["--client-ip", "192.0.2.1", "--client-resolve", "maybe"], "--client-resolve must be ok, fail, forged or temp"),
        (["--client-ip", "192.0.2.1", "--local"], "--local and --client-ip exclude each other"),
    ])
    func badOptions(arguments: [String], message: String) async throws {
        let output = try await ExternalTool.run(Self.executable, ["route"] + arguments + ["root"])
        #expect(output.status == 64)
        #expect(output.standardError.contains(message), "\(output.standardError)")
        // The library says the same to its callers.
        let request = RouteCommand.Request(
            address: "root", sender: Self.value("--sender", arguments), clientAddress: Self.value("--client-ip", arguments),
            clientHost: Self.value("--client-host", arguments), clientResolve: Self.value("--client-resolve", arguments),
            authentication: Self.value("--auth", arguments), localSubmission: arguments.contains("--local"))
        let (text, status) = await RouteCommand.run(request)
        #expect(status == 64)
        #expect(text.contains(message))
    }

    static func value(_ option: String, _ arguments: [String]) -> String? {
        guard let index = arguments.firstIndex(of: option), index + 1 < arguments.count else { return nil }
        return arguments[index + 1]
    }

    @Test("--help lists the exit codes and the address forms")
    func help() async throws {
        let output = try await ExternalTool.runChecked(Self.executable, ["route", "--help"])
        let text = output.standardOutput.replacingOccurrences(of: "\n", with: " ").split(separator: " ").joined(separator: " ")
        for phrase in ["Exit status: 0 deliverable", "1 refused", "2 the configuration cannot be used", "64 the options are wrong", "--client-resolve", "--local", "host!user"] {
            #expect(text.contains(phrase), "route --help lacks \(phrase)")
        }
    }

    @Test("the verify: lines and the MAIL and RCPT answers, as an administrator reads them")
    func answers() async throws {
        let (directory, config) = try RoutingOracleTests.install("access")
        defer { _ = directory }
        let staff = try await ExternalTool.run(Self.executable, ["route", "--config", config, "Staff <staff@tebbe.org>"])
        #expect(staff.status == 0)
        #expect(staff.standardOutput.hasPrefix("mailer local, user staff\n"))
        #expect(staff.standardOutput.contains("verify: root... deliverable: mailer local, user root\n"))
        #expect(staff.standardOutput.contains("verify: daemon... deliverable: mailer local, user daemon\n"))

        // /parse routes an unknown user; verify and RCPT refuse it.
        let unknown = try await ExternalTool.run(Self.executable, ["route", "--config", config, "--local", "nosuchuser@tebbe.org"])
        #expect(unknown.status == 1)
        #expect(unknown.standardOutput.hasPrefix("mailer local, user nosuchuser\n"))
        #expect(unknown.standardOutput.contains("verify: nosuchuser... User unknown"))
        #expect(unknown.standardOutput.contains("rcpt: REFUSE 550 5.1.1 User unknown"))
        #expect(unknown.standardOutput.contains("verdict: REFUSE 550 5.1.1 User unknown"))

        // A virtusertable error: the triple is /parse's, the verdict is the RCPT reply.
        let banned = try await ExternalTool.run(Self.executable, ["route", "--config", config, "--client-ip", "192.0.2.20", "banned@virt.example"])
        #expect(banned.status == 1)
        #expect(banned.standardOutput.hasPrefix("mailer *error*, host 5.7.1, user 550 Go away\n"))
        #expect(banned.standardOutput.contains("verdict: REFUSE 550 5.7.1 Go away"))
    }
}

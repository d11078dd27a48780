import Foundation
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
}

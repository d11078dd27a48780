import Foundation
import MailRouting
import MailServer
import Testing
import TestSupport

/// The routing oracle (Tests/MailRoutingTests/Oracle): Sendmail's own answers for the seeds'
/// set-ups, and SwiftMTA's answers for the same set-ups written as its configuration.
@Suite("Routing compared with Sendmail's address test mode", .serialized)
struct RoutingOracleTests {
    static let oracle = URL(fileURLWithPath: ExternalTool.repositoryRoot).appendingPathComponent("Tests/MailRoutingTests/Oracle")
    static let setups = ["talk", "howto", "smarthost", "access"]

    struct Row: Hashable {
        var address, mailer, host, user: String
    }

    static func rows(_ text: String) -> [Row] {
        text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map { line in
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            return Row(address: fields[0], mailer: fields[1], host: fields[2], user: fields[3])
        }
    }

    /// Copies a set-up's tables to a private folder and writes its SwiftMTA configuration.
    static func install(_ setup: String) throws -> (TemporaryDirectory, String) {
        let directory = try TemporaryDirectory(prefix: "swiftmta-oracle")
        let source = oracle.appendingPathComponent(setup)
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) {
            try FileManager.default.copyItem(atPath: source.appendingPathComponent(name).path, toPath: directory.file(name))
        }
        let template = try String(contentsOf: source.appendingPathComponent("swiftmta.toml.in"), encoding: .utf8)
        let config = try directory.write("swiftmta.toml", template.replacingOccurrences(of: "@DIR@", with: directory.path))
        return (directory, config)
    }

    @Test("the oracle covers at least 100 addresses")
    func size() throws {
        let total = try Self.setups.reduce(0) { sum, setup in
            sum + Self.rows(try String(contentsOf: Self.oracle.appendingPathComponent("\(setup)/expected"), encoding: .utf8)).filter { $0.mailer != "masquerade" }.count
        }
        #expect(total >= 100, "only \(total) addresses")
    }

    @Test("Sendmail, run now, still answers as the committed corpus says", arguments: RoutingOracleTests.setups)
    func sendmailAgrees(setup: String) async throws {
        let live = try await ExternalTool.runChecked(
            "python3", ["\(ExternalTool.repositoryRoot)/scripts/routing-oracle", "--print", Self.oracle.appendingPathComponent(setup).path],
            timeout: .seconds(120))
        let committed = try String(contentsOf: Self.oracle.appendingPathComponent("\(setup)/expected"), encoding: .utf8)
        #expect(live.standardOutput == committed, "regenerate with scripts/routing-oracle and review the difference")
    }

    @Test("SwiftMTA routes every oracle address as Sendmail does (or as its divergences say)", arguments: RoutingOracleTests.setups)
    func swiftMTAAgrees(setup: String) async throws {
        let (directory, config) = try Self.install(setup)
        let expected = Self.rows(try String(contentsOf: Self.oracle.appendingPathComponent("\(setup)/expected"), encoding: .utf8))
        let divergences = (try? String(contentsOf: Self.oracle.appendingPathComponent("\(setup)/divergences"), encoding: .utf8)).map(Self.rows) ?? []
        let configuration = try SwiftMTAConfiguration.load(path: config)
        let router = try RoutingSetup.router(for: configuration, registry: RoutingSetup.registry(nameservers: []))
        for row in expected where row.mailer == "masquerade" {
            let address = try RoutingAddress(parsing: row.address)
            let header = try await router.masquerade(address, envelope: false).description
            let envelope = try await router.masquerade(address, envelope: true).description
            #expect(Row(address: row.address, mailer: "masquerade", host: header, user: envelope) == row, "\(setup): masquerading \(row.address)")
        }
        for row in expected where row.mailer != "masquerade" {
            let wanted = divergences.first { $0.address == row.address } ?? row
            let (output, _) = await RouteCommand.run(RouteCommand.Request(address: row.address, configurationFile: config, json: true))
            let object = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], "\(output)")
            let got = Row(address: row.address, mailer: object["mailer"] as? String ?? "?", host: object["host"] as? String ?? "?", user: object["user"] as? String ?? "?")
            #expect(got == wanted, "\(setup): \(row.address)")
        }
        _ = directory
    }
}

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

    /// Copies a set-up's tables to a private folder and writes its SwiftMTA configuration, asking
    /// `nameserver` for DNS.
    static func install(_ setup: String, nameserver: String = "127.0.0.1:9") throws -> (TemporaryDirectory, String) {
        let directory = try TemporaryDirectory(prefix: "swiftmta-oracle")
        let source = oracle.appendingPathComponent(setup)
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) {
            try FileManager.default.copyItem(atPath: source.appendingPathComponent(name).path, toPath: directory.file(name))
        }
        let template = try String(contentsOf: source.appendingPathComponent("swiftmta.toml.in"), encoding: .utf8)
        let config = try directory.write("swiftmta.toml", template
            .replacingOccurrences(of: "@DIR@", with: directory.path).replacingOccurrences(of: "@DNS@", with: nameserver))
        return (directory, config)
    }

    @Test("the oracle covers at least 250 addresses and 200 relay cases")
    func size() throws {
        let total = try Self.setups.reduce(0) { sum, setup in
            sum + Self.rows(try String(contentsOf: Self.oracle.appendingPathComponent("\(setup)/expected"), encoding: .utf8)).filter { $0.mailer != "masquerade" }.count
        }
        #expect(total >= 250, "only \(total) addresses")
        let relay = try Self.setups.reduce(0) { sum, setup in
            sum + Self.relayRows(try String(contentsOf: Self.oracle.appendingPathComponent("\(setup)/relay-expected"), encoding: .utf8)).count
        }
        #expect(relay >= 200, "only \(relay) relay cases")
    }

    @Test("Sendmail, run now, still answers as the committed corpus says", arguments: RoutingOracleTests.setups)
    func sendmailAgrees(setup: String) async throws {
        let live = try await ExternalTool.runChecked(
            "python3", ["\(ExternalTool.repositoryRoot)/scripts/routing-oracle", "--print", Self.oracle.appendingPathComponent(setup).path],
            timeout: .seconds(120))
        let committed = try String(contentsOf: Self.oracle.appendingPathComponent("\(setup)/expected"), encoding: .utf8)
        #expect(live.standardOutput == committed, "regenerate with scripts/routing-oracle and review the difference")
        let relay = try await ExternalTool.runChecked(
            "python3", ["\(ExternalTool.repositoryRoot)/scripts/routing-oracle", "--print-relay", Self.oracle.appendingPathComponent(setup).path],
            timeout: .seconds(300))
        let committedRelay = try String(contentsOf: Self.oracle.appendingPathComponent("\(setup)/relay-expected"), encoding: .utf8)
        #expect(relay.standardOutput == committedRelay, "regenerate with scripts/routing-oracle and review the difference")
    }

    @Test("SwiftMTA routes every oracle address as Sendmail does (or as its divergences say)", arguments: RoutingOracleTests.setups)
    func swiftMTAAgrees(setup: String) async throws {
        let (directory, config) = try Self.install(setup)
        let expected = Self.rows(try String(contentsOf: Self.oracle.appendingPathComponent("\(setup)/expected"), encoding: .utf8))
        let divergences = (try? String(contentsOf: Self.oracle.appendingPathComponent("\(setup)/divergences"), encoding: .utf8)).map(Self.rows) ?? []
        let configuration = try SwiftMTAConfiguration.load(path: config)
        let router = try RoutingSetup.router(for: configuration, registry: RoutingSetup.registry(nameservers: configuration.nameservers))
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

    // MARK: - MAIL and RCPT, compared with sendmail -bD

    /// One relay case and its answers: `CLIENT SENDER RECIPIENT MAIL RCPT FATE`.
    struct RelayRow: Hashable, CustomStringConvertible {
        var client, sender, recipient, mail, rcpt, fate: String

        var description: String { [client, sender, recipient, mail, rcpt, fate].joined(separator: " | ") }
    }

    static func relayRows(_ text: String) -> [RelayRow] {
        text.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }.map { line in
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            return RelayRow(client: f[0], sender: f[1], recipient: f[2], mail: f[3], rcpt: f[4], fate: f[5])
        }
    }

    /// The records the oracle's dnsmasq serves (scripts/routing-oracle's BASE_RECORDS and the
    /// set-up's `dns`).
    static func dnsRecords(_ setup: String) throws -> [String] {
        let base = ["--host-record=mx.example.test,127.0.0.1", "--local=/test/", "--local=/in-addr.arpa/", "--local=/ip6.arpa/"]
        let text = (try? String(contentsOf: oracle.appendingPathComponent("\(setup)/dns"), encoding: .utf8)) ?? ""
        return base + text.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("#") && !$0.isEmpty }
    }

    /// What the server's reverse and forward lookups would say of a client, from the records:
    /// a `--host-record` name is confirmed; a `--ptr-record` name whose addresses do not hold the
    /// client is forged; no name is a failed lookup.
    static func clientName(_ address: String, records: [String]) -> (name: String?, resolve: String) {
        var forward: [String: [String]] = [:]
        var reverse: [String: String] = [:]
        for record in records {
            if record.hasPrefix("--host-record=") {
                let fields = record.dropFirst("--host-record=".count).split(separator: ",").map(String.init)
                forward[fields[0], default: []] += fields.dropFirst()
                for ip in fields.dropFirst() { reverse[ip] = reverse[ip] ?? fields[0] }
            } else if record.hasPrefix("--ptr-record=") {
                let fields = record.dropFirst("--ptr-record=".count).split(separator: ",").map(String.init)
                let octets = fields[0].split(separator: ".").prefix(4).reversed().joined(separator: ".")
                reverse[octets] = fields[1]
            }
        }
        guard let name = reverse[address] else { return (nil, "fail") }
        return (forward[name]?.contains(address) == true) ? (name, "ok") : (nil, "forged")
    }

    @Test("SwiftMTA answers MAIL and RCPT as sendmail -bD does (or as its divergences say)", arguments: RoutingOracleTests.setups)
    func answersAgree(setup: String) async throws {
        let records = try Self.dnsRecords(setup)
        let dns = try DnsmasqServer(records: records)
        let (directory, config) = try Self.install(setup, nameserver: dns.address)
        let expected = Self.relayRows(try String(contentsOf: Self.oracle.appendingPathComponent("\(setup)/relay-expected"), encoding: .utf8))
        let divergences = (try? String(contentsOf: Self.oracle.appendingPathComponent("\(setup)/relay-divergences"), encoding: .utf8)).map(Self.relayRows) ?? []
        for row in expected {
            let wanted = divergences.first { $0.client == row.client && $0.sender == row.sender && $0.recipient == row.recipient } ?? row
            let local = row.client == "-"
            let name = local ? (name: nil, resolve: "ok") : Self.clientName(row.client, records: records)
            let request = RouteCommand.Request(
                address: row.recipient, sender: row.sender, clientAddress: local ? nil : row.client,
                clientHost: name.name, clientResolve: local ? nil : name.resolve, localSubmission: local,
                configurationFile: config, json: true)
            let (output, _) = await RouteCommand.run(request)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], "\(output)")
            let mail = try #require(object["mail"] as? [String: Any], "\(output)")
            let rcpt = object["rcpt"] as? [String: Any]
            var fate = "-"
            if let rcpt, let disposition = rcpt["disposition"] as? String, disposition != "refuse" {
                fate = disposition == "discard" ? "discarded" : "queued"
            }
            let got = RelayRow(client: row.client, sender: row.sender, recipient: row.recipient,
                               mail: Self.replyText(mail), rcpt: rcpt.map(Self.replyText) ?? "-", fate: fate)
            #expect(got == wanted, "\(setup): \(row.client) \(row.sender) → \(row.recipient)")
        }
        _ = directory
        dns.stop()
    }

    /// `550 5.7.1 Relaying denied`, as the oracle writes Sendmail's replies.
    static func replyText(_ answer: [String: Any]) -> String {
        let reply = answer["reply"] as? [String: Any] ?? [:]
        let code = reply["code"] as? Int ?? 0
        let enhanced = reply["enhanced"] as? String
        return [String(code), enhanced, reply["text"] as? String].compactMap { $0 }.joined(separator: " ")
    }
}

import Foundation
import MailRouting
import MailServer
import Testing
import TestSupport

/// For the same .mc, the imported configuration answers as real Sendmail does: the routing
/// oracle's set-ups (Tests/MailRoutingTests/Oracle) imported with `swiftmta import-mc` from
/// their `sendmail.mc.in` — not from their hand-written `swiftmta.toml.in` — and asked what
/// `sendmail -bt` `/parse` and `sendmail -bD` answered.
@Suite("import-mc compared with Sendmail over the routing oracle", .serialized)
struct ImportMCOracleTests {
    static let oracle = RoutingOracleTests.oracle
    static let setups = RoutingOracleTests.setups
    /// The files of a set-up that are not its tables.
    static let notTables: Set<String> = [
        "expected", "relay-expected", "addresses", "senders", "relay", "dns", "divergences", "relay-divergences",
        "sendmail.mc.in", "swiftmta.toml.in",
    ]

    /// A set-up as Sendmail has it: its tables in a private folder, the maps built with
    /// `makemap hash` as scripts/routing-oracle builds them, and its sendmail.mc; then imported
    /// (with `--maps` at that folder, so that nothing of this machine's /etc/mail is read).
    static func imported(_ setup: String) async throws -> (TemporaryDirectory, configuration: String, mc: String, output: String) {
        let directory = try TemporaryDirectory(prefix: "swiftmta-import-oracle")
        let source = oracle.appendingPathComponent(setup)
        for name in try FileManager.default.contentsOfDirectory(atPath: source.path) where !notTables.contains(name) {
            try FileManager.default.copyItem(atPath: source.appendingPathComponent(name).path, toPath: directory.file(name))
        }
        for table in ["access", "virtusertable", "mailertable", "client-info"] where FileManager.default.fileExists(atPath: directory.file(table)) {
            try MapTools.makemap("hash", flags: [], text: try String(contentsOfFile: directory.file(table), encoding: .utf8), output: directory.file(table))
            if table == "client-info" {
                for file in [table, table + ".db"] { try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: directory.file(file)) }
            }
        }
        let mc = try directory.write("sendmail.mc", try String(contentsOf: source.appendingPathComponent("sendmail.mc.in"), encoding: .utf8)
            .replacingOccurrences(of: "@DIR@", with: directory.path))
        let configuration = directory.file("swiftmta.toml")
        let (output, status) = await ImportMCCommand.run(ImportMCCommand.Request(
            mcFile: mc, mapsDirectory: directory.path, outputFile: configuration, hostname: "mx.example.test"))
        #expect(status == 0, "\(setup): \(output)")
        return (directory, configuration, mc, output)
    }

    /// Appends the DNS server the answers need.
    static func use(nameserver: String, in configuration: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: configuration))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("\n[dns]\nnameservers = [\"\(nameserver)\"]\n".utf8))
        try handle.close()
    }

    @Test("the imported .mc's maps are Sendmail's own .db files, and nothing the oracle needs is missing", arguments: ImportMCOracleTests.setups)
    func importedAsIs(setup: String) async throws {
        let (directory, configuration, mc, output) = try await Self.imported(setup)
        let loaded = try SwiftMTAConfiguration.load(path: configuration)
        for (spec, table) in [(loaded.tables.virtusertable, "virtusertable"), (loaded.tables.mailertable, "mailertable"), (loaded.tables.authinfo, "client-info")] {
            guard let spec else { continue }
            #expect(spec.hasPrefix("hash:") && spec.hasSuffix("\(directory.path)/\(table)"), "\(setup): \(spec)")
        }
        #expect(!output.contains("\nNot carried over"), "\(setup): \(output)")
        #expect(!output.contains("\nWarnings"), "\(setup): \(output)")
        _ = mc
    }

    @Test("every oracle address routes as sendmail -bt /parse routes it (or as the divergences say)", arguments: ImportMCOracleTests.setups)
    func routes(setup: String) async throws {
        let (directory, configuration, _, _) = try await Self.imported(setup)
        try Self.use(nameserver: "127.0.0.1:9", in: configuration)
        let expected = RoutingOracleTests.rows(try String(contentsOf: Self.oracle.appendingPathComponent("\(setup)/expected"), encoding: .utf8))
        let divergences = (try? String(contentsOf: Self.oracle.appendingPathComponent("\(setup)/divergences"), encoding: .utf8)).map(RoutingOracleTests.rows) ?? []
        let loaded = try SwiftMTAConfiguration.load(path: configuration)
        let router = try RoutingSetup.router(for: loaded, registry: RoutingSetup.registry(nameservers: loaded.nameservers))
        var compared = 0
        for row in expected {
            if row.mailer == "masquerade" {
                let address = try RoutingAddress(parsing: row.address)
                let header = try await router.masquerade(address, envelope: false).description
                let envelope = try await router.masquerade(address, envelope: true).description
                #expect(RoutingOracleTests.Row(address: row.address, mailer: "masquerade", host: header, user: envelope) == row, "\(setup): masquerading \(row.address)")
                continue
            }
            let wanted = divergences.first { $0.address == row.address } ?? row
            let (output, _) = await RouteCommand.run(RouteCommand.Request(address: row.address, configurationFile: configuration, json: true))
            let object = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], "\(output)")
            let got = RoutingOracleTests.Row(address: row.address, mailer: object["mailer"] as? String ?? "?", host: object["host"] as? String ?? "?", user: object["user"] as? String ?? "?")
            #expect(got == wanted, "\(setup): \(row.address)")
            compared += 1
        }
        #expect(compared >= 17)
        _ = directory
    }

    @Test("MAIL and RCPT answered as sendmail -bD answered, loopback clients included", arguments: ImportMCOracleTests.setups)
    func answers(setup: String) async throws {
        let records = try RoutingOracleTests.dnsRecords(setup)
        let dns = try DnsmasqServer(records: records)
        defer { dns.stop() }
        let (directory, configuration, _, _) = try await Self.imported(setup)
        try Self.use(nameserver: dns.address, in: configuration)
        let expected = RoutingOracleTests.relayRows(try String(contentsOf: Self.oracle.appendingPathComponent("\(setup)/relay-expected"), encoding: .utf8))
        let divergences = (try? String(contentsOf: Self.oracle.appendingPathComponent("\(setup)/relay-divergences"), encoding: .utf8)).map(RoutingOracleTests.relayRows) ?? []
        var loopback = 0
        for row in expected {
            // The hand-written configuration diverges for loopback clients on purpose; the
            // imported one trusts them as Sendmail does (imported-access), so Sendmail's own answer
            // is the one wanted there. Other divergences stay.
            let divergence = divergences.first { $0.client == row.client && $0.sender == row.sender && $0.recipient == row.recipient }
            let wanted = divergence.flatMap { $0.client.hasPrefix("127.") ? nil : $0 } ?? row
            if row.client.hasPrefix("127.") { loopback += 1 }
            let local = row.client == "-"
            let name = local ? (name: nil, resolve: "ok") : RoutingOracleTests.clientName(row.client, records: records)
            let request = RouteCommand.Request(
                address: row.recipient, sender: row.sender, clientAddress: local ? nil : row.client,
                clientHost: name.name, clientResolve: local ? nil : name.resolve, localSubmission: local,
                configurationFile: configuration, json: true)
            let (output, _) = await RouteCommand.run(request)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any], "\(output)")
            let mail = try #require(object["mail"] as? [String: Any], "\(output)")
            let rcpt = object["rcpt"] as? [String: Any]
            var fate = "-"
            if let rcpt, let disposition = rcpt["disposition"] as? String, disposition != "refuse" {
                fate = disposition == "discard" ? "discarded" : "queued"
            }
            let got = RoutingOracleTests.RelayRow(client: row.client, sender: row.sender, recipient: row.recipient,
                mail: RoutingOracleTests.replyText(mail), rcpt: rcpt.map(RoutingOracleTests.replyText) ?? "-", fate: fate)
            #expect(got == wanted, "\(setup): \(row.client) \(row.sender) → \(row.recipient)")
        }
        #expect(setup == "smarthost" || loopback > 0, "\(setup) has no loopback case")
        _ = directory
    }

    @Test("--check: the imported configuration and sendmail -bt side by side over the oracle's addresses", arguments: ImportMCOracleTests.setups)
    func check(setup: String) async throws {
        let (directory, configuration, mc, _) = try await Self.imported(setup)
        try Self.use(nameserver: "127.0.0.1:9", in: configuration)
        // The .cf Sendmail would run, built from the same .mc with the cf library.
        let cf = try await ExternalTool.runChecked("m4", [mc]).standardOutput
        let cfPath = try directory.write("sendmail.cf", cf)
        // sendmail -bt in namespaces of its own, as scripts/routing-oracle runs it: a qualified
        // host name (an unqualified one makes it wait 60 s) and a network of loopback only (no
        // name lookup waits on this machine's resolver; 127.0.0.1 is one of its addresses).
        let wrapper = try directory.write("sendmail-bt", """
            #!/bin/sh
            exec unshare -n -u sh -c 'ip link set lo up && hostname mx.example.test && exec /usr/sbin/sendmail "$@"' sendmail "$@"

            """, permissions: 0o755)
        let addresses = try directory.write("addresses", try String(contentsOf: Self.oracle.appendingPathComponent("\(setup)/addresses"), encoding: .utf8))
        let (output, status) = await ImportMCCommand.run(ImportMCCommand.Request(
            mcFile: mc, mapsDirectory: directory.path, outputFile: configuration, hostname: "mx.example.test", force: true,
            check: true, addressesFile: addresses, cfFile: cfPath, sendmail: wrapper))
        let divergences = (try? String(contentsOf: Self.oracle.appendingPathComponent("\(setup)/divergences"), encoding: .utf8)).map(RoutingOracleTests.rows) ?? []
        let count = RoutingOracleTests.rows(try String(contentsOf: Self.oracle.appendingPathComponent("\(setup)/expected"), encoding: .utf8)).filter { $0.mailer != "masquerade" }.count
        #expect(output.contains("--check: \(count) addresses routed by the imported configuration (swiftmta route); compared with \(wrapper) -bt -C \(cfPath)"), "\(output)")
        if divergences.isEmpty {
            #expect(status == 0, "\(output)")
            #expect(output.contains("all \(count) answers are Sendmail's"), "\(output)")
        } else {
            // Only the divergences the oracle documents differ.
            #expect(status == 1)
            #expect(output.contains("\(divergences.count) of \(count) answers differ from Sendmail's"), "\(output)")
            for divergence in divergences {
                #expect(output.contains("  ≠ \(divergence.address)"), "\(output)")
            }
        }
    }
}

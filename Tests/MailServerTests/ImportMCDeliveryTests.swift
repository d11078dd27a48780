import Foundation
import MailMaps
import MailServer
import Testing
import TestSupport

/// `swiftmta import-mc` and the queue runner's keys: the local mailer's mailboxes, the delivery
/// mode, the connection cache, the access map's STARTTLS entries as a TLS policy map, and how
/// authinfo credentials go out.
@Suite("import-mc: how mail leaves", .serialized)
struct ImportMCDeliveryTests {
    static let accessText = """
        # the access map of a site that talks STARTTLS
        Connect:192.0.2.1\tRELAY
        TLS_Srv:isp.example\tVERIFY:128
        Try_TLS:broken.example\tNO
        TLS_Srv:192.0.2.25\tENCR:256
        TLS_Clt:client.example\tVERIFY
        Try_TLS:fine.example\tYES

        """

    @Test("the runner's keys: [local] as Sendmail's mail.local wrote, delivery_mode, connection_idle, tls_policy from TLS_Srv and Try_TLS")
    func runnerKeys() async throws {
        let folder = try ImportMCFixture.folder()
        let maps = folder.file("maps")
        try folder.write("maps/access", Self.accessText)
        try MapTools.makemap("hash", flags: [], text: Self.accessText, output: folder.file("maps/access"))
        try folder.write("maps/authinfo", "AuthInfo:relay.isp.example \"U:relayuser\" \"P:secret\" \"M:PLAIN\"\n")
        let mc = try folder.write("maps/sendmail.mc", """
            divert(-1)dnl
            include(`/usr/share/sendmail/cf/m4/cf.m4')dnl
            OSTYPE(`linux')dnl
            define(`SMART_HOST', `relay.isp.example')dnl
            define(`RELAY_MAILER_ARGS', `TCP $h 587')dnl
            define(`confDELIVERY_MODE', `q')dnl
            define(`confMCI_CACHE_TIMEOUT', `1m')dnl
            define(`confMCI_CACHE_SIZE', `4')dnl
            FEATURE(`access_db')dnl
            FEATURE(`authinfo', `text /etc/mail/authinfo')dnl
            MAILER(`local')dnl
            MAILER(`smtp')dnl

            """)
        let (output, status, path) = await ImportMCFixture.command(mc, maps: maps, in: folder)
        #expect(status == 0, "\(output)")
        #expect(output.contains("check-config: the written configuration is valid"), "\(output)")
        let configuration = try SwiftMTAConfiguration.load(path: path)
        #expect(configuration.delivery.mode == .queue)
        #expect(configuration.delivery.mailDirectory == "/var/mail")
        #expect(configuration.delivery.mailboxFormat == .mbox)
        #expect(configuration.delivery.connectionIdle == .seconds(60))
        #expect(configuration.routing.smartHost == "relay.isp.example")
        #expect(configuration.routing.mailers[.relay]?.port == 587)
        let policySpec = try #require(configuration.delivery.tlsPolicy)
        #expect(policySpec == "text:\(folder.path)/imported-tls-policy")

        // The policy map as the runner searches it: [host] for the smart host, the domain and
        // .parent for MX delivery.
        let registry = try RoutingSetup.registry(nameservers: configuration.nameservers)
        let policies = try await registry.open(policySpec)
        for (key, level) in [("[relay.isp.example]", "verify"), ("isp.example", "verify"), (".isp.example", "verify"), ("[isp.example]", "verify"),
                             ("broken.example", "none"), (".broken.example", "none"), ("[192.0.2.25]", "encrypt")] {
            #expect(try await policies.lookup(key) == level, "\(key)")
        }
        #expect(try await policies.lookup("fine.example") == nil)
        #expect(try await policies.lookup("client.example") == nil)

        // The report names the access map's lines.
        let report = try ImportMCFixture.importReport(mc, maps: maps, in: folder).report
        let access = folder.file("maps/access")
        let carried = report.entries(.carriedOver)
        #expect(carried.contains { $0.location == MCLocation(file: access, line: 3) && $0.message.contains("[isp.example], [relay.isp.example] verify") },
                "\(carried.map(\.line))")
        #expect(carried.contains { $0.location == MCLocation(file: access, line: 4) && $0.message.hasSuffix("none") })
        let missing = report.entries(.notCarriedOver)
        #expect(missing.map(\.location) == [MCLocation(file: access, line: 6)], "\(missing.map(\.line))")
        let differs = report.entries(.differs)
        #expect(differs.contains { $0.location == MCLocation(file: access, line: 5) && $0.message.contains("256 bits") })
        #expect(differs.contains { $0.subject.hasPrefix("FEATURE(`authinfo'") && $0.message.contains("never sends them without TLS") })
        #expect(differs.contains { $0.message.contains("~/.procmailrc") })
        #expect(differs.contains { $0.subject == "define(`confMCI_CACHE_SIZE', `4')" })
        for line in try ImportMCFixture.macroLines(mc) {
            #expect(report.entries.contains { $0.location?.line == line && $0.location?.file == mc }, "line \(line) is not in the report")
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("[local]\n"), "\(text)")
    }

    @Test("confDELIVERY_MODE as queue.delivery_mode", arguments: [
        ("`b'", "background", ""),
        ("`background'", "background", ""),
        ("`i'", "background", "Sendmail delivered before it took the next message"),
        ("`q'", "queue", ""),
        ("`deferred'", "queue", "put off map and DNS lookups"),
        ("`x'", "background", "is not a delivery mode"),
    ])
    func deliveryMode(value: String, mode: String, phrase: String) async throws {
        let folder = try ImportMCFixture.folder()
        let mc = try folder.write("maps/sendmail.mc", "define(`confDELIVERY_MODE', \(value))dnl\nMAILER(`local')dnl\n")
        let (output, status, path) = await ImportMCFixture.command(mc, maps: folder.file("maps"), in: folder)
        #expect(status == 0, "\(output)")
        #expect(try SwiftMTAConfiguration.load(path: path).delivery.mode.rawValue == mode)
        if !phrase.isEmpty { #expect(output.contains(phrase), "\(output)") }
    }

    @Test("without confDELIVERY_MODE or an access map: Sendmail's defaults, and no TLS policy")
    func defaults() async throws {
        let folder = try ImportMCFixture.folder()
        let mc = try folder.write("maps/sendmail.mc", "OSTYPE(`freebsd6')dnl\nMAILER(`local')dnl\nMAILER(`smtp')dnl\n")
        let (output, status, path) = await ImportMCFixture.command(mc, maps: folder.file("maps"), in: folder)
        #expect(status == 0, "\(output)")
        let configuration = try SwiftMTAConfiguration.load(path: path)
        #expect(configuration.delivery.mode == .background)
        #expect(configuration.delivery.mailboxFormat == .mbox)
        #expect(configuration.delivery.tlsPolicy == nil)
        #expect(!output.contains("procmailrc"), "\(output)")
        #expect(output.contains("\(mc):2: MAILER(`local')\n      → local.mail_directory = \"/var/mail\""), "\(output)")
        #expect(!FileManager.default.fileExists(atPath: folder.file("imported-tls-policy")))
    }

    @Test("an access map that is only a .db: its STARTTLS entries cannot be read, and the report says so")
    func onlyDatabase() async throws {
        let folder = try ImportMCFixture.folder()
        try MapTools.makemap("hash", flags: [], text: Self.accessText, output: folder.file("maps/access"))
        let mc = try folder.write("maps/sendmail.mc", "FEATURE(`access_db')dnl\nMAILER(`smtp')dnl\n")
        let (output, status, path) = await ImportMCFixture.command(mc, maps: folder.file("maps"), in: folder)
        #expect(status == 0, "\(output)")
        #expect(try SwiftMTAConfiguration.load(path: path).delivery.tlsPolicy == nil)
        #expect(output.contains("only the .db of the access map is here"), "\(output)")
    }

    // MARK: - The imported configuration, run

    /// Imports a .mc that relays through a smart host at 127.0.0.1:`port` (the howto's
    /// RELAY_MAILER_ARGS `TCP $h PORT`, authinfo, masquerading, an access map with
    /// `TLS_Srv:127.0.0.1 VERIFY`), and starts `swiftmta serve` on the imported configuration —
    /// only the listeners (port 0), the host name and the spool and mail folders (inside the test's
    /// folder) are the test's own.
    static func importedServer(port: Int, caFile: String, credentials: Bool = true) async throws -> (ServeProcess, imported: String) {
        let folder = try ImportMCFixture.folder()
        let access = "TLS_Srv:127.0.0.1\tVERIFY\n"
        try folder.write("maps/access", access)
        try MapTools.makemap("hash", flags: [], text: access, output: folder.file("maps/access"))
        let authinfo = "AuthInfo:127.0.0.1\t\"U:relayuser\" \"I:relayuser\" \"P:s3cret pass\" \"M:PLAIN\"\n"
        if credentials { try MapTools.makemap("hash", flags: [], text: authinfo, output: folder.file("maps/authinfo")) }
        let mc = try folder.write("maps/sendmail.mc", """
            divert(-1)dnl
            include(`/usr/share/sendmail/cf/m4/cf.m4')dnl
            OSTYPE(`linux')dnl
            define(`SMART_HOST', `[127.0.0.1]')dnl
            define(`RELAY_MAILER_ARGS', `TCP $h \(port)')dnl
            define(`confCACERT', `\(caFile)')dnl
            MASQUERADE_AS(`example.com')dnl
            FEATURE(`masquerade_envelope')dnl
            FEATURE(`access_db')dnl
            \(credentials ? "FEATURE(`authinfo')dnl" : "dnl no authinfo")
            MAILER(`local')dnl
            MAILER(`smtp')dnl

            """)
        let (output, status, path) = await ImportMCFixture.command(mc, maps: folder.file("maps"), in: folder)
        #expect(status == 0, "\(output)")
        let imported = try String(contentsOfFile: path, encoding: .utf8)
        // The test's own: no [[listen]] (ServeProcess adds them on port 0), no host name (it
        // gives mx.example.test), the spool and mailboxes inside its folder.
        var lines = imported.components(separatedBy: "\n")
        if let first = lines.firstIndex(where: { $0 == "[[listen]]" || $0 == "# [[listen]]" }) {
            var cut = first
            while cut > 0, lines[cut - 1].hasPrefix("#") { cut -= 1 }
            lines.removeSubrange(cut...)
        }
        lines.removeAll { $0.hasPrefix("hostname = ") }
        let configuration = lines.joined(separator: "\n")
            .replacingOccurrences(of: "directory = \"/var/spool/swiftmta\"", with: "directory = \"var/spool\"")
            .replacingOccurrences(of: "mail_directory = \"/var/mail\"", with: "mail_directory = \"var/mail\"")
        #expect(configuration.contains("mail_directory = \"var/mail\"") && configuration.contains("directory = \"var/spool\""), "\(configuration)")
        let server = try await offThread {
            try ServeProcess(configuration, modes: ["smtp"]) { directory in
                for name in ["imported-access", "imported-tls-policy"] {
                    try FileManager.default.copyItem(atPath: folder.file(name), toPath: directory.file(name))
                }
            }
        }
        return (server, imported)
    }

    static func wait(_ what: String, _ server: ServeProcess, timeout: Duration = .seconds(60), _ condition: @Sendable () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await !condition() {
            guard ContinuousClock.now < deadline else { throw TestSupportError("timed out waiting for \(what); server output:\n\(server.output)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    @Test("the imported .mc, served: the smart host on its port with STARTTLS verified (TLS_Srv VERIFY), AUTH from authinfo, masqueraded; root's mail in an mbox as mail.local wrote it")
    func importedRuns() async throws {
        let pki = try await DeliveryTestPKI.shared()
        let peer = try await SubmissionPeer(["--starttls", pki.serverCertificate, pki.serverKey, "--user", "relayuser:s3cret pass"])
        let (server, imported) = try await Self.importedServer(port: peer.port, caFile: pki.caCertificate)
        #expect(imported.contains("relay_mailer_port = \(peer.port)") && imported.contains("tls_policy = \"text:imported-tls-policy\""), "\(imported)")

        // A loopback client relays, as in Sendmail (imported-access).
        let relayed = try await swaks(server["smtp"], [
            "--from", "alice@mx.example.test", "--to", "friend@elsewhere.example",
            "--header", "From: Alice <alice@mx.example.test>", "--header", "Subject: through the imported smart host",
        ])
        #expect(relayed.standardOutput.contains("<-  250 2.0.0"), "\(relayed.standardOutput)")
        let local = try await swaks(server["smtp"], [
            "--from", "alice@mx.example.test", "--to", "root@localhost", "--header", "Subject: for root",
            "--body", "From the start\nsecond line\n",
        ])
        #expect(local.standardOutput.contains("<-  250 2.0.0"), "\(local.standardOutput)")

        try await Self.wait("the smart host's message", server) { !peer.messages.isEmpty }
        let message = try #require(peer.messages.first)
        #expect(message["from"] as? String == "alice@example.com", "envelope masqueraded: \(message)")
        #expect(message["to"] as? [String] == ["friend@elsewhere.example"])
        #expect(message["tls"] as? Bool == true)
        #expect(message["auth"] as? String == "relayuser")
        #expect(SubmissionPeer.text(of: message).contains("From: Alice <alice@example.com>\r\n"))
        try await Self.wait("the delivery log", server) { server.output.contains("mailer=relay, relay=127.0.0.1[127.0.0.1]:\(peer.port)") }
        #expect(server.output.contains("verify=OK"), "\(server.output)")

        try await Self.wait("root's mbox", server) { (try MailboxReader.mbox(server.directory.file("var/mail/root")).count) == 1 }
        let mail = try #require(try MailboxReader.mbox(server.directory.file("var/mail/root")).first)
        #expect((mail["headers"] as? [String: String])?["Subject"] == "for root")
        #expect((mail["from_line"] as? String)?.hasPrefix("alice@mx.example.test ") == true, "\(mail)")
        #expect((mail["body"] as? String)?.contains(">From the start\nsecond line\n") == true, "\(mail)")
    }

    /// Without credentials (which alone would keep the message from a server without TLS), only
    /// the imported policy stands between the message and a smart host that offers no STARTTLS.
    @Test("the imported TLS_Srv VERIFY holds: a smart host without STARTTLS gets nothing, the message waits (as Sendmail defers it)")
    func importedVerifyHolds() async throws {
        let pki = try await DeliveryTestPKI.shared()
        let peer = try await SubmissionPeer([])
        let (server, imported) = try await Self.importedServer(port: peer.port, caFile: pki.caCertificate, credentials: false)
        #expect(!imported.contains("authinfo ="), "\(imported)")
        _ = try await swaks(server["smtp"], ["--from", "alice@mx.example.test", "--to", "friend@elsewhere.example"])
        try await Self.wait("the deferral (or the delivery)", server) { server.output.contains("stat=Deferred") || !peer.messages.isEmpty }
        #expect(peer.messages.isEmpty, "delivered without TLS: \(server.output)")
        #expect(server.output.contains("stat=Deferred"), "\(server.output)")
        let listed = try await ExternalTool.runChecked(ServeProcess.executable, ["queue", "list", "--config", server.directory.file("swiftmta.toml")])
        #expect(listed.standardOutput.contains("<friend@elsewhere.example>"), "\(listed.standardOutput)")
    }
}

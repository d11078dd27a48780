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
        TLS_Srv:198.51.100\tVERIFY

        """

    @Test("the runner's keys: [local] as Sendmail's mail.local wrote, delivery_mode, connection_idle, tls_policy from TLS_Srv and Try_TLS")
    func runnerKeys() async throws {
        let folder = try ImportMCFixture.folder()
        let maps = folder.file("maps")
        try folder.write("maps/access", Self.accessText)
        try MapTools.makemap("hash", flags: [], text: Self.accessText, output: folder.file("maps/access"))
        try folder.write("maps/authinfo", "AuthInfo:relay.isp.example \"U:relayuser\" \"P:secret\" \"M:PLAIN\"\n", permissions: 0o600)
        let mc = try folder.write("maps/sendmail.mc", """
            divert(-1)dnl
            include(`/usr/share/sendmail/cf/m4/cf.m4')dnl
            OSTYPE(`linux')dnl
            define(`SMART_HOST', `relay.isp.example')dnl
            define(`RELAY_MAILER_ARGS', `TCP $h 587')dnl
            define(`confDELIVERY_MODE', `q')dnl
            define(`confMCI_CACHE_TIMEOUT', `1m30s')dnl
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
        #expect(configuration.delivery.connectionIdle == .seconds(90))
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
        #expect(missing.map(\.location) == [MCLocation(file: access, line: 6), MCLocation(file: access, line: 8)], "\(missing.map(\.line))")
        #expect(missing.last?.message.contains("an address prefix") == true)
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

    // MARK: - The imported configuration, run, beside real Sendmail

    /// The .mc both run: a smart host `[smarthost.example.test]` on the peer's port (the howto's
    /// RELAY_MAILER_ARGS `TCP $h PORT`), authinfo, masquerading, an access map with
    /// `TLS_Srv:smarthost.example.test VERIFY`, the test CA, local mail by mail.local. `@DIR@` is
    /// the maps' folder, `@PKI@` the CA's; `@PORT@` the smart host's port.
    static func template(credentials: Bool) -> String {
        """
        divert(-1)dnl
        include(`/usr/share/sendmail/cf/m4/cf.m4')dnl
        OSTYPE(`bsd4.4')dnl
        define(`confDONT_BLAME_SENDMAIL', `MapInUnsafeDirPath,ClassFileInUnsafeDirPath,GroupWritableDirPathSafe')dnl
        define(`ALIAS_FILE', `@DIR@/aliases')dnl
        define(`SMART_HOST', `[smarthost.example.test]')dnl
        define(`RELAY_MAILER_ARGS', `TCP $h @PORT@')dnl
        define(`confCACERT_PATH', `@PKI@')dnl
        define(`confCACERT', `@PKI@/ca.pem')dnl
        MASQUERADE_AS(`example.com')dnl
        FEATURE(`masquerade_envelope')dnl
        FEATURE(`access_db', `hash -T<TMPF> -o @DIR@/access')dnl
        \(credentials ? "FEATURE(`authinfo', `hash -o @DIR@/authinfo')dnl" : "dnl no authinfo")
        FEATURE(`local_lmtp', `/usr/libexec/sendmail/mail.local')dnl
        MAILER(`local')dnl
        MAILER(`smtp')dnl

        """
    }

    /// The maps both read, in `directory`: the access text and its .db, authinfo's .db, aliases.
    /// `secretMode` is authinfo's: 0600 for SwiftMTA, which insists on it (check-config); Sendmail
    /// here reads an optional (-o) authinfo only when every user may (it found no credentials in a
    /// root-owned 0600 file, and sent none).
    static func writeMaps(in directory: String, secretMode: Int) throws {
        let access = "TLS_Srv:smarthost.example.test\tVERIFY\n"
        try access.write(toFile: directory + "/access", atomically: true, encoding: .utf8)
        try MapTools.makemap("hash", flags: [], text: access, output: directory + "/access")
        try MapTools.makemap("hash", flags: [], text: "AuthInfo:smarthost.example.test\t\"U:relayuser\" \"I:relayuser\" \"P:s3cret pass\" \"M:PLAIN\"\n",
                             output: directory + "/authinfo")
        try FileManager.default.setAttributes([.posixPermissions: secretMode], ofItemAtPath: directory + "/authinfo.db")
        try "postmaster: root\n".write(toFile: directory + "/aliases", atomically: true, encoding: .utf8)
    }

    /// What real Sendmail did with the message: `sendmail -odi` in namespaces of its own
    /// (ImportMCFixtures/sendmail-delivery.py), with its own aiosmtpd smart host started with
    /// `peerOptions`. Returns the script's report and the folder (its `mail/` is /var/mail).
    static func sendmail(credentials: Bool, pki: String, recipient: String, message: String, peerOptions: [String]) async throws
        -> (report: [String: Any], work: TemporaryDirectory) {
        let work = try TemporaryDirectory(prefix: "swiftmta-import-sendmail")
        try writeMaps(in: work.path, secretMode: 0o644)
        let mc = template(credentials: credentials).replacingOccurrences(of: "@DIR@", with: work.path).replacingOccurrences(of: "@PKI@", with: pki)
        let templateFile = try work.write("template.mc", mc)
        let messageFile = try work.write("message", message)
        let script = ImportMCFixture.directory.appendingPathComponent("sendmail-delivery.py").path
        let run = try await ExternalTool.runChecked("python3", [script, work.path, templateFile, "alice@mx.example.test", recipient, messageFile] + peerOptions)
        let report = try #require(try JSONSerialization.jsonObject(with: Data(run.standardOutput.utf8)) as? [String: Any], "\(run.standardOutput)")
        return (report, work)
    }

    /// The same .mc imported (with `--maps` at a folder of the same maps) and served by
    /// `swiftmta serve`: only the listeners (port 0), the host name, the spool and mail folders
    /// (inside the test's folder) and the DNS server are the test's own.
    static func importedServer(credentials: Bool, pki: String, port: Int, nameserver: String) async throws -> (ServeProcess, imported: String) {
        let folder = try ImportMCFixture.folder()
        let maps = folder.file("maps")
        try writeMaps(in: maps, secretMode: 0o600)
        let mc = try folder.write("maps/sendmail.mc", template(credentials: credentials)
            .replacingOccurrences(of: "@DIR@", with: maps).replacingOccurrences(of: "@PKI@", with: pki).replacingOccurrences(of: "@PORT@", with: String(port)))
        let (output, status, path) = await ImportMCFixture.command(mc, maps: maps, in: folder)
        #expect(status == 0, "\(output)")
        let imported = try String(contentsOfFile: path, encoding: .utf8)
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
            + "\n[dns]\nnameservers = [\"\(nameserver)\"]\n"
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

    /// The header lines a comparison looks at (`From:`, `Subject:`), in order.
    static func headers(_ text: String) -> [String] {
        text.components(separatedBy: "\r\n").prefix { !$0.isEmpty }.filter { $0.hasPrefix("From:") || $0.hasPrefix("Subject:") }
    }

    static let relayMessage = "From: Alice <alice@mx.example.test>\nTo: friend@elsewhere.example\nSubject: through the smart host\n\nFrom the start\nsecond line\n"
    static let localMessage = "From: Alice <alice@mx.example.test>\nTo: root@mx.example.test\nSubject: for root\n\nFrom the start\nsecond line\n"

    @Test("for the same .mc, the imported configuration relays as real Sendmail does: the smart host on its port, STARTTLS verified (TLS_Srv VERIFY), AUTH from authinfo, envelope and From: masqueraded")
    func relaysAsSendmail() async throws {
        let pki = try await DeliveryTestPKI.shared()
        let peerOptions = ["--starttls", pki.serverCertificate, pki.serverKey, "--user", "relayuser:s3cret pass"]
        let (sendmail, _) = try await Self.sendmail(credentials: true, pki: pki.directory.path, recipient: "friend@elsewhere.example",
                                                    message: Self.relayMessage, peerOptions: peerOptions)
        let theirs = try #require((sendmail["messages"] as? [[String: Any]])?.first, "Sendmail delivered nothing: \(sendmail)")

        let dns = try DnsmasqServer(records: ["--host-record=smarthost.example.test,127.0.0.1", "--local=/test/"])
        defer { dns.stop() }
        let peer = try await SubmissionPeer(peerOptions)
        let (server, imported) = try await Self.importedServer(credentials: true, pki: pki.directory.path, port: peer.port, nameserver: dns.address)
        #expect(imported.contains("relay_mailer_port = \(peer.port)") && imported.contains("tls_policy = \"text:imported-tls-policy\""), "\(imported)")
        // A loopback client relays, as through Sendmail (imported-access).
        let relayed = try await swaks(server["smtp"], [
            "--from", "alice@mx.example.test", "--to", "friend@elsewhere.example",
            "--header", "From: Alice <alice@mx.example.test>", "--header", "Subject: through the smart host", "--body", "From the start\nsecond line\n",
        ])
        #expect(relayed.standardOutput.contains("<-  250 2.0.0"), "\(relayed.standardOutput)")
        try await Self.wait("the smart host's message", server) { !peer.messages.isEmpty }
        let ours = try #require(peer.messages.first)
        for field in ["from", "to", "tls", "auth"] {
            #expect("\(ours[field] ?? "-")" == "\(theirs[field] ?? "-")", "\(field): swiftmta \(ours), sendmail \(theirs); the server said:\n\(server.output)")
        }
        #expect(theirs["from"] as? String == "alice@example.com" && theirs["auth"] as? String == "relayuser" && theirs["tls"] as? Bool == true, "\(theirs)")
        #expect(Self.headers(SubmissionPeer.text(of: ours)) == Self.headers(SubmissionPeer.text(of: theirs)))
        #expect(Self.headers(SubmissionPeer.text(of: theirs)) == ["From: Alice <alice@example.com>", "Subject: through the smart host"])
        try await Self.wait("the delivery log", server) { server.output.contains("mailer=relay, relay=smarthost.example.test") }
        #expect(server.output.contains("verify=OK"), "\(server.output)")
    }

    /// Without credentials (which alone would keep the message from a server without TLS), only
    /// the imported policy stands between the message and a smart host that offers no STARTTLS.
    @Test("for the same .mc, TLS_Srv VERIFY holds as in real Sendmail: a smart host without STARTTLS gets nothing, the message waits in the queue")
    func verifyHoldsAsSendmail() async throws {
        let pki = try await DeliveryTestPKI.shared()
        let (sendmail, _) = try await Self.sendmail(credentials: false, pki: pki.directory.path, recipient: "friend@elsewhere.example",
                                                    message: Self.relayMessage, peerOptions: [])
        #expect((sendmail["messages"] as? [Any])?.isEmpty == true, "\(sendmail)")
        // Deferred for TLS_Srv's sake: "454 4.7.0 other side does not support STARTTLS".
        #expect((sendmail["queue"] as? String)?.contains("(1 request)") == true, "\(sendmail)")
        #expect((sendmail["queue"] as? String)?.contains("STARTTLS") == true, "\(sendmail)")

        let dns = try DnsmasqServer(records: ["--host-record=smarthost.example.test,127.0.0.1", "--local=/test/"])
        defer { dns.stop() }
        let peer = try await SubmissionPeer([])
        let (server, imported) = try await Self.importedServer(credentials: false, pki: pki.directory.path, port: peer.port, nameserver: dns.address)
        #expect(!imported.contains("authinfo ="), "\(imported)")
        _ = try await swaks(server["smtp"], ["--from", "alice@mx.example.test", "--to", "friend@elsewhere.example"])
        try await Self.wait("the deferral (or the delivery)", server) { server.output.contains("stat=Deferred") || !peer.messages.isEmpty }
        #expect(peer.messages.isEmpty, "delivered without TLS: \(server.output)")
        #expect(server.output.contains("stat=Deferred"), "\(server.output)")
        let listed = try await ExternalTool.runChecked(ServeProcess.executable, ["queue", "list", "--config", server.directory.file("swiftmta.toml")])
        #expect(listed.standardOutput.contains("<friend@elsewhere.example>"), "\(listed.standardOutput)")
    }

    /// Two divergences from real Sendmail, both reported by the import: Sendmail masquerades the
    /// sender of a local delivery too, and mail.local relies on Content-Length instead of
    /// escaping a body line that starts with "From " (Python's reader then sees two messages).
    @Test("for the same .mc, local mail lands where real Sendmail's mail.local put it: /var/mail/root, an mbox; the two documented divergences")
    func localAsSendmail() async throws {
        let pki = try await DeliveryTestPKI.shared()
        let (sendmail, work) = try await Self.sendmail(credentials: true, pki: pki.directory.path, recipient: "root@mx.example.test",
                                                       message: Self.localMessage, peerOptions: [])
        #expect(sendmail["status"] as? Int == 0, "\(sendmail)")
        let theirs = try String(contentsOfFile: work.file("mail/root"), encoding: .utf8)

        let dns = try DnsmasqServer(records: ["--host-record=smarthost.example.test,127.0.0.1", "--local=/test/"])
        defer { dns.stop() }
        let (server, _) = try await Self.importedServer(credentials: true, pki: pki.directory.path, port: 9, nameserver: dns.address)
        let local = try await swaks(server["smtp"], [
            "--from", "alice@mx.example.test", "--to", "root@mx.example.test",
            "--header", "From: Alice <alice@mx.example.test>", "--header", "Subject: for root", "--body", "From the start\nsecond line\n",
        ])
        #expect(local.standardOutput.contains("<-  250 2.0.0"), "\(local.standardOutput)")
        try await Self.wait("root's mbox", server) { (try MailboxReader.mbox(server.directory.file("var/mail/root")).count) == 1 }
        let mine = try #require(try MailboxReader.mbox(server.directory.file("var/mail/root")).first)
        let ours = try String(contentsOfFile: server.directory.file("var/mail/root"), encoding: .utf8)

        // The same mailbox file, one message in mbox form, the same Subject.
        #expect(theirs.hasPrefix("From alice@") && ours.hasPrefix("From alice@"), "sendmail:\n\(theirs)\nswiftmta:\n\(ours)")
        #expect(theirs.contains("\nSubject: for root\n") && (mine["headers"] as? [String: String])?["Subject"] == "for root")
        // Divergence 1: the sender of a local delivery, masqueraded by Sendmail only.
        #expect(theirs.hasPrefix("From alice@example.com ") && theirs.contains("\nReturn-Path: <alice@example.com>\n") && theirs.contains("\nFrom: Alice <alice@example.com>\n"), "\(theirs)")
        #expect(ours.hasPrefix("From alice@mx.example.test ") && (mine["headers"] as? [String: String])?["From"] == "Alice <alice@mx.example.test>", "\(ours)")
        // Divergence 2: mail.local's Content-Length and unescaped "From " line; SwiftMTA's >From.
        #expect(theirs.contains("\nContent-Length: 27\n\nFrom the start\nsecond line\n"), "\(theirs)")
        #expect((mine["body"] as? String)?.hasPrefix(">From the start\nsecond line\n") == true, "\(mine)")
        let report = try ImportMCFixture.importReport(work.file("template.mc"), maps: work.path, in: work).report.entries(.differs)
        #expect(report.contains { $0.message.contains("masquerades the sender of local deliveries too") })
        #expect(report.contains { $0.message.contains("mail.local writes a Content-Length: header") })
    }
}

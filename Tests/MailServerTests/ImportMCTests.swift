import Foundation
import MailServer
import Testing
import TestSupport

/// The import fixtures and what the tests add to them.
enum ImportMCFixture {
    static let directory = URL(fileURLWithPath: ExternalTool.repositoryRoot).appendingPathComponent("Tests/MailServerTests/ImportMCFixtures")

    /// A private folder with `maps/` holding a copy of the fixture folder `name` (or nothing).
    static func folder(_ name: String? = nil) throws -> TemporaryDirectory {
        let folder = try TemporaryDirectory(prefix: "swiftmta-import")
        let maps = folder.file("maps")
        if let name {
            try FileManager.default.copyItem(atPath: directory.appendingPathComponent(name).path, toPath: maps)
            // Smart-host passwords are kept from other users (check-config insists).
            for secret in ["client-info", "authinfo"] where FileManager.default.fileExists(atPath: maps + "/" + secret) {
                try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: maps + "/" + secret)
            }
        } else {
            try FileManager.default.createDirectory(atPath: maps, withIntermediateDirectories: true)
        }
        return folder
    }

    /// A self-signed certificate and its RSA key of `bits`, made by openssl.
    static func certificate(_ certificate: String, key: String, bits: Int = 2048) throws {
        for path in [certificate, key] {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        }
        try ExternalTool.runChecked("openssl", [
            "req", "-x509", "-newkey", "rsa:\(bits)", "-nodes", "-keyout", key, "-out", certificate,
            "-days", "30", "-subj", "/CN=mx.example.test",
        ])
    }

    /// A sasldb2 with one user, made by saslpasswd2 (Sendmail's application name).
    static func sasldb(_ path: String) throws {
        try ExternalTool.runChecked("saslpasswd2", ["-p", "-c", "-f", path, "-u", "mx.example.test", "amy"], input: "secret\n")
    }

    /// Imports `mc` with its files under `maps` (the report only; nothing is written).
    static func importReport(_ mc: String, maps: String?, in folder: TemporaryDirectory, hostname: String? = "mx.example.test",
                             cfDirectory: String? = nil) throws -> SendmailMCImporter.Output {
        var options = SendmailMCImporter.Options(mcFile: mc, mapsDirectory: maps, configurationFile: folder.file("swiftmta.toml"), hostname: hostname)
        if let cfDirectory { options.cfDirectory = cfDirectory }
        var importer = SendmailMCImporter(options: options)
        return try importer.run()
    }

    /// `swiftmta import-mc` as the command runs it: written, checked; output and status.
    static func command(_ mc: String, maps: String?, in folder: TemporaryDirectory, hostname: String? = "mx.example.test",
                        force: Bool = false) async -> (output: String, status: Int32, configuration: String) {
        let configuration = folder.file("swiftmta.toml")
        let (output, status) = await ImportMCCommand.run(ImportMCCommand.Request(
            mcFile: mc, mapsDirectory: maps, outputFile: configuration, hostname: hostname, force: force))
        return (output, status, configuration)
    }

    /// Appends a `[dns]` table that asks a port where nothing answers (a lookup fails at once):
    /// the tests route without the machine's resolver, which drops queries.
    static func withoutDNS(_ configuration: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: configuration))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("\n[dns]\nnameservers = [\"127.0.0.1:9\"]\n".utf8))
        try handle.close()
    }

    /// The lines of `mc` (1-based) that call a macro or define something: every one must be in
    /// the report.
    static func macroLines(_ mc: String) throws -> [Int] {
        try String(contentsOfFile: mc, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap { index, line in
            let text = line.trimmingCharacters(in: .whitespaces)
            guard let first = text.first, first.isLetter || first == "_", !text.hasPrefix("dnl"), !text.hasPrefix("divert") else { return nil }
            return index + 1
        }
    }
}

/// `swiftmta import-mc`: the seeds' configurations, the Debian layout, the warnings, map specs,
/// unknown macros, and the command's files and exit statuses.
@Suite("swiftmta import-mc", .serialized)
struct ImportMCTests {
    // MARK: - The seeds

    /// The repository's copies must not drift from the team's originals, where those are.
    @Test("the fixtures are the seed documents' files", .enabled(if: FileManager.default.fileExists(atPath: SeedFixtures.directory)))
    func fixturesAreTheSeeds() throws {
        for name in ["seed-talk/sendmail.mc", "seed-talk/access", "seed-talk/virtusertable", "seed-talk/local-host-names",
                     "seed-howto/sendmail.mc", "seed-howto/mailertable", "seed-howto/client-info"] {
            let copy = try String(contentsOf: ImportMCFixture.directory.appendingPathComponent(name), encoding: .utf8)
            #expect(copy == (try SeedFixtures.text(name)), "\(name)")
        }
    }

    @Test("the talk's configuration: everything it needs carried over, the dead DNSBL zones only commented out")
    func talk() async throws {
        let folder = try ImportMCFixture.folder("seed-talk")
        let maps = folder.file("maps"), mc = folder.file("maps/sendmail.mc")
        try ImportMCFixture.certificate(folder.file("maps/certs/sendmail.crt"), key: folder.file("maps/certs/sendmail.key"))
        try ImportMCFixture.sasldb(folder.file("maps/sasldb2"))
        let imported = try ImportMCFixture.importReport(mc, maps: maps, in: folder)
        let report = imported.report

        // Not carried over: only the three DNSBL zones, which no longer exist.
        let missing = report.entries(.notCarriedOver)
        #expect(missing.map { $0.location?.line } == [13, 14, 15], "\(missing.map(\.line))")
        #expect(missing.allSatisfy { $0.subject.hasPrefix("FEATURE(`dnsbl'") && $0.message.contains("no longer exists") })
        let warnings = report.entries(.warning)
        #expect(warnings.map { $0.location?.line } == [13, 14, 15], "\(warnings.map(\.line))")
        #expect(warnings[0].message.contains("rbl.maps.vix.com no longer exists"))
        // Every line of the .mc is in the report, carried over or with why not.
        for line in try ImportMCFixture.macroLines(mc) {
            #expect(report.entries.contains { $0.location?.line == line && $0.location?.file == mc }, "line \(line) is not in the report")
        }

        let (output, status, path) = await ImportMCFixture.command(mc, maps: maps, in: folder)
        #expect(status == 0, "\(output)")
        #expect(output.contains("check-config: the written configuration is valid"), "\(output)")
        let configuration = try SwiftMTAConfiguration.load(path: path)
        #expect(configuration.hostname == "mx.example.test")
        #expect(configuration.routing.masqueradeAs == "real-time.com")
        #expect(configuration.routing.masqueradeEnvelope)
        #expect(configuration.routing.relayBasedOnMX && configuration.routing.blacklistRecipients && configuration.routing.delayChecks)
        #expect(configuration.routing.dnsbl.isEmpty)
        #expect(configuration.tables.virtusertable == "text:-o \(maps)/virtusertable")
        #expect(configuration.tables.localHostNames == "list:\(maps)/local-host-names")
        #expect(configuration.tables.access == "sequence:{ { text:\(folder.path)/imported-access }, { text:\(maps)/access } }")
        #expect(configuration.authentication.backend == "cyrus")
        #expect(configuration.authentication.sasldb == "\(maps)/sasldb2")
        #expect(configuration.authentication.mechanisms == ["LOGIN", "PLAIN", "DIGEST-MD5", "CRAM-MD5"])
        #expect(configuration.authentication.trustedMechanisms == ["LOGIN", "PLAIN", "DIGEST-MD5", "CRAM-MD5"])
        #expect(configuration.authentication.options == ["p"])
        #expect(configuration.tls.certificate == "\(maps)/certs/sendmail.crt")
        #expect(configuration.tls.key == "\(maps)/certs/sendmail.key")
        #expect(configuration.tls.caPath == "\(maps)/certs")
        #expect(configuration.tls.clientCertificate == "\(maps)/certs/sendmail.crt")
        #expect(configuration.smtp.greeting == "$j server ready at $b")
        #expect(configuration.smtp.privacy == ["goaway"])
        #expect(configuration.listeners.map { "\($0.host):\($0.port) \($0.mode)" } == ["0.0.0.0:25 smtp", "0.0.0.0:587 smtp"])
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("# { zone = \"rbl.maps.vix.com\""))
        let access = try String(contentsOfFile: folder.file("imported-access"), encoding: .utf8)
        #expect(access.contains("Connect:127.0.0.1\tRELAY\nConnect:IPv6:::1\tRELAY\n"))

        // The talk's virtual users, routed by the imported configuration.
        try ImportMCFixture.withoutDNS(path)
        let (routed, _) = await RouteCommand.run(RouteCommand.Request(address: "amy@tebbe.org", configurationFile: path))
        #expect(routed.hasPrefix("mailer esmtp, host real-time.com, user atebbe@real-time.com"), "\(routed)")
    }

    @Test("the howto's configuration: Submission relay, mailertable and authinfo, Debian's starttls.m4")
    func howto() async throws {
        let folder = try ImportMCFixture.folder("seed-howto")
        let maps = folder.file("maps"), mc = folder.file("maps/sendmail.mc")
        // What Debian's starttls.m4 names (the howto runs on Debian); the file itself is not there.
        try ImportMCFixture.certificate(folder.file("maps/tls/sendmail-server.crt"), key: folder.file("maps/tls/sendmail-common.key"))
        try FileManager.default.copyItem(atPath: folder.file("maps/tls/sendmail-server.crt"), toPath: folder.file("maps/tls/sendmail-client.crt"))
        let imported = try ImportMCFixture.importReport(mc, maps: maps, in: folder)
        let report = imported.report
        #expect(report.entries(.notCarriedOver).isEmpty, "\(report.entries(.notCarriedOver).map(\.line))")
        #expect(report.entries(.warning).isEmpty, "\(report.entries(.warning).map(\.line))")
        #expect(report.entries(.differs).contains { $0.location?.line == 5 && $0.message.contains("Debian's sendmail package writes there is assumed") })
        for line in try ImportMCFixture.macroLines(mc) {
            #expect(report.entries.contains { $0.location?.line == line && $0.location?.file == mc }, "line \(line) is not in the report")
        }

        let (output, status, path) = await ImportMCFixture.command(mc, maps: maps, in: folder)
        #expect(status == 0, "\(output)")
        let configuration = try SwiftMTAConfiguration.load(path: path)
        #expect(configuration.routing.masqueradeAs == "somedom.com")
        #expect(configuration.tables.mailertable == "text:\(maps)/mailertable")
        #expect(configuration.tables.authinfo == "text:\(maps)/client-info")
        #expect(configuration.tables.access == "text:\(folder.path)/imported-access")
        #expect(configuration.tls.certificate == "\(maps)/tls/sendmail-server.crt")
        #expect(configuration.tls.caFile == "\(maps)/tls/sendmail-server.crt")
        #expect(configuration.tls.caPath == "/etc/ssl/certs")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("relay_mailer = \"esmtp\"") && text.contains("relay_mailer_port = 587"))
        try ImportMCFixture.withoutDNS(path)
        let (routed, _) = await RouteCommand.run(RouteCommand.Request(address: "foo@somedom.com", configurationFile: path))
        #expect(routed.hasPrefix("mailer relay, host [relayhost.somedom.com], user foo@somedom.com\n  port 587"), "\(routed)")
    }

    @Test("the issue's other macros: confDOMAIN_NAME, SMART_HOST, RELAY_DOMAIN(_FILE), MASQUERADE_DOMAIN, EXPOSED_USER, HELP_FILE, DAEMON_OPTIONS")
    func otherMacros() async throws {
        let folder = try ImportMCFixture.folder()
        let maps = folder.file("maps")
        try ImportMCFixture.certificate(folder.file("maps/certs/mx.crt"), key: folder.file("maps/certs/mx.key"))
        try folder.write("maps/relay-domains", "partner.example\n")
        try folder.write("maps/relay-extra", "# more partners\nextra.example\n")
        try folder.write("maps/virtual-domains", "virt.example\n")
        try folder.write("maps/helpfile", "#vers 2\nsmtp\tThis is $j.\nsmtp\tTopics: HELO EHLO MAIL RCPT DATA\n")
        let mc = try folder.write("maps/sendmail.mc", """
            divert(-1)dnl
            include(`/usr/share/sendmail/cf/m4/cf.m4')dnl
            define(`confDOMAIN_NAME', `mail.example.org')dnl
            define(`SMART_HOST', `esmtp:[smarthost.example.org]')dnl
            RELAY_DOMAIN(`a.example b.example')dnl
            RELAY_DOMAIN_FILE(`/etc/mail/relay-extra')dnl
            MASQUERADE_AS(`example.org')dnl
            MASQUERADE_DOMAIN(`other.example')dnl
            EXPOSED_USER(`root postmaster')dnl
            LOCAL_DOMAIN(`alias.example.org')dnl
            VIRTUSER_DOMAIN_FILE(`-o /etc/mail/virtual-domains')dnl
            define(`HELP_FILE', `/etc/mail/helpfile')dnl
            define(`confMAX_RCPTS_PER_MESSAGE', `250')dnl
            define(`confTO_COMMAND', `1h')dnl
            define(`confTO_QUEUERETURN', `7d')dnl
            define(`confMIN_QUEUE_AGE', `30')dnl
            define(`confSERVER_CERT', `MAIL_SETTINGS_DIR/certs/mx.crt')dnl
            define(`confSERVER_KEY', `MAIL_SETTINGS_DIR/certs/mx.key')dnl
            FEATURE(`accept_unresolvable_domains')dnl
            DAEMON_OPTIONS(`Port=smtp, Name=MTA')dnl
            DAEMON_OPTIONS(`Port=smtp, Family=inet6, Name=MTA-v6')dnl
            DAEMON_OPTIONS(`Port=smtps, Name=TLSMTA, M=s')dnl
            DAEMON_OPTIONS(`Port=submission, Name=MSA, M=Ea, Addr=192.0.2.1')dnl
            MAILER(`smtp')dnl

            """)
        let report = try ImportMCFixture.importReport(mc, maps: maps, in: folder, hostname: nil).report
        #expect(report.entries(.notCarriedOver).isEmpty, "\(report.entries(.notCarriedOver).map(\.line))")
        for line in try ImportMCFixture.macroLines(mc) {
            #expect(report.entries.contains { $0.location?.line == line && $0.location?.file == mc }, "line \(line) is not in the report")
        }
        let (output, status, path) = await ImportMCFixture.command(mc, maps: maps, in: folder, hostname: nil)
        #expect(status == 0, "\(output)")
        let configuration = try SwiftMTAConfiguration.load(path: path)
        #expect(configuration.hostname == "mail.example.org")
        #expect(configuration.routing.smartHost == "esmtp:[smarthost.example.org]")
        #expect(configuration.tables.relayDomains == "sequence:{ { list:\(maps)/relay-domains }, { list:\(maps)/relay-extra }, { inline:{ a.example=a.example, b.example=b.example } } }")
        #expect(configuration.routing.masqueradeDomains == ["other.example"])
        #expect(configuration.routing.exposedUsers == ["root", "postmaster"])
        #expect(configuration.routing.extraLocalNames == ["alias.example.org"])
        #expect(configuration.routing.virtualDomains == ["virt.example"])
        #expect(configuration.routing.acceptUnresolvableDomains)
        #expect(configuration.smtp.helpFile == "\(maps)/helpfile")
        #expect(configuration.smtp.maximumRecipients == 250)
        #expect(configuration.smtp.commandTimeout == .seconds(3600))
        #expect(configuration.queue.queueReturn == .seconds(7 * 86_400))
        #expect(configuration.queue.minQueueAge == .seconds(30 * 60))
        #expect(configuration.tls.certificate == "\(maps)/certs/mx.crt")
        #expect(configuration.listeners.map { "\($0.host):\($0.port) \($0.mode)" } == [
            "0.0.0.0:25 smtp", ":::25 smtp", "0.0.0.0:465 smtps", "192.0.2.1:587 submission",
        ])
        // Class R from the three sources, as Sendmail's $=R: a client relays to each.
        try ImportMCFixture.withoutDNS(path)
        for (recipient, verdict) in [("u@partner.example", "accept"), ("u@extra.example", "accept"), ("u@b.example", "accept"), ("u@elsewhere.example", "refuse")] {
            let (answer, _) = await RouteCommand.run(RouteCommand.Request(
                address: recipient, sender: "<>", clientAddress: "198.51.100.9", configurationFile: path, json: true))
            let object = try #require(try JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any], "\(answer)")
            #expect((object["verdict"] as? [String: Any])?["disposition"] as? String == verdict, "\(recipient): \(answer)")
        }
        let (smart, _) = await RouteCommand.run(RouteCommand.Request(address: "root@other.example", configurationFile: path))
        #expect(smart.hasPrefix("mailer esmtp, host [smarthost.example.org]"), "\(smart)")
    }

    // MARK: - Warnings

    @Test("a 1024-bit key: a warning, and STARTTLS off as Sendmail runs it with OpenSSL's defaults")
    func weakKey() async throws {
        let folder = try ImportMCFixture.folder("seed-talk")
        let maps = folder.file("maps"), mc = folder.file("maps/sendmail.mc")
        try ImportMCFixture.certificate(folder.file("maps/certs/sendmail.crt"), key: folder.file("maps/certs/sendmail.key"), bits: 1024)
        try ImportMCFixture.sasldb(folder.file("maps/sasldb2"))
        let report = try ImportMCFixture.importReport(mc, maps: maps, in: folder).report
        let weak = report.entries(.warning).filter { $0.message.contains("is a 1024-bit RSA key") }
        #expect(weak.count == 1 && weak.first?.location?.line == 20, "\(report.entries(.warning).map(\.line))")
        #expect(report.entries(.notCarriedOver).contains { $0.location?.line == 19 && $0.message.contains("1024-bit") && $0.message.contains("without STARTTLS") })
        let (output, status, path) = await ImportMCFixture.command(mc, maps: maps, in: folder)
        #expect(status == 0, "\(output)")
        let configuration = try SwiftMTAConfiguration.load(path: path)
        #expect(configuration.tls.certificate == nil && configuration.tls.clientKey == nil)
        #expect(try String(contentsOfFile: path, encoding: .utf8).contains("# certificate = \"\(maps)/certs/sendmail.crt\""))
    }

    @Test("PLAIN and LOGIN without confAUTH_OPTIONS `p': a warning; imported as Sendmail had it")
    func plaintextWithoutTLS() async throws {
        let folder = try ImportMCFixture.folder()
        try ImportMCFixture.sasldb(folder.file("maps/sasldb2"))
        let mc = try folder.write("maps/sendmail.mc", """
            divert(-1)dnl
            include(`/usr/share/sendmail/cf/m4/cf.m4')dnl
            define(`confAUTH_MECHANISMS', `PLAIN LOGIN CRAM-MD5')dnl
            TRUST_AUTH_MECH(`PLAIN LOGIN CRAM-MD5')dnl
            MAILER(`local')dnl

            """)
        let report = try ImportMCFixture.importReport(mc, maps: folder.file("maps"), in: folder).report
        let warning = try #require(report.entries(.warning).first)
        #expect(warning.message.contains("PLAIN and LOGIN without confAUTH_OPTIONS `p'"), "\(warning.line)")
        #expect(warning.location?.line == 3)
        let (output, status, path) = await ImportMCFixture.command(mc, maps: folder.file("maps"), in: folder)
        #expect(status == 0, "\(output)")
        let configuration = try SwiftMTAConfiguration.load(path: path)
        #expect(configuration.authentication.options == [])
        #expect(configuration.authentication.mechanisms == ["PLAIN", "LOGIN", "CRAM-MD5"])
    }

    @Test("promiscuous_relay: imported with a loud warning, and every client relays")
    func promiscuousRelay() async throws {
        let folder = try ImportMCFixture.folder()
        let mc = try folder.write("maps/sendmail.mc", """
            divert(-1)dnl
            include(`/usr/share/sendmail/cf/m4/cf.m4')dnl
            FEATURE(`promiscuous_relay')dnl
            MAILER(`smtp')dnl

            """)
        let report = try ImportMCFixture.importReport(mc, maps: folder.file("maps"), in: folder).report
        let warning = try #require(report.entries(.warning).first { $0.location?.line == 3 })
        #expect(warning.message.contains("MAKES AN OPEN RELAY"))
        let (output, status, path) = await ImportMCFixture.command(mc, maps: folder.file("maps"), in: folder)
        #expect(status == 0, "\(output)")
        try ImportMCFixture.withoutDNS(path)
        for client in ["198.51.100.9", "2001:db8::7"] {
            let request = RouteCommand.Request(address: "user@remote.example", sender: "<>", clientAddress: client,
                                               clientHost: "client.example", configurationFile: path, json: true)
            let (answer, _) = await RouteCommand.run(request)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(answer.utf8)) as? [String: Any], "\(answer)")
            let rcpt = try #require(object["rcpt"] as? [String: Any], "\(answer)")
            #expect(rcpt["disposition"] as? String == "accept", "\(client): \(answer)")
        }
    }

    @Test("a DNSBL that is alive is carried over with its message")
    func dnsbl() throws {
        let folder = try ImportMCFixture.folder()
        let mc = try folder.write("maps/sendmail.mc", """
            divert(-1)dnl
            FEATURE(dnsbl, `bl.example.test', `"550 Go away " $&{client_addr}')dnl
            FEATURE(`dnsbl', `zen.example.test')dnl

            """)
        let imported = try ImportMCFixture.importReport(mc, maps: folder.file("maps"), in: folder)
        #expect(imported.configuration.contains("dnsbl = [\n    # \(mc):2: FEATURE(`dnsbl', `bl.example.test', `\"550 Go away \" $&{client_addr}')\n    { zone = \"bl.example.test\", message = \"Go away ${client_addr}\" },\n"), "\(imported.configuration)")
        #expect(imported.configuration.contains("    { zone = \"zen.example.test\" },\n]"))
        #expect(imported.report.entries(.warning).isEmpty)
    }

    // MARK: - Unknown macros, raw lines

    @Test("a .mc with unknown macros: each reported with its line, and the import succeeds")
    func unknownMacros() async throws {
        let folder = try ImportMCFixture.folder()
        let mc = ImportMCFixture.directory.appendingPathComponent("unknown-macros.mc").path
        let report = try ImportMCFixture.importReport(mc, maps: folder.file("maps"), in: folder).report
        let missing = report.entries(.notCarriedOver)
        let found = missing.compactMap { entry in entry.location.map { "\($0.line) \(entry.subject)" } }
        for wanted in ["5 SPAMFILTER", "7 ENABLE_GREYLISTING", "8 FEATURE(`greylist_everyone')", "9 MYCERTDIR", "11 TURBO_MODE", "14 Kmymap hash /etc/mail/mymap"] {
            #expect(found.contains(wanted), "\(wanted) in \(found)")
        }
        #expect(missing.first { $0.subject == "SPAMFILTER" }?.message.contains("unknown macro") == true)
        #expect(missing.first { $0.subject.hasPrefix("Kmymap") }?.message.contains("raw sendmail.cf line") == true)
        let (output, status, path) = await ImportMCFixture.command(mc, maps: folder.file("maps"), in: folder)
        #expect(status == 0, "\(output)")
        #expect(output.contains("unknown-macros.mc:7: ENABLE_GREYLISTING"))
        let configuration = try SwiftMTAConfiguration.load(path: path)
        #expect(configuration.routing.masqueradeAs == "example.org")
        #expect(configuration.routing.relayBasedOnMX)
    }

    @Test("a .mc m4 cannot read: an error naming the line, nothing written", arguments: [
        ("divert(-1)dnl\nMASQUERADE_AS(`example.org)dnl\nMAILER(`local')dnl\n", 2, "closing ' is missing"),
        ("divert(-1)dnl\n\nFEATURE(`access_db', `hash /etc/mail/access'\nMAILER(`local')dnl\n", 3, "a ) is missing"),
        ("divert(-1)dnl\ndefine(`LOOP', `LOOP LOOP')dnl\nLOOP\n", 3, "macro expansions"),
    ])
    func unreadable(text: String, line: Int, message: String) async throws {
        let folder = try ImportMCFixture.folder()
        let mc = try folder.write("bad.mc", text)
        let (output, status, path) = await ImportMCFixture.command(mc, maps: folder.file("maps"), in: folder)
        #expect(status == 65)
        #expect(output.hasPrefix("swiftmta import-mc: \(mc):\(line): "), "\(output)")
        #expect(output.contains(message), "\(output)")
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    // MARK: - Map specs

    @Test("Sendmail's map specs become specs SwiftMTA takes, pointing at the same files", arguments: [
        // (the FEATURE's spec, files made under maps/, the spec written, a phrase of the report)
        ("hash -T<TMPF> -o /etc/mail/access", ["access.db"], "hash:-o MAPS/access", "-T<TMPF> left out"),
        ("hash -o /etc/mail/access", ["access"], "text:-o MAPS/access", "MAPS/access.db is not there"),
        ("hash /etc/mail/auth/client-info.db", ["auth/client-info.db"], "hash:MAPS/auth/client-info", "the same MAPS/auth/client-info.db"),
        ("btree -m /etc/mail/access", ["access.db"], "btree:MAPS/access", "-m (match only) left out"),
        ("hash -N /etc/mail/access", ["access.db"], "hash:-N MAPS/access", "the same MAPS/access.db"),
        ("text /etc/mail/access", ["access"], "text:MAPS/access", "→ maps.access = text:MAPS/access"),
        ("dbm /etc/mail/access", [], "", "a dbm (ndbm) map"),
        ("LDAP", [], "", "an LDAP map"),
        ("hash /etc/mail/missing", [], "hash:MAPS/missing", "neither MAPS/missing.db nor MAPS/missing is there"),
    ])
    func mapSpecs(spec: String, files: [String], written: String, phrase: String) async throws {
        let folder = try ImportMCFixture.folder()
        let maps = folder.file("maps")
        for file in files {
            let path = "\(maps)/\(file)"
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            if file.hasSuffix(".db") {
                let source = String(path.dropLast(3))
                try MapTools.makemap(spec.hasPrefix("btree") ? "btree" : "hash", flags: [], text: "Connect:192.0.2.1\tREJECT\n", output: source)
            } else {
                try "Connect:192.0.2.1\tREJECT\n".write(toFile: path, atomically: true, encoding: .utf8)
            }
        }
        let mc = try folder.write("maps/sendmail.mc", "divert(-1)dnl\nFEATURE(`access_db', `\(spec)')dnl\nMAILER(`smtp')dnl\n")
        let imported = try ImportMCFixture.importReport(mc, maps: maps, in: folder)
        let expected = written.replacingOccurrences(of: "MAPS", with: maps)
        let access = "text:\(folder.path)/imported-access"
        if written.isEmpty {
            #expect(imported.configuration.contains("access = \"text:imported-access\""))
        } else {
            #expect(imported.configuration.contains("access = \"sequence:{ { text:imported-access }, { \(expected) } }\""), "\(imported.configuration)")
        }
        let wanted = phrase.replacingOccurrences(of: "MAPS", with: maps)
        #expect(imported.report.entries.contains { $0.location?.line == 2 && $0.message.contains(wanted) }, "\(imported.report.entries.map(\.line))")
        // What was written is what SwiftMTA takes: check-config opens it (a missing file is its error).
        let (output, status, path) = await ImportMCFixture.command(mc, maps: maps, in: folder)
        let configuration = try SwiftMTAConfiguration.load(path: path)
        if written.hasPrefix("hash:MAPS/missing") {
            #expect(status == 1 && output.contains("missing"), "\(output)")
        } else {
            #expect(status == 0, "\(output)")
            #expect(configuration.tables.access == (written.isEmpty ? access : "sequence:{ { \(access) }, { \(expected) } }"))
        }
    }

    // MARK: - The Debian layout

    @Test("Debian's layout: debian-mta, DAEMON_OPTIONS, starttls.m4 and sasl.m4 under /etc/mail, sendmail.conf")
    func debian() async throws {
        let folder = try ImportMCFixture.folder("debian")
        let maps = folder.file("maps"), mc = folder.file("maps/sendmail.mc")
        try ImportMCFixture.certificate(folder.file("maps/tls/sendmail-server.crt"), key: folder.file("maps/tls/sendmail-common.key"))
        try FileManager.default.copyItem(atPath: folder.file("maps/tls/sendmail-server.crt"), toPath: folder.file("maps/tls/sendmail-client.crt"))
        try FileManager.default.createDirectory(atPath: folder.file("maps/tls/ca"), withIntermediateDirectories: true)
        try ImportMCFixture.sasldb(folder.file("maps/sasldb2"))
        try MapTools.makemap("hash", flags: [], text: try String(contentsOfFile: folder.file("maps/access"), encoding: .utf8), output: folder.file("maps/access"))

        for cfDirectory in ["/usr/share/sendmail/cf", folder.file("no-cf-library")] {
            let report = try ImportMCFixture.importReport(mc, maps: maps, in: folder, cfDirectory: cfDirectory).report
            // starttls.m4 read from maps/tls (under --maps), sasl.m4 not there: Debian's assumed.
            #expect(report.entries(.carriedOver).contains { $0.location?.line == 29 && $0.message.hasPrefix("read \(maps)/tls/starttls.m4") })
            #expect(report.entries(.differs).contains { $0.location?.line == 30 && $0.message.contains("is assumed") })
            #expect(report.entries(.differs).contains { $0.subject.hasPrefix("define(`confTLS_SRV_OPTIONS'") })
            let conf = "\(maps)/sendmail.conf"
            #expect(report.entries(.notCarriedOver).contains { $0.location == MCLocation(file: conf, line: 8) && $0.subject == "QUEUE_INTERVAL=\"10m\"" })
            #expect(report.entries(.carriedOver).contains { $0.location == MCLocation(file: conf, line: 5) })
            // Nothing of the .mc's own lines is missing (line 14 is DOMAIN(`debian-mta'), whose
            // stand-in settings carry its line when the library is not there).
            #expect(report.entries(.notCarriedOver).allSatisfy { $0.location?.file != mc || $0.location?.line == 14 }, "\(report.entries(.notCarriedOver).map(\.line))")
        }

        let (output, status, path) = await ImportMCFixture.command(mc, maps: maps, in: folder)
        #expect(status == 0, "\(output)")
        let configuration = try SwiftMTAConfiguration.load(path: path)
        #expect(configuration.listeners.map { "\($0.host):\($0.port) \($0.mode)" } == ["0.0.0.0:25 smtp", "127.0.0.1:587 submission"])
        #expect(configuration.smtp.privacy == ["needmailhelo", "needexpnhelo", "needvrfyhelo", "restrictqrun", "restrictexpand", "nobodyreturn", "authwarnings"])
        #expect(configuration.smtp.maximumMessageSize == 10_485_760)
        #expect(configuration.routing.delayChecks)
        #expect(configuration.tables.access == "sequence:{ { text:\(folder.path)/imported-access }, { hash:\(maps)/access } }")
        #expect(configuration.tables.localHostNames == "list:\(maps)/local-host-names")
        #expect(configuration.tls.caPath == "\(maps)/tls/ca")
        #expect(configuration.tls.certificate == "\(maps)/tls/sendmail-server.crt")
        #expect(configuration.tls.key == "\(maps)/tls/sendmail-common.key")
        // Debian's sasl.m4: EXTERNAL first, which libsasl2 offers only with a TLS client certificate.
        #expect(configuration.authentication.mechanisms.contains("DIGEST-MD5") && configuration.authentication.mechanisms.contains("PLAIN"))
        #expect(Set(configuration.authentication.trustedMechanisms).isSubset(of: Set(configuration.authentication.mechanisms)))
        // The access map's own entries still apply behind the added ones.
        try ImportMCFixture.withoutDNS(path)
        let (refused, refusedStatus) = await RouteCommand.run(RouteCommand.Request(
            address: "root@mx.example.test", sender: "<>", clientAddress: "192.0.2.7", configurationFile: path))
        #expect(refusedStatus == 1 && refused.contains("REFUSE"), "\(refused)")
    }

    // MARK: - The command

    @Test("an existing configuration is kept unless --force")
    func overwrite() async throws {
        let folder = try ImportMCFixture.folder("seed-howto")
        let mc = folder.file("maps/sendmail.mc")
        let first = await ImportMCFixture.command(mc, maps: folder.file("maps"), in: folder)
        #expect(first.status == 0, "\(first.output)")
        let second = await ImportMCFixture.command(mc, maps: folder.file("maps"), in: folder)
        #expect(second.status == 73)
        #expect(second.output == "swiftmta import-mc: \(first.configuration) exists; --force replaces it\n")
        let forced = await ImportMCFixture.command(mc, maps: folder.file("maps"), in: folder, force: true)
        #expect(forced.status == 0, "\(forced.output)")
    }

    @Test("the built swiftmta: import-mc --help, and an import from the command line")
    func executable() async throws {
        let swiftmta = "\(ExternalTool.repositoryRoot)/.build/debug/swiftmta"
        let help = try await ExternalTool.runChecked(swiftmta, ["import-mc", "--help"])
        #expect(help.standardOutput.contains("--maps <dir>") && help.standardOutput.contains("--check"))
        let folder = try ImportMCFixture.folder("seed-howto")
        // Smart-host passwords readable by every user: a warning, and check-config's error.
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: folder.file("maps/client-info"))
        let open = try await ExternalTool.run(swiftmta, [
            "import-mc", folder.file("maps/sendmail.mc"), "--maps", folder.file("maps"), "--out", folder.file("open.toml"),
            "--hostname", "mx.example.test",
        ])
        #expect(open.status == 1, "\(open.standardOutput)")
        // The report wraps long lines.
        let flat = open.standardOutput.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
        #expect(flat.contains("holds smart-host passwords and is readable by every user"), "\(open.standardOutput)")
        #expect(flat.contains("chmod 0600 \(folder.file("maps/client-info"))"), "\(open.standardOutput)")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: folder.file("maps/client-info"))
        let run = try await ExternalTool.run(swiftmta, [
            "import-mc", folder.file("maps/sendmail.mc"), "--maps", folder.file("maps"), "--out", folder.file("out/mx.toml"),
            "--hostname", "mx.example.test",
        ])
        // The folder of --out does not exist: a clear error and EX_CANTCREAT.
        #expect(run.status == 73)
        #expect(run.standardOutput.contains("cannot create \(folder.file("out/mx.toml"))"), "\(run.standardOutput)")
        try FileManager.default.createDirectory(atPath: folder.file("out"), withIntermediateDirectories: true)
        let again = try await ExternalTool.run(swiftmta, [
            "import-mc", folder.file("maps/sendmail.mc"), "--maps", folder.file("maps"), "--out", folder.file("out/mx.toml"),
            "--hostname", "mx.example.test",
        ])
        #expect(again.status == 0, "\(again.standardOutput)")
        #expect(FileManager.default.fileExists(atPath: folder.file("out/imported-access")))
        let check = try await ExternalTool.run(swiftmta, ["check-config", folder.file("out/mx.toml")])
        #expect(check.status == 0, "\(check.standardOutput)")
    }
}

import Foundation
import Testing
import TestSupport

/// The whole way, as users run it: swaks (or Postfix's smtp-source, or a cron script with
/// `sendmail -t`) → `swiftmta serve` → the durable spool → delivered into a Maildir or mbox read by
/// Python's mailbox package, to an LMTP server, or relayed to a smart host (aiosmtpd on a
/// submission port with STARTTLS and AUTH, Postfix's smtp-sink).
@Suite("Queue runner end to end: swiftmta serve delivers")
struct RunnerEndToEndTests {
    /// A server whose spool delivers at once (background mode), local mailboxes under var/mail.
    static func server(_ configuration: String, modes: [String] = ["smtp"], prepare: @escaping @Sendable (TemporaryDirectory) throws -> Void = { _ in }) async throws -> ServeProcess {
        try await offThread {
            try ServeProcess(
                "local_users = \"any\"\n" + configuration + "\n[queue]\ndirectory = \"var/spool\"\n", modes: modes, prepare: prepare)
        }
    }

    /// Waits (real time) until `condition` holds.
    static func wait(_ what: String, _ server: ServeProcess, timeout: Duration = .seconds(60), _ condition: @Sendable () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while try await !condition() {
            guard ContinuousClock.now < deadline else { throw TestSupportError("timed out waiting for \(what); server output:\n\(server.output)") }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    static func queueIsEmpty(_ server: ServeProcess) async throws -> Bool {
        let result = try await ExternalTool.runChecked(ServeProcess.executable, ["queue", "list", "--json", "--config", server.directory.file("swiftmta.toml")])
        return result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == "[]"
    }

    @Test("swaks → swiftmta → two Maildirs, read back by Python's mailbox: Return-Path, Delivered-To, Received, the text")
    func maildir() async throws {
        let server = try await Self.server("")
        let result = try await swaks(server["smtp"], [
            "--from", "alice@example.test", "--to", "bob@localhost,carol@mx.example.test",
            "--header", "Subject: to the Maildir", "--body", "Line one.\nFrom here on.\n.dot line\n",
        ])
        #expect(result.standardOutput.contains("<-  250 2.0.0"), "\(result.standardOutput)")
        try await Self.wait("both mailboxes", server) {
            let bob = try MailboxReader.maildir(server.directory.file("var/mail/bob")).count
            let carol = try MailboxReader.maildir(server.directory.file("var/mail/carol")).count
            return bob == 1 && carol == 1
        }
        let message = try #require(try MailboxReader.maildir(server.directory.file("var/mail/bob")).first)
        let headers = try #require(message["headers"] as? [String: String])
        #expect(headers["Return-Path"] == "<alice@example.test>")
        #expect(headers["Delivered-To"] == "bob@localhost")
        #expect(headers["Subject"] == "to the Maildir")
        #expect(headers["Received"]?.contains("by mx.example.test (SwiftMTA) with ESMTP") == true, "\(headers)")
        #expect((message["body"] as? String)?.contains("Line one.\nFrom here on.\n.dot line\n") == true, "\(message)")
        #expect(try await Self.queueIsEmpty(server))
        #expect(server.output.contains("mailer=local, dsn=2.0.0, stat=Sent"))
    }

    @Test("mailbox_format = \"mbox\": one file per user, From lines escaped, read back by Python's mailbox.mbox")
    func mbox() async throws {
        let server = try await Self.server("[local]\nmail_directory = \"var/mail\"\nmailbox_format = \"mbox\"\n")
        for subject in ["first", "second"] {
            _ = try await swaks(server["smtp"], ["--from", "alice@example.test", "--to", "dave@localhost", "--header", "Subject: \(subject)",
                                                  "--body", "From the start\n>From quoted\n"])
        }
        try await Self.wait("two messages in the mbox", server) {
            (try MailboxReader.mbox(server.directory.file("var/mail/dave")).count) == 2
        }
        let messages = try MailboxReader.mbox(server.directory.file("var/mail/dave"))
        #expect(messages.compactMap { ($0["headers"] as? [String: String])?["Subject"] }.sorted() == ["first", "second"])
        // mboxrd escaping, which Python's reader (mboxo) leaves in place.
        #expect(messages.allSatisfy { ($0["body"] as? String)?.contains(">From the start\n>>From quoted\n") == true }, "\(messages)")
        #expect(messages.allSatisfy { ($0["from_line"] as? String)?.hasPrefix("alice@example.test ") == true }, "\(messages)")
    }

    @Test("swaks → swiftmta → a smart host on a submission port: STARTTLS (verify=OK against the test CA), AUTH from authinfo, sender masqueraded")
    func smartHostSubmission() async throws {
        let pki = try await DeliveryTestPKI.shared()
        let peer = try await SubmissionPeer(["--starttls", pki.serverCertificate, pki.serverKey, "--user", "relayuser:s3cret pass"])
        let server = try await Self.server("""
            [maps]
            access = "text:access"
            authinfo = "text:authinfo"
            [routing]
            smart_host = "relay:[127.0.0.1]"
            relay_mailer_port = \(peer.port)
            masquerade_as = "example.com"
            masquerade_envelope = true
            [tls]
            ca_file = "\(pki.caCertificate)"
            """) { directory in
            try directory.write("access", "Connect:127.0.0.1 RELAY\n")
            try directory.write("authinfo", "AuthInfo:127.0.0.1 \"U:relayuser\" \"I:relayuser\" \"P:s3cret pass\" \"M:PLAIN\"\n", permissions: 0o600)
        }
        let result = try await swaks(server["smtp"], [
            "--from", "alice@mx.example.test", "--to", "friend@elsewhere.example",
            "--header", "From: Alice <alice@mx.example.test>", "--header", "Subject: via the smart host",
        ])
        #expect(result.standardOutput.contains("<-  250 2.0.0"), "\(result.standardOutput)")
        try await Self.wait("the smart host's message", server) { !peer.messages.isEmpty }
        let message = try #require(peer.messages.first)
        #expect(message["from"] as? String == "alice@example.com", "envelope masqueraded: \(message)")
        #expect(message["to"] as? [String] == ["friend@elsewhere.example"])
        #expect(message["tls"] as? Bool == true)
        #expect(message["auth"] as? String == "relayuser")
        let text = SubmissionPeer.text(of: message)
        #expect(text.contains("From: Alice <alice@example.com>\r\n"), "header masqueraded: \(text)")
        #expect(text.contains("Subject: via the smart host"))
        try await Self.wait("the delivery log", server) { server.output.contains("stat=Sent (250 2.0.0 Ok: queued as TEST1)") }
        #expect(server.output.contains("STARTTLS=client, relay=127.0.0.1[127.0.0.1]:\(peer.port), version=TLSv1."), "\(server.output)")
        #expect(server.output.contains("verify=OK"), "\(server.output)")
        #expect(server.output.contains("mailer=relay, relay=127.0.0.1[127.0.0.1]:\(peer.port)"))
        #expect(!server.output.contains("s3cret"), "the password never reaches a log line")
    }

    @Test("authinfo credentials are never sent without TLS, unless the TLS policy entry says auth_without_tls=yes")
    func noCredentialsWithoutTLS() async throws {
        let peer = try await SubmissionPeer(["--user", "relayuser:secret", "--auth-without-tls"])
        let base = """
            [maps]
            access = "text:access"
            authinfo = "text:authinfo"
            %POLICY%
            [routing]
            smart_host = "relay:[127.0.0.1]"
            relay_mailer_port = \(peer.port)
            """
        let prepare: @Sendable (TemporaryDirectory) throws -> Void = { directory in
            try directory.write("access", "Connect:127.0.0.1 RELAY\n")
            try directory.write("authinfo", "AuthInfo:127.0.0.1 \"U:relayuser\" \"P:secret\"\n", permissions: 0o600)
            try directory.write("tls_policy", "[127.0.0.1]:\(peer.port) may auth_without_tls=yes\n")
        }
        let strict = try await Self.server(base.replacingOccurrences(of: "%POLICY%", with: ""), prepare: prepare)

        _ = try await swaks(strict["smtp"], ["--from", "alice@example.test", "--to", "friend@elsewhere.example"])
        try await Self.wait("the deferral", strict) { strict.output.contains("stat=Deferred") }
        #expect(peer.messages.isEmpty)
        let listed = try await ExternalTool.runChecked(ServeProcess.executable, ["queue", "list", "--config", strict.directory.file("swiftmta.toml")])
        #expect(listed.standardOutput.contains("<friend@elsewhere.example>"), "\(listed.standardOutput)")
        #expect(strict.output.contains("TLS"), "the deferral names TLS: \(strict.output)")

        let allowed = try await Self.server(base.replacingOccurrences(of: "%POLICY%", with: "tls_policy = \"text:tls_policy\""), prepare: prepare)
        _ = try await swaks(allowed["smtp"], ["--from", "alice@example.test", "--to", "friend@elsewhere.example"])
        try await Self.wait("delivery with auth_without_tls=yes", allowed) { !peer.messages.isEmpty }
        #expect(peer.messages.first?["auth"] as? String == "relayuser")
        #expect(peer.messages.first?["tls"] as? Bool == false)
    }

    @Test("mailertable lmtp:unix:PATH: delivered over LMTP to smtp-sink on a Unix-domain socket")
    func lmtpSocket() async throws {
        let sink = try await offThread { try DeliverySink(["-L"], socket: "lmtp.sock") }
        let socket = try #require(sink.socket)
        let server = try await Self.server("""
            [maps]
            access = "text:access"
            mailertable = "text:mailertable"
            """) { directory in
            try directory.write("access", "Connect:127.0.0.1 RELAY\n")
            try directory.write("mailertable", "lmtp.example lmtp:unix:\(socket)\n")
        }
        _ = try await swaks(server["smtp"], ["--from", "alice@example.test", "--to", "one@lmtp.example,two@lmtp.example"])
        try await Self.wait("the LMTP delivery", server) {
            let empty = try await Self.queueIsEmpty(server)
            return sink.count == 1 && empty
        }
        #expect(server.output.contains("to=<one@lmtp.example>") && server.output.contains("mailer=lmtp"), "\(server.output)")
        #expect(server.output.components(separatedBy: "mailer=lmtp, relay=").count == 3)
    }

    @Test("smtp-source → swiftmta → smtp-sink: 1,000 messages in 20 sessions all arrive, over far fewer sessions")
    func bulkIntoSink() async throws {
        let sink = try await offThread { try DeliverySink() }
        let server = try await Self.server("""
            [maps]
            access = "text:access"
            [routing]
            smart_host = "relay:[127.0.0.1]"
            relay_mailer_port = \(sink.port)
            """) { directory in try directory.write("access", "Connect:127.0.0.1 RELAY\n") }
        let source = try await ExternalTool.run(
            "/usr/bin/env", ["LD_LIBRARY_PATH=\(ExternalTool.postfixRoot)/usr/lib/postfix", "\(ExternalTool.postfixRoot)/usr/sbin/smtp-source",
                             "-s", "20", "-m", "1000", "-l", "4096", "-f", "alice@example.test", "-t", "bob@elsewhere.example",
                             "127.0.0.1:\(server["smtp"])"], timeout: .seconds(300))
        #expect(source.status == 0, "\(source.standardError)")
        try await Self.wait("1,000 messages at the sink", server, timeout: .seconds(300)) { sink.count >= 1000 }
        try await Self.wait("the queue drained", server) { try await Self.queueIsEmpty(server) }
        #expect(sink.count == 1000)
        let output = sink.process.output()
        let sessions = output.range(of: "sess=", options: .backwards).flatMap { Int(output[$0.upperBound...].prefix { $0.isNumber }) } ?? 0
        #expect(sessions > 0 && sessions <= 200, "sessions are reused: \(sessions) for 1,000 messages")
    }

    @Test("a cron-style script: swiftmta sendmail -t -oi (through a link named sendmail), with the server running and without")
    func cronScript() async throws {
        let server = try await Self.server("")
        let link = server.directory.file("bin/sendmail")
        try FileManager.default.createDirectory(atPath: server.directory.file("bin"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: ServeProcess.executable)
        let script = try server.directory.write("nightly.sh", """
            #!/bin/sh
            # What cron runs: a report piped to sendmail -t.
            SWIFTMTA_CONFIG="\(server.directory.file("swiftmta.toml"))" PATH="\(server.directory.file("bin")):$PATH"
            export SWIFTMTA_CONFIG PATH
            {
              echo "To: Operator <operator@localhost>"
              echo "Cc: backup@localhost"
              echo "Bcc: audit@localhost"
              echo "Subject: nightly report $1"
              echo
              echo "All jobs finished."
              echo "."
              echo "(a line with a dot does not end the message with -oi)"
            } | sendmail -t -oi -F "Cron Daemon"
            """, permissions: 0o755)
        let running = try await ExternalTool.run("/bin/sh", [script, "A"])
        #expect(running.status == 0, "\(running.standardError)")
        try await Self.wait("three mailboxes", server) {
            try ["operator", "backup", "audit"].allSatisfy { (try MailboxReader.maildir(server.directory.file("var/mail/\($0)")).count) == 1 }
        }
        let message = try #require(try MailboxReader.maildir(server.directory.file("var/mail/operator")).first)
        let headers = try #require(message["headers"] as? [String: String])
        #expect(headers["Bcc"] == nil, "Bcc removed: \(headers)")
        #expect(headers["From"]?.hasPrefix("Cron Daemon <") == true, "\(headers)")
        #expect(headers["Date"] != nil && headers["Message-ID"] != nil)
        #expect(headers["Received"]?.hasPrefix("(from ") == true, "\(headers)")
        #expect((message["body"] as? String)?.contains(".\n(a line with a dot") == true, "\(message)")

        // No server: the command takes the spool and delivers before it exits.
        server.process.stop()
        let alone = try await ExternalTool.run("/bin/sh", [script, "B"])
        #expect(alone.status == 0, "\(alone.standardError)")
        #expect(try MailboxReader.maildir(server.directory.file("var/mail/operator")).count == 2)
        let mailq = try await ExternalTool.run("/usr/bin/env", ["SWIFTMTA_CONFIG=\(server.directory.file("swiftmta.toml"))", server.directory.file("bin/sendmail"), "-bp"])
        #expect(mailq.standardOutput.contains("is empty"), "\(mailq.standardOutput)")
    }

    @Test("delivery_mode = \"queue\": messages wait; swiftmta queue run -v shows the SMTP dialogue as sendmail -q -v does")
    func queueRunVerbose() async throws {
        let sink = try await offThread { try DeliverySink() }
        let server = try await offThread {
            try ServeProcess("""
                local_users = "any"
                [maps]
                access = "text:access"
                [routing]
                smart_host = "relay:[127.0.0.1]"
                relay_mailer_port = \(sink.port)
                [queue]
                directory = "var/spool"
                delivery_mode = "queue"
                """, modes: ["smtp"]) { directory in try directory.write("access", "Connect:127.0.0.1 RELAY\n") }
        }
        _ = try await swaks(server["smtp"], ["--from", "alice@example.test", "--to", "bob@elsewhere.example"])
        let config = server.directory.file("swiftmta.toml")
        let listed = try await ExternalTool.runChecked(ServeProcess.executable, ["queue", "list", "--config", config])
        #expect(listed.standardOutput.contains("(1 request)") && listed.standardOutput.contains("<bob@elsewhere.example>"), "\(listed.standardOutput)")
        #expect(sink.count == 0)
        let run = try await ExternalTool.runChecked(ServeProcess.executable, ["queue", "run", "-v", "--config", config])
        #expect(run.standardOutput.contains(">>> MAIL FROM:<alice@example.test>"), "\(run.standardOutput)")
        #expect(run.standardOutput.contains(">>> RCPT TO:<bob@elsewhere.example>"))
        #expect(run.standardOutput.contains("250 2.0.0 Ok"))
        #expect(run.standardOutput.contains("stat=Sent"))
        #expect(run.standardOutput.contains("1 message attempted: 1 recipient delivered"))
        #expect(try await Self.queueIsEmpty(server))
        #expect(sink.count == 1)
    }

    @Test("esmtp to MX: the recipient domain's mail exchanger from DNS (dnsmasq), port 25 on a loopback address")
    func mailExchanger() async throws {
        let address = "127.42.\(Int.random(in: 1...250)).\(Int.random(in: 1...250))"
        let sink = try await offThread { try DeliverySink(endpoint: "\(address):25") }
        let dns = try DnsmasqServer(records: [
            "--mx-host=elsewhere.example,mx.elsewhere.example,10", "--host-record=mx.elsewhere.example,\(address)",
            "--local=/elsewhere.example/",
            // This server (mx.example.test) is backup.example's best MX: delivering would loop.
            "--mx-host=backup.example,MX.example.test,10", "--mx-host=backup.example,mx.elsewhere.example,20",
            "--local=/backup.example/",
        ])
        let server = try await Self.server("""
            [maps]
            access = "text:access"
            [dns]
            nameservers = ["\(dns.address)"]
            """) { directory in try directory.write("access", "Connect:127.0.0.1 RELAY\n") }
        _ = try await swaks(server["smtp"], ["--from", "alice@example.test", "--to", "bob@elsewhere.example"])
        try await Self.wait("the MX delivery", server) { sink.count == 1 }
        #expect(server.output.contains("mailer=esmtp, relay=mx.elsewhere.example[\(address)]:25"), "\(server.output)")

        _ = try await swaks(server["smtp"], ["--from", "alice@example.test", "--to", "carol@backup.example"])
        try await Self.wait("the loop refused", server) { server.output.contains("to=<carol@backup.example>") && server.output.contains("dsn=5.3.5") }
        #expect(server.output.contains("MX list for backup.example points back to mx.example.test"), "\(server.output)")
        #expect(sink.count == 1, "nothing for backup.example reached the lower-preference MX")
    }

    @Test("tls_policy: verify delivers to a server whose certificate the CAs vouch for; encrypt defers when STARTTLS is not offered")
    func tlsPolicyLevels() async throws {
        let pki = try await DeliveryTestPKI.shared()
        let verified = try await SubmissionPeer(["--starttls", pki.serverCertificate, pki.serverKey])
        let plain = try await SubmissionPeer([])
        let server = try await Self.server("""
            [maps]
            access = "text:access"
            mailertable = "text:mailertable"
            tls_policy = "text:tls_policy"
            [tls]
            ca_file = "\(pki.caCertificate)"
            """) { directory in
            try directory.write("access", "Connect:127.0.0.1 RELAY\n")
            try directory.write("mailertable", "verified.example esmtp:[127.0.0.1]:\(verified.port)\nplain.example esmtp:[127.0.0.1]:\(plain.port)\n")
            try directory.write("tls_policy", "[127.0.0.1]:\(verified.port) verify match=smarthost.example.test\n[127.0.0.1]:\(plain.port) encrypt\n")
        }
        _ = try await swaks(server["smtp"], ["--from", "alice@example.test", "--to", "one@verified.example,two@plain.example"])
        try await Self.wait("the verified delivery and the deferral", server) {
            !verified.messages.isEmpty && server.output.contains("to=<two@plain.example>") && server.output.contains("stat=Deferred")
        }
        #expect(verified.messages.first?["tls"] as? Bool == true)
        #expect(plain.messages.isEmpty, "encrypt: nothing in the clear")
    }
}

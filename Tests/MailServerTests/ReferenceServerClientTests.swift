import Foundation
import Testing
import TestSupport

/// `swiftmta serve` on loopback against real clients: swaks, Python's smtplib, msmtp and
/// `openssl s_client`, as a user would meet it.
@Suite("swiftmta serve with real clients", .serialized)
struct ReferenceServerClientTests {
    /// A server on the standard configuration with alice (SCRAM only) and bob (plaintext stored too).
    static func server(_ extra: String = "", modes: [String] = ["smtp", "submission", "smtps"], prepare: @escaping @Sendable (TemporaryDirectory) throws -> Void = { _ in }) async throws -> ServeProcess {
        try await offThread {
            try ServeProcess(standardConfiguration + "\n" + extra, modes: modes) { directory in
                try ServeProcess.addUser("alice", password: "wonder land", in: directory)
                try ServeProcess.addUser("bob", password: "b0b-secret", in: directory, plaintext: true)
                try prepare(directory)
            }
        }
    }

    @Test("swaks: EHLO offers STARTTLS and no plaintext AUTH before TLS; after TLS no STARTTLS and PLAIN; a message is accepted")
    func startTLSAndAuth() async throws {
        let server = try await Self.server()
        let result = try await swaks(server["submission"], [
            "--to", "someone@remote.example", "--from", "alice@example.test", "-tls",
            "-a", "PLAIN", "--auth-user", "alice", "--auth-password", "wonder land",
        ])
        let transcript = result.standardOutput
        #expect(result.status == 0, "\(transcript)\(result.standardError)")
        let beforeTLS = transcript.components(separatedBy: " -> STARTTLS\n")[0]
        #expect(beforeTLS.contains("<-  250-STARTTLS"))
        #expect(beforeTLS.contains("<-  250 AUTH SCRAM-SHA-256 CRAM-MD5 DIGEST-MD5\n"), "\(beforeTLS)")
        let afterTLS = try #require(transcript.components(separatedBy: "~> EHLO").last)
        #expect(!afterTLS.contains("STARTTLS"))
        #expect(afterTLS.contains("<~  250 AUTH SCRAM-SHA-256 CRAM-MD5 DIGEST-MD5 PLAIN LOGIN"))
        #expect(afterTLS.contains("<~  235 2.7.0 Authentication successful"))
        #expect(afterTLS.range(of: #"<~  250 2\.0\.0 [0-9A-Za-z]+ Message accepted for delivery"#, options: .regularExpression) != nil, "\(afterTLS)")

        let stored = try await server.stored()
        #expect(stored.count == 1)
        let message = try #require(stored.first)
        #expect(message.envelope.contains("recipient <someone@remote.example>"))
        #expect(message.envelope.contains("authenticated alice"))
        #expect(message.text.hasPrefix("Received: from "))
        #expect(message.text.contains("by mx.example.test (SwiftMTA) with ESMTPSA\r\n\t(version=TLSv1.3 cipher="))
        #expect(message.text.contains("for <someone@remote.example>; "))
        // The user is not shown unless configured, and no log line holds the password.
        #expect(!message.text.contains("authenticated user"))
        #expect(!server.output.contains("wonder land"))
        #expect(server.output.contains("AUTH=server, relay=[127.0.0.1], authid=alice, mech=PLAIN"))
        #expect(server.output.contains("STARTTLS=server, relay=[127.0.0.1], version=TLSv1.3"))
    }

    @Test("PLAIN and LOGIN are refused before TLS (538 5.7.11) and accepted after", arguments: ["PLAIN", "LOGIN"])
    func plaintextNeedsTLS(mechanism: String) async throws {
        let server = try await Self.server()
        // swaks does not try a mechanism that is not offered: a raw client does.
        let client = try await LineClient(port: server["smtp"])
        _ = try await client.readReply()
        try await client.send("EHLO client.example\r\nAUTH \(mechanism)\r\nQUIT\r\n")
        let ehlo = try await client.readReply()
        #expect(!ehlo.contains("PLAIN") && !ehlo.contains("LOGIN"), "\(ehlo)")
        #expect(try await client.readReply() == "538 5.7.11 Encryption required for requested authentication mechanism")
        let accepted = try await swaks(server["smtp"], [
            "--to", "someone@remote.example", "-tls", "-a", mechanism, "--auth-user", "alice", "--auth-password", "wonder land",
            "--quit-after", "AUTH",
        ])
        #expect(accepted.status == 0, "\(accepted.standardOutput)")
        #expect(accepted.standardOutput.contains("235 2.7.0 Authentication successful"))
    }

    @Test("CRAM-MD5 and DIGEST-MD5 against the password file (swaks with Authen::SASL), before TLS", arguments: ["CRAM-MD5", "DIGEST-MD5"])
    func challengeResponse(mechanism: String) async throws {
        let server = try await Self.server()
        let accepted = try await swaks(server["smtp"], [
            "--to", "someone@remote.example", "--from", "bob@example.test",
            "-a", mechanism, "--auth-user", "bob", "--auth-password", "b0b-secret",
        ])
        #expect(accepted.status == 0, "\(accepted.standardOutput)\(accepted.standardError)")
        #expect(accepted.standardOutput.contains("235 2.7.0 Authentication successful"))
        #expect(accepted.standardOutput.contains("Message accepted for delivery"))
        let wrong = try await swaks(server["smtp"], [
            "--to", "someone@remote.example", "-a", mechanism, "--auth-user", "bob", "--auth-password", "not it",
            "--quit-after", "AUTH",
        ])
        #expect(wrong.standardOutput.contains("535 5.7.8 Authentication credentials invalid"))
        // alice has no stored password: CRAM-MD5 and DIGEST-MD5 cannot work for her.
        let noSecret = try await swaks(server["smtp"], [
            "--to", "someone@remote.example", "-a", mechanism, "--auth-user", "alice", "--auth-password", "wonder land",
            "--quit-after", "AUTH",
        ])
        #expect(noSecret.standardOutput.contains("535 5.7.8"))
    }

    @Test("relaying is refused without AUTH, even from loopback, and allowed with it")
    func closedRelay() async throws {
        let server = try await Self.server()
        let refused = try await swaks(server["smtp"], ["--to", "someone@remote.example", "--from", "a@example.test", "--quit-after", "RCPT"])
        #expect(refused.standardOutput.contains("<** 550 5.7.1 Relaying denied"), "\(refused.standardOutput)")
        let local = try await swaks(server["smtp"], ["--to", "root@localhost", "--from", "a@example.test", "--quit-after", "RCPT"])
        #expect(local.standardOutput.contains("<-  250 2.1.5 Recipient ok"), "\(local.standardOutput)")
        let ownName = try await swaks(server["smtp"], ["--to", "root@mx.example.test", "--quit-after", "RCPT"])
        #expect(ownName.standardOutput.contains("250 2.1.5"), "\(ownName.standardOutput)")
        let authenticated = try await swaks(server["smtp"], [
            "--to", "someone@remote.example", "-tls", "-a", "LOGIN", "--auth-user", "alice", "--auth-password", "wonder land",
        ])
        #expect(authenticated.standardOutput.contains("<~  250 2.1.5 Recipient ok"), "\(authenticated.standardOutput)")
    }

    @Test("submission and smtps refuse MAIL before AUTH (530 5.7.0, RFC 6409 §4.3)")
    func submissionNeedsAuth() async throws {
        let server = try await Self.server()
        let result = try await swaks(server["submission"], ["--to", "root@localhost", "--quit-after", "MAIL"])
        #expect(result.standardOutput.contains("<** 530 5.7.0 Authentication required"), "\(result.standardOutput)")
        let implicit = try await swaks(server["smtps"], ["--to", "root@localhost", "--tlsc", "--quit-after", "MAIL"])
        #expect(implicit.standardOutput.contains("<~* 530 5.7.0 Authentication required"), "\(implicit.standardOutput)")
    }

    @Test("Python's smtplib: starttls, login, send_message on the submission port")
    func pythonSmtplib() async throws {
        let server = try await Self.server()
        let program = """
            import smtplib, ssl
            from email.message import EmailMessage
            message = EmailMessage()
            message['From'] = 'alice@example.test'
            message['To'] = 'friend@remote.example'
            message['Subject'] = 'from smtplib'
            message.set_content('Hello over 587.')
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            with smtplib.SMTP('127.0.0.1', \(server["submission"]), timeout=20) as s:
                s.ehlo('client.example')
                print('before', 'starttls' in s.esmtp_features, s.esmtp_features.get('auth', ''))
                s.starttls(context=context)
                s.ehlo('client.example')
                print('after', 'starttls' in s.esmtp_features, s.esmtp_features.get('auth', ''))
                s.login('alice', 'wonder land')
                print(s.send_message(message))
            """
        let output = try await ExternalTool.runChecked("python3", ["-c", program]).standardOutput
        #expect(output == """
            before True  SCRAM-SHA-256 CRAM-MD5 DIGEST-MD5
            after False  SCRAM-SHA-256 CRAM-MD5 DIGEST-MD5 PLAIN LOGIN
            {}

            """)
        let stored = try await server.stored()
        #expect(stored.count == 1)
        #expect(stored.first?.text.contains("Hello over 587.") == true)
        #expect(stored.first?.text.contains("with ESMTPSA") == true)
    }

    @Test("msmtp submits a message over 587 with STARTTLS and AUTH")
    func msmtp() async throws {
        let server = try await Self.server()
        let configuration = try server.directory.write("msmtprc", """
            account default
            host 127.0.0.1
            port \(server["submission"])
            tls on
            tls_starttls on
            tls_certcheck off
            auth plain
            user alice
            password wonder land
            from alice@example.test
            timeout 20

            """, permissions: 0o600)
        let result = try await ExternalTool.run(
            "msmtp", ["-C", configuration, "friend@remote.example"],
            input: "From: alice@example.test\r\nTo: friend@remote.example\r\nSubject: msmtp\r\n\r\nHello from msmtp.\r\n")
        #expect(result.status == 0, "\(result.standardOutput)\(result.standardError)")
        #expect(try await server.stored().first?.text.contains("Hello from msmtp.") == true)
    }

    @Test("openssl s_client: STARTTLS on smtp, implicit TLS on smtps, both at TLS 1.2 or later")
    func opensslClient() async throws {
        let server = try await Self.server()
        let starttls = try await ExternalTool.run(
            "openssl", ["s_client", "-connect", "127.0.0.1:\(server["smtp"])", "-starttls", "smtp", "-ign_eof"],
            input: "EHLO client.example\r\nQUIT\r\n", timeout: .seconds(30))
        #expect(starttls.standardOutput.contains("Protocol  : TLSv1.3") || starttls.standardOutput.contains("New, TLSv1.3"), "\(starttls.standardOutput)")
        #expect(starttls.standardOutput.contains("250 AUTH SCRAM-SHA-256 CRAM-MD5 DIGEST-MD5 PLAIN LOGIN"), "\(starttls.standardOutput)")
        #expect(starttls.standardOutput.contains("221 2.0.0 mx.example.test closing connection"))
        let implicit = try await ExternalTool.run(
            "openssl", ["s_client", "-connect", "127.0.0.1:\(server["smtps"])", "-ign_eof"],
            input: "EHLO client.example\r\nQUIT\r\n", timeout: .seconds(30))
        #expect(implicit.standardOutput.contains("220 mx.example.test ESMTP SwiftMTA ready"), "\(implicit.standardOutput)")
        #expect(!implicit.standardOutput.contains("250-STARTTLS"))
        #expect(implicit.standardOutput.contains("250 AUTH SCRAM-SHA-256 CRAM-MD5 DIGEST-MD5 PLAIN LOGIN"))
        for version in ["-tls1_2", "-tls1_3"] {
            let accepted = try await ExternalTool.run(
                "openssl", ["s_client", "-connect", "127.0.0.1:\(server["smtps"])", version, "-ign_eof"], input: "QUIT\r\n", timeout: .seconds(30))
            #expect(accepted.standardOutput.contains("220 mx.example.test"), "\(version): \(accepted.standardOutput)")
        }
    }

    @Test("a TLS 1.0-only client is refused, with STARTTLS and with implicit TLS")
    func tls10Refused() async throws {
        let server = try await Self.server()
        // SECLEVEL=0 lets this OpenSSL speak TLS 1.0 at all; the server must still refuse.
        let client = ["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"]
        let implicit = try await ExternalTool.run(
            "openssl", ["s_client", "-connect", "127.0.0.1:\(server["smtps"])"] + client, input: "QUIT\r\n", timeout: .seconds(30))
        #expect(implicit.status != 0)
        #expect(!implicit.standardOutput.contains("220 mx.example.test"))
        #expect(implicit.standardError.contains("alert protocol version") || implicit.standardError.contains("unsupported protocol")
            || implicit.standardError.contains("no protocols available"), "\(implicit.standardError)")
        let starttls = try await ExternalTool.run(
            "openssl", ["s_client", "-connect", "127.0.0.1:\(server["smtp"])", "-starttls", "smtp"] + client, input: "QUIT\r\n", timeout: .seconds(30))
        #expect(starttls.status != 0)
        #expect(starttls.standardOutput.contains("Cipher is (NONE)"), "\(starttls.standardOutput)")
    }
}

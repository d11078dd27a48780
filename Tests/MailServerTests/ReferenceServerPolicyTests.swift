import Foundation
import Testing
import TestSupport

/// The seeds' policy in `swiftmta serve`, from outside: Cyrus SASL's sasldb2, virtual users, the
/// access map, a DNS blocklist, and an unauthenticated client on another address trying every
/// classic way through a relay, SMTP smuggling and STARTTLS command injection.
@Suite("swiftmta serve: policy and attacks", .serialized)
struct ReferenceServerPolicyTests {
    /// Runs a Python program that talks to the server; returns what it printed.
    static func python(_ program: String) async throws -> String {
        try await ExternalTool.runChecked("python3", ["-c", program], timeout: .seconds(90)).standardOutput
    }

    @Test("Cyrus SASL: CRAM-MD5, DIGEST-MD5 and (after TLS) PLAIN against a sasldb2 made by saslpasswd2", arguments: ["CRAM-MD5", "DIGEST-MD5", "PLAIN"])
    func cyrus(mechanism: String) async throws {
        let server = try await offThread {
            try ServeProcess("""
                [tls]
                certificate = "var/tls/cert.pem"
                key = "var/tls/key.pem"
                self_signed = true

                [auth]
                backend = "cyrus"
                sasldb = "sasldb2"
                mechanisms = ["CRAM-MD5", "DIGEST-MD5", "PLAIN", "LOGIN"]
                """, modes: ["smtp"]) { directory in
                try ExternalTool.runChecked(
                    "saslpasswd2", ["-p", "-c", "-f", directory.file("sasldb2"), "-a", "swiftmta", "-u", "mx.example.test", "carol"],
                    input: "c4r0l pass")
            }
        }
        #expect(server.output.contains("AUTH through Cyrus SASL (sasldb \(server.directory.path)/sasldb2)"))
        let tls = mechanism == "PLAIN" ? ["-tls"] : []
        let result = try await swaks(server["smtp"], [
            "--to", "someone@remote.example", "-a", mechanism, "--auth-user", "carol", "--auth-password", "c4r0l pass",
            "--quit-after", "RCPT",
        ] + tls)
        #expect(result.standardOutput.contains("235 2.7.0 Authentication successful"), "\(result.standardOutput)\(server.output)")
        #expect(result.standardOutput.contains("250 2.1.5 Recipient ok"), "\(result.standardOutput)")
        let wrong = try await swaks(server["smtp"], [
            "--to", "someone@remote.example", "-a", mechanism, "--auth-user", "carol", "--auth-password", "wrong", "--quit-after", "AUTH",
        ] + tls)
        #expect(wrong.standardOutput.contains("535 5.7.8"), "\(wrong.standardOutput)")
    }

    @Test("a virtual user is accepted, an unknown one refused with the virtusertable's error")
    func virtualUsers() async throws {
        let server = try await offThread {
            try ServeProcess("""
                virtuser_domains = ["virt.example"]

                [maps]
                virtusertable = "text:virtusertable"
                """, modes: ["smtp"]) { directory in
                try directory.write("virtusertable", "info@virt.example\tfriend@remote.example\n@virt.example\terror:5.1.1:550 No such user here\n")
            }
        }
        let accepted = try await swaks(server["smtp"], ["--to", "info@virt.example", "--from", "a@example.test"])
        #expect(accepted.standardOutput.contains("<-  250 2.1.5 Recipient ok"), "\(accepted.standardOutput)")
        #expect(accepted.standardOutput.contains("Message accepted for delivery"))
        let refused = try await swaks(server["smtp"], ["--to", "nobody@virt.example", "--quit-after", "RCPT"])
        #expect(refused.standardOutput.contains("<** 550 5.1.1 No such user here"), "\(refused.standardOutput)")
    }

    @Test("the access map: a REJECTed sender, recipient and client")
    func accessReject() async throws {
        let server = try await offThread {
            try ServeProcess("""
                [maps]
                access = "text:access"

                [relay]
                blacklist_recipients = true
                """, modes: ["smtp"]) { directory in
                try directory.write("access", """
                    From:spammer@bad.example\tREJECT
                    To:blocked@localhost\tREJECT
                    Connect:127.0.0.3\tERROR:"550 5.7.1 Go away"

                    """)
            }
        }
        let sender = try await swaks(server["smtp"], ["--from", "spammer@bad.example", "--to", "root@localhost", "--quit-after", "MAIL"])
        #expect(sender.standardOutput.contains("<** 550 5.7.1 Access denied"), "\(sender.standardOutput)")
        let recipient = try await swaks(server["smtp"], ["--to", "blocked@localhost", "--quit-after", "RCPT"])
        #expect(recipient.standardOutput.contains("<** 550 5.2.1 Mailbox disabled for this recipient"), "\(recipient.standardOutput)")
        // As Sendmail does: the refused client is greeted, and every MAIL gets the entry's reply.
        let client = try await swaks(server["smtp"], ["--to", "root@localhost", "--quit-after", "MAIL"], localAddress: "127.0.0.3")
        #expect(client.standardOutput.contains("<-  220 mx.example.test"), "\(client.standardOutput)")
        #expect(client.standardOutput.contains("<** 550 5.7.1 Go away"), "\(client.standardOutput)")
        #expect(server.output.contains("ruleset=check_mail, arg1=<spammer@bad.example>, relay=[127.0.0.1], reject=550 5.7.1 Access denied"))
    }

    @Test("a DNSBL-listed client (dnsmasq) is refused with the reply template, at MAIL or with delay_checks at RCPT", arguments: [false, true])
    func dnsbl(delayChecks: Bool) async throws {
        let dns = try await offThread {
            try DnsmasqServer(records: ["--host-record=2.0.0.127.dnsbl.example.test,127.0.0.2", "--local=/dnsbl.example.test/"])
        }
        let server = try await offThread {
            try ServeProcess("""
                [relay]
                delay_checks = \(delayChecks)
                dnsbl = [{ zone = "dnsbl.example.test", message = "Rejected: ${client_addr} is listed at dnsbl.example.test" }]

                [dns]
                nameservers = ["\(dns.address)"]
                """, modes: ["smtp"])
        }
        let listed = try await swaks(server["smtp"], ["--to", "root@localhost", "--quit-after", "RCPT"], localAddress: "127.0.0.2")
        // Without delay_checks at MAIL, with them at RCPT, as Sendmail answers.
        #expect(listed.standardOutput.contains("<** 550 5.7.1 Rejected: 127.0.0.2 is listed at dnsbl.example.test"), "\(listed.standardOutput)")
        let refusedAt = listed.standardOutput.components(separatedBy: "<** 550 5.7.1 Rejected")[0]
        #expect(refusedAt.contains("RCPT TO") == delayChecks, "\(listed.standardOutput)")
        let clean = try await swaks(server["smtp"], ["--to", "root@localhost", "--quit-after", "RCPT"])
        #expect(clean.standardOutput.contains("<-  250 2.1.5 Recipient ok"), "\(clean.standardOutput)")
    }

    @Test("from 127.0.0.2 without AUTH, every classic open-relay address form is refused")
    func openRelayForms() async throws {
        let server = try await ReferenceServerClientTests.server(modes: ["smtp"])
        let forms = [
            "user@remote.example", "user%remote.example@localhost", "remote.example!user@localhost",
            #""user@remote.example"@localhost"#, "@localhost:user@remote.example", "@remote.example:user@localhost",
            "user@[192.0.2.1]", "user%remote.example@[127.0.0.1]", "user@remote.example@localhost",
            #""user%remote.example"@localhost"#, "user@localhost.remote.example", "remote.example!user%other.example@localhost",
            "user@remote.example.", "<user@remote.example>",
        ]
        let output = try await Self.python("""
            import smtplib
            s = smtplib.SMTP('127.0.0.1', \(server["smtp"]), source_address=('127.0.0.2', 0), timeout=20)
            s.ehlo('outside.example')
            for form in \(forms.map { "'" + $0.replacingOccurrences(of: "'", with: "\\'") + "'" }):
                s.docmd('MAIL FROM:<a@outside.example>')
                code, text = s.docmd('RCPT TO:<' + form.strip('<>') + '>')
                print(code, form)
                s.docmd('RSET')
            """)
        let lines = output.split(separator: "\n")
        #expect(lines.count == forms.count, "\(output)")
        for line in lines {
            #expect(line.hasPrefix("55") || line.hasPrefix("50"), "accepted: \(line)")
        }
        #expect(try await server.stored().isEmpty)
    }

    @Test("smuggling sequences never end DATA", arguments: ["\\n.\\n", "\\n.\\r\\n", "\\r\\n.\\n", "\\r.\\r", "\\r\\n.\\r", "\\r.\\r\\n", "\\r\\n\\x00.\\r\\n"])
    func smuggling(terminator: String) async throws {
        let server = try await ReferenceServerClientTests.server(modes: ["smtp"])
        let output = try await Self.python("""
            import socket
            s = socket.create_connection(('127.0.0.1', \(server["smtp"])), source_address=('127.0.0.2', 0), timeout=60)
            s.sendall(b'EHLO outside.example\\r\\nMAIL FROM:<a@outside.example>\\r\\nRCPT TO:<root@localhost>\\r\\nDATA\\r\\n')
            s.sendall(b'Subject: first\\r\\n\\r\\nbody' + b'\(terminator)' + b'MAIL FROM:<smuggled@outside.example>\\r\\nRCPT TO:<root@localhost>\\r\\nDATA\\r\\nsmuggled\\r\\n.\\r\\nQUIT\\r\\n')
            data = b''
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk: break
                    data += chunk
            except socket.timeout:
                pass
            print(data.decode())
            """)
        // One 354 (the real DATA), never a second: the smuggled DATA never ran.
        #expect(output.components(separatedBy: "354 ").count == 2, "\(output)")
        #expect(output.components(separatedBy: "250 2.1.0").count == 2, "\(output)")
        for message in try await server.stored() {
            #expect(!message.text.contains("smuggled") || message.text.contains("MAIL FROM:<smuggled"), "a smuggled message was stored: \(message.text)")
            #expect(!message.envelope.contains("smuggled"))
        }
    }

    @Test("a command pipelined after STARTTLS never runs, before or after the 220")
    func startTLSInjection() async throws {
        let server = try await ReferenceServerClientTests.server(modes: ["smtp"])
        let output = try await Self.python("""
            import socket, ssl
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            def reply(f):
                lines = []
                while True:
                    line = f.readline().decode()
                    lines.append(line.strip())
                    if len(line) < 4 or line[3] != '-': return lines
            # 1. In the same packet as STARTTLS.
            s = socket.create_connection(('127.0.0.1', \(server["smtp"])), source_address=('127.0.0.2', 0), timeout=60)
            f = s.makefile('rb')
            reply(f)
            s.sendall(b'EHLO outside.example\\r\\n')
            reply(f)
            s.sendall(b'STARTTLS\\r\\nMAIL FROM:<injected@outside.example>\\r\\n')
            print('starttls', reply(f)[-1])
            t = context.wrap_socket(s, server_hostname='mx.example.test')
            g = t.makefile('rb')
            t.sendall(b'EHLO outside.example\\r\\n')
            reply(g)
            t.sendall(b'RCPT TO:<root@localhost>\\r\\n')
            print('rcpt', reply(g)[-1])
            t.close()
            # 2. After the 220, before the handshake.
            s = socket.create_connection(('127.0.0.1', \(server["smtp"])), source_address=('127.0.0.2', 0), timeout=60)
            f = s.makefile('rb')
            reply(f)
            s.sendall(b'EHLO outside.example\\r\\n')
            reply(f)
            s.sendall(b'STARTTLS\\r\\n')
            print('starttls', reply(f)[-1])
            s.sendall(b'MAIL FROM:<injected@outside.example>\\r\\n')
            rest = b''
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk: break
                    rest += chunk
            except (socket.timeout, ConnectionResetError):
                pass
            print('after', repr(rest[:40]))
            """)
        let lines = output.split(separator: "\n").map(String.init)
        #expect(lines.first == "starttls 220 2.0.0 Ready to start TLS", "\(output)")
        #expect(lines.count > 1 && lines[1] == "rcpt 503 5.5.1 Need MAIL before RCPT", "\(output)")
        #expect(lines.count > 2 && lines[2] == "starttls 220 2.0.0 Ready to start TLS", "\(output)")
        // The plaintext MAIL went to TLS as garbage: no SMTP reply, only a TLS alert or nothing.
        #expect(lines.count > 3 && !lines[3].contains("250"), "\(output)")
        #expect(server.output.contains("octets pipelined after STARTTLS discarded"))
    }
}

extension ReferenceServerPolicyTests {
    @Test("the seed's greeting ($j server ready at $b) and privacy flags (goaway): VRFY 252, EXPN 502, no DSN, MAIL needs HELO")
    func greetingAndPrivacy() async throws {
        let server = try await offThread {
            try ServeProcess("""
                [smtp]
                greeting = "$j server ready at $b"
                privacy = ["goaway"]
                """, modes: ["smtp"])
        }
        let client = try await LineClient(port: server["smtp"])
        let greeting = try await client.readReply()
        #expect(greeting.hasPrefix("220 mx.example.test server ready at "), "\(greeting)")
        // $b: an RFC 5322 date, like "Tue, 1 Dec 2026 09:27:36 +0000".
        let date = greeting.dropFirst("220 mx.example.test server ready at ".count)
        #expect(date.split(separator: " ").count == 6 && date.contains(":") && date.contains(","), "\(date)")
        try await client.send("VRFY root\r\nMAIL FROM:<a@example.test>\r\nEHLO client.example\r\nVRFY root\r\nEXPN staff\r\nQUIT\r\n")
        #expect(try await client.readReply() == "503 5.5.1 I demand that you introduce yourself first")
        #expect(try await client.readReply() == "503 5.5.1 Send HELO/EHLO first")
        let ehlo = try await client.readReply()
        #expect(!ehlo.contains("DSN") && !ehlo.contains("ETRN"), "\(ehlo)")
        #expect(try await client.readReply() == "252 2.5.2 Cannot VRFY user; try RCPT to attempt delivery")
        #expect(try await client.readReply() == "502 5.7.0 Sorry, we do not allow this operation")
        #expect(try await client.readReply() == "221 2.0.0 mx.example.test closing connection")
    }
}

extension ReferenceServerPolicyTests {
    @Test("AUTH= on MAIL is kept from an authenticated client and becomes <> from others (RFC 4954 §5)")
    func authParameter() async throws {
        let server = try await ReferenceServerClientTests.server("\n[maps]\naccess = \"text:access\"\n") { directory in
            try directory.write("access", "Connect:127.0.0.1\tRELAY\n")
        }
        let output = try await ExternalTool.runChecked("python3", ["-c", """
            import smtplib, ssl
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            def send(s, auth, subject):
                codes = [s.docmd('MAIL FROM:<a@example.test> AUTH=' + auth)[0], s.docmd('RCPT TO:<x@remote.example>')[0], s.docmd('DATA')[0]]
                s.send(('Subject: ' + subject + '\\r\\n\\r\\nx\\r\\n.\\r\\n').encode())
                print(*codes, s.getreply()[0])
            s = smtplib.SMTP('127.0.0.1', \(server["smtp"]), timeout=20)
            s.ehlo('client.example')
            send(s, 'forged@example.test', 'unauthenticated')
            s.starttls(context=context)
            s.ehlo('client.example')
            s.login('alice', 'wonder land')
            send(s, 'alice@example.test', 'authenticated')
            s.quit()
            """]).standardOutput
        #expect(output == "250 250 354 250\n250 250 354 250\n", "\(output)")
        let stored = try await server.stored()
        #expect(stored.contains { $0.envelope.contains("auth <>") && $0.text.contains("Subject: unauthenticated") }, "\(stored)")
        #expect(stored.contains { $0.envelope.contains("auth alice@example.test") && $0.text.contains("Subject: authenticated") }, "\(stored)")
    }

    @Test("an access RELAY entry for a client opens the relay; TRUST_AUTH_MECH = [] makes AUTH open nothing")
    func relayEntryAndTrust() async throws {
        let server = try await ReferenceServerClientTests.server("\n[maps]\naccess = \"text:access\"\n") { directory in
            try directory.write("access", "Connect:127.0.0.4\tRELAY\n")
        }
        let relayed = try await swaks(server["smtp"], ["--to", "x@remote.example", "--quit-after", "RCPT"], localAddress: "127.0.0.4")
        #expect(relayed.standardOutput.contains("250 2.1.5 Recipient ok"), "\(relayed.standardOutput)")
        let untrusting = try await offThread {
            try ServeProcess(standardConfiguration.replacingOccurrences(of: "options = [\"p\"]", with: "options = [\"p\"]\ntrusted_mechanisms = []"), modes: ["smtp"]) { directory in
                try ServeProcess.addUser("alice", password: "wonder land", in: directory)
            }
        }
        let authenticated = try await swaks(untrusting["smtp"], [
            "--to", "x@remote.example", "-tls", "-a", "PLAIN", "--auth-user", "alice", "--auth-password", "wonder land", "--quit-after", "RCPT",
        ])
        #expect(authenticated.standardOutput.contains("235 2.7.0"), "\(authenticated.standardOutput)")
        #expect(authenticated.standardOutput.contains("550 5.7.1 Relaying denied"), "\(authenticated.standardOutput)")
    }

    @Test("received_header_user names the authenticated user in the Received: header")
    func receivedHeaderUser() async throws {
        let shown = try await offThread {
            try ServeProcess(standardConfiguration.replacingOccurrences(of: "[smtp]", with: "[smtp]\nreceived_header_user = true"), modes: ["submission"]) { directory in
                try ServeProcess.addUser("alice", password: "wonder land", in: directory)
            }
        }
        let result = try await swaks(shown["submission"], [
            "--to", "x@remote.example", "-tls", "-a", "LOGIN", "--auth-user", "alice", "--auth-password", "wonder land",
        ])
        #expect(result.status == 0, "\(result.standardOutput)")
        let text = try #require(try await shown.stored().first?.text)
        #expect(text.contains("\t(authenticated user alice)\r\n"), "\(text)")
    }

    @Test("an LMTP listener: LHLO and one reply per recipient (Python's smtplib.LMTP)")
    func lmtp() async throws {
        let server = try await offThread { try ServeProcess("local_users = \"any\"", modes: ["lmtp"]) }
        let output = try await ExternalTool.runChecked("python3", ["-c", """
            import smtplib
            s = smtplib.LMTP('127.0.0.1', \(server["lmtp"]))
            print(s.sendmail('a@example.test', ['one@localhost', 'two@localhost'], 'Subject: lmtp\\r\\n\\r\\nx\\r\\n'))
            s.quit()
            """]).standardOutput
        #expect(output == "{}\n")
        let stored = try await server.stored()
        #expect(stored.count == 1)
        #expect(stored.first?.text.contains("with LMTP") == true)
        #expect(stored.first?.envelope.contains("recipient <two@localhost>") == true)
    }
}

extension ReferenceServerPolicyTests {
    @Test("HELP from a Sendmail help file: the seed's one-line smtp topic, another topic, an unknown one")
    func helpFile() async throws {
        let server = try await offThread {
            try ServeProcess("[smtp]\nhelp_file = \"helpfile\"\n", modes: ["smtp"]) { directory in
                try directory.write("helpfile", "#vers\t2\nsmtp\tI'm sorry, Dave, I'm afraid I can't do that.\nmail\tMAIL FROM: <sender> [ <parameters> ]\nmail\tSpecifies the sender; $j is this host.\n")
            }
        }
        let client = try await LineClient(port: server["smtp"])
        _ = try await client.readReply()
        try await client.send("HELP\r\nHELP mail\r\nHELP rcpt\r\n")
        #expect(try await client.readReply() == "214-2.0.0 I'm sorry, Dave, I'm afraid I can't do that.\n214 2.0.0 End of HELP info")
        #expect(try await client.readReply() == "214-2.0.0 MAIL FROM: <sender> [ <parameters> ]\n214-2.0.0 Specifies the sender; mx.example.test is this host.\n214 2.0.0 End of HELP info")
        #expect(try await client.readReply() == "504 5.3.0 HELP topic unknown")
    }

    @Test("a help file that does not parse is a configuration error naming it and its line")
    func badHelpFile() async throws {
        let directory = try TemporaryDirectory()
        try directory.write("helpfile", "#vers\t2\nsmtp\tfine\nno tab here\n")
        let file = try directory.write("swiftmta.toml", "[smtp]\nhelp_file = \"helpfile\"\n[[listen]]\naddress = \"127.0.0.1:0\"\n")
        let result = try await ExternalTool.run(ServeProcess.executable, ["check-config", file])
        #expect(result.status == 78)
        #expect(result.standardOutput.hasPrefix("\(file):2: smtp.help_file: \(directory.path)/helpfile:3: expected topic<TAB>text"), "\(result.standardOutput)")
    }
}

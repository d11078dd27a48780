import Foundation
import MailServer
import Testing
import TestSupport

/// `swiftmta check session`: scripted sessions through the server's own session code and policy,
/// offline. The golden transcripts in CheckTranscripts/ are the reference server's golden session
/// tests: each runs through `SessionCheck` with the seed talk's set-up and must match.
@Suite("swiftmta check session", .serialized)
struct CheckSessionTests {
    static var executable: String { "\(ExternalTool.repositoryRoot)/.build/debug/swiftmta" }
    static let transcripts = URL(fileURLWithPath: ExternalTool.repositoryRoot).appendingPathComponent("Tests/MailServerTests/CheckTranscripts")

    /// The seed talk's set-up (002_…: FEATURE(access_db), virtusertable, delay_checks, a DNSBL,
    /// AUTH with TRUST_AUTH_MECH and confAUTH_OPTIONS p, STARTTLS), as a SwiftMTA configuration
    /// in a private folder, asking `dns` for every DNS question.
    static func talk(dns: DnsmasqServer) throws -> (TemporaryDirectory, String) {
        let directory = try TemporaryDirectory(prefix: "swiftmta-check-talk")
        try directory.write("access", """
            localhost\tRELAY
            real-time.com\tRELAY
            206.10.252\tRELAY
            Connect:192.0.2.66\tREJECT
            From:spammer@bad.example\tREJECT

            """)
        try directory.write("local-host-names", "mn-linux.org\ntanners.org\ntebbe.org\n")
        try directory.write("virtusertable", "amy@tebbe.org\tatebbe@real-time.com\n@tebbe.org\terror:nouser No such user here\n")
        try directory.write("aliases", "postmaster: root\n")
        try directory.write("passwd", "# no users: check session --auth stands in for the exchange\n")
        let config = try directory.write("swiftmta.toml", """
            hostname = "mx.example.test"
            local_host_names = "list:local-host-names"
            local_users = "passwd"

            [maps]
            virtusertable = "text:virtusertable"
            access = "text:access"
            aliases = "text:aliases"

            [relay]
            blacklist_recipients = true
            delay_checks = true
            dnsbl = [{ zone = "rbl.example.test", message = "Mail from ${client_addr} Rejected - see http://rbl.example.test/" }]

            [auth]
            backend = "passwd:passwd"
            mechanisms = ["LOGIN", "PLAIN", "DIGEST-MD5", "CRAM-MD5"]
            trusted_mechanisms = ["LOGIN", "PLAIN", "DIGEST-MD5", "CRAM-MD5"]
            options = ["p"]

            [tls]
            certificate = "cert.pem"
            key = "key.pem"
            self_signed = true

            [dns]
            nameservers = ["\(dns.address)"]

            [[listen]]
            address = "0.0.0.0:25"
            mode = "smtp"

            """)
        return (directory, config)
    }

    /// The talk's DNS: the senders' domain, and 192.0.2.99 listed in the blocklist.
    static func startDNS() async throws -> DnsmasqServer {
        try await offThread {
            try DnsmasqServer(records: [
                "--mx-host=client.example,mx.client.example,10", "--host-record=mx.client.example,192.0.2.200",
                "--host-record=99.2.0.192.rbl.example.test,127.0.0.2", "--local=/rbl.example.test/", "--local=/example/",
            ])
        }
    }

    /// Runs `body` with the talk's set-up and its DNS, then stops dnsmasq on a thread of its own
    /// (waiting for a child process must not hold one of Swift concurrency's threads).
    static func withTalk<T: Sendable>(_ body: (TemporaryDirectory, String) async throws -> T) async throws -> T {
        let dns = try await startDNS()
        let result: Result<T, any Error>
        do {
            let (directory, config) = try talk(dns: dns)
            result = .success(try await body(directory, config))
        } catch {
            result = .failure(error)
        }
        try await offThread { dns.stop() }
        return try result.get()
    }

    static var goldenNames: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: transcripts.path)) ?? [])
            .filter { $0.hasSuffix(".txt") }.map { String($0.dropLast(4)) }.sorted()
    }

    /// The options a golden transcript names on its `# options:` line.
    static func request(for transcript: String, config: String) throws -> SessionCheck.Request {
        let line = try #require(transcript.split(separator: "\n").first { $0.hasPrefix("# options: ") })
        let words = line.dropFirst("# options: ".count).split(separator: " ").map(String.init)
        var request = SessionCheck.Request(configurationFile: config, clientAddress: "")
        var index = 0
        while index < words.count {
            switch words[index] {
            case "--client-ip": index += 1; request.clientAddress = words[index]
            case "--client-host": index += 1; request.clientHost = words[index]
            case "--auth": index += 1; request.authentication = words[index]
            case "--listener": index += 1; request.listener = words[index]
            case "--tls": request.tls = true
            default: throw TestSupportError("unknown option \(words[index]) in the transcript's # options: line")
            }
            index += 1
        }
        return request
    }

    @Test("the golden transcripts of the seed talk's set-up", arguments: CheckSessionTests.goldenNames)
    func golden(name: String) async throws {
        try await Self.withTalk { directory, config in
            let transcript = try String(contentsOf: Self.transcripts.appendingPathComponent("\(name).txt"), encoding: .utf8)
            let (output, status) = await SessionCheck.run(try Self.request(for: transcript, config: config), transcript: transcript)
            #expect(status == SessionCheck.ExitStatus.ran, "\(name).txt:\n\(output)")
            // Nothing was made or delivered: the stand-in certificate lived in a folder of its own.
            #expect(!FileManager.default.fileExists(atPath: directory.file("cert.pem")))
        }
    }

    @Test("there are golden transcripts for relaying, AUTH, access at connect with delay_checks, a DNSBL, STARTTLS and smuggling")
    func goldenCoverage() {
        for name in ["relay-refused-without-auth", "relay-accepted-with-auth", "connect-reject-delay-checks", "dnsbl-listed-client",
                     "starttls-injection", "smuggling-bare-lf"] {
            #expect(Self.goldenNames.contains(name), "\(name).txt is missing")
        }
    }

    @Test("a session that differs from its golden transcript exits 1 and shows the difference")
    func differs() async throws {
        try await Self.withTalk { directory, config in
            let transcript = """
                S: 220 mx.example.test ESMTP SwiftMTA ready
                C: EHLO client.example
                C: MAIL FROM:<someone@client.example>
                C: RCPT TO:<user@other.example>
                S: 250 2.1.5 Recipient ok
                """
            let (output, status) = await SessionCheck.run(.init(configurationFile: config, clientAddress: "192.0.2.55"), transcript: transcript)
            #expect(status == SessionCheck.ExitStatus.differs)
            #expect(output.contains("-S: 250 2.1.5 Recipient ok"), "\(output)")
            #expect(output.contains("+S: 550 5.7.1 Relaying denied. IP name lookup failed [192.0.2.55]"), "\(output)")
        }
    }

    @Test("the built command: plain lines (CRLF or LF) on standard input, every reply and decision, nothing stored")
    func plainTranscript() async throws {
        try await Self.withTalk { directory, config in
            let input = "EHLO client.example\r\nMAIL FROM:<someone@client.example>\nRCPT TO:<amy@tebbe.org>\nDATA\nSubject: hello\n\n# not a comment: text\n.\nQUIT\n"
            let result = try await ExternalTool.run(Self.executable, ["check", "session", "--config", config, "--client-ip", "192.0.2.55"], input: input)
            #expect(result.status == 0, "\(result.standardOutput)\(result.standardError)")
            let output = result.standardOutput
            #expect(output.contains("C: # not a comment: text"))
            // The CRLF of the first line ends it as LF does.
            #expect(output.contains("C: EHLO client.example\nS: 250-mx.example.test Hello client.example\n"), "\(output)")
            #expect(output.contains("C: MAIL FROM:<someone@client.example>\nP: mail <someone@client.example>"), "\(output)")
            #expect(output.contains("P: rcpt <amy@tebbe.org>: OK 250 2.1.5 Recipient ok (local domain tebbe.org)"), "\(output)")
            #expect(output.contains("P:   text:\(directory.path)/virtusertable amy@tebbe.org → atebbe@real-time.com"), "\(output)")
            #expect(output.contains("P: message 1 from <someone@client.example> to <amy@tebbe.org>: accepted (check session stores and delivers nothing)"))
            #expect(output.contains("S: 250 2.0.0 check-1 accepted by the policy; check session queues and delivers nothing"), "\(output)")
            #expect(output.hasSuffix("S: 221 2.0.0 mx.example.test closing connection\nX: the server closed the connection\n"), "\(output)")
            let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
            #expect(files == ["access", "aliases", "local-host-names", "passwd", "swiftmta.toml", "virtusertable"], "check session made files: \(files)")
        }
    }

    @Test("the server's log lines (L:) and its TLS facts (T:) are shown")
    func logAndTLS() async throws {
        try await Self.withTalk { directory, config in
            let (output, status) = await SessionCheck.run(
                .init(configurationFile: config, clientAddress: "192.0.2.55", tls: true, logLevel: "info"),
                transcript: "EHLO client.example\nMAIL FROM:<someone@client.example>\nRCPT TO:<nobody@tebbe.org>\nQUIT\n")
            #expect(status == 0)
            #expect(output.contains("T: TLS established: version=TLSv1.3"), "\(output)")
            #expect(output.contains("L: info: STARTTLS=server, relay=[192.0.2.55], version=TLSv1.3"), "\(output)")
            #expect(output.contains("S: 553 5.3.0 No such user here"), "\(output)")
            #expect(output.contains("L: notice: ruleset=check_rcpt, arg1=<nobody@tebbe.org>"), "\(output)")
        }
    }

    @Test("a transcript the server stops reading: the rest is not sent, and the run says so")
    func serverCloses() async throws {
        try await Self.withTalk { directory, config in
            let (output, _) = await SessionCheck.run(.init(configurationFile: config, clientAddress: "192.0.2.55"), transcript: "QUIT\nNOOP\nNOOP\n")
            #expect(output.contains("X: the server closed the connection\n# 2 transcript lines were not sent"), "\(output)")
        }
    }

    @Test("--auth with a mechanism the server does not offer: its refusal is shown, and the run says the session stayed unauthenticated")
    func authenticationRefused() async throws {
        try await Self.withTalk { directory, config in
            let (output, _) = await SessionCheck.run(
                .init(configurationFile: config, clientAddress: "192.0.2.55", tls: true, authentication: "SCRAM-SHA-256:amy"),
                transcript: "EHLO client.example\nQUIT\n")
            #expect(output.contains("S: 504 5.5.4 Unrecognized authentication type"), "\(output)")
            #expect(output.contains("# --auth SCRAM-SHA-256:amy: the server never took the AUTH"), "\(output)")
        }
    }

    @Test("an AUTH the transcript sends itself runs the real backend: a wrong password is refused")
    func realAuthentication() async throws {
        try await Self.withTalk { directory, config in
            // PLAIN for amy with a password she does not have (the file has no users).
            let (output, _) = await SessionCheck.run(
                .init(configurationFile: config, clientAddress: "192.0.2.55", tls: true),
                transcript: "EHLO client.example\nAUTH PLAIN AGFteQB3cm9uZw==\nQUIT\n")
            #expect(output.contains("S: 535 5.7.8"), "\(output)")
            #expect(!output.contains("P: authenticated"), "\(output)")
        }
    }

    @Test("with --auth, the transcript's own AUTH after the check's is refused as a second AUTH (RFC 4954 §4)")
    func secondAuthentication() async throws {
        try await Self.withTalk { directory, config in
            let (output, _) = await SessionCheck.run(
                .init(configurationFile: config, clientAddress: "192.0.2.55", tls: true, authentication: "PLAIN:amy"),
                transcript: "EHLO client.example\nAUTH PLAIN AGFteQB3cm9uZw==\nQUIT\n")
            #expect(output.contains("I: AUTH PLAIN (--auth: stands for a successful exchange as amy)\nP: authenticated as amy with PLAIN\nS: 235 2.7.0 Authentication successful"), "\(output)")
            #expect(output.contains("C: AUTH PLAIN AGFteQB3cm9uZw==\nS: 503 5.5.1 Already authenticated"), "\(output)")
        }
    }

    @Test("bad options, configurations and transcripts: a clear error and the documented status",
          arguments: [
            (["--client-ip", "300.1.1.1"], "", Int32(64), "--client-ip \"300.1.1.1\" is not an IPv4 or IPv6 address"),
            (["--client-ip", "192.0.2.1", "--auth", "amy"], "", 64, "--auth takes MECH:USER"),
            (["--client-ip", "192.0.2.1", "--listener", "pop3"], "", 64, "--listener must be smtp, submission, smtps or lmtp"),
            (["--client-ip", "192.0.2.1", "--config", "/nonexistent/swiftmta.toml"], "", 2, "/nonexistent/swiftmta.toml"),
            (["--client-ip", "192.0.2.1"], "C: EHLO x\nR: bad \\q escape\n", 65, "transcript line 2: unknown escape \\q"),
          ])
    func badInput(arguments: [String], input: String, status: Int32, message: String) async throws {
        let directory = try TemporaryDirectory(prefix: "swiftmta-check-cwd")
        let result = try await offThread {
            try ExternalTool.run(Self.executable, ["check", "session"] + arguments, input: input)
        }
        _ = directory
        #expect(result.status == status, "\(result.standardOutput)\(result.standardError)")
        #expect((result.standardOutput + result.standardError).contains(message), "\(result.standardOutput)\(result.standardError)")
    }

    @Test("--tls without a certificate in the configuration is a configuration error")
    func tlsWithoutCertificate() async throws {
        let directory = try TemporaryDirectory(prefix: "swiftmta-check-notls")
        let config = try directory.write("swiftmta.toml", "hostname = \"mx.example.test\"\n[[listen]]\naddress = \"127.0.0.1:25\"\nmode = \"smtp\"\n")
        let (output, status) = await SessionCheck.run(.init(configurationFile: config, clientAddress: "192.0.2.1", tls: true), transcript: "QUIT\n")
        #expect(status == SessionCheck.ExitStatus.configurationError)
        #expect(output.contains("--tls needs a TLS certificate"), "\(output)")
    }
}

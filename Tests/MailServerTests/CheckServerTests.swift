import Foundation
import MailServer
import Testing
import TestSupport

/// `swiftmta check server` against real servers on loopback: SwiftMTA's embedded default (every
/// probe passes), Postfix's smtp-sink (accepts everything: the relay probes fail), and a server
/// written to be vulnerable (each of its flaws is found).
@Suite("swiftmta check server")
struct CheckServerTests {
    static var executable: String { "\(ExternalTool.repositoryRoot)/.build/debug/swiftmta" }

    /// One report line: status, category and name, evidence.
    struct Line {
        var status: String
        var probe: String
        var evidence: String
    }

    static func lines(_ output: String) -> [Line] {
        output.split(separator: "\n").dropFirst().filter { !$0.hasPrefix("summary: ") }.map { text in
            let status = String(text.prefix { $0 != " " })
            let rest = text.drop { $0 != " " }.drop { $0 == " " }
            let colon = rest.firstRange(of: ": ")!
            return Line(status: status, probe: String(rest[..<colon.lowerBound]), evidence: String(rest[colon.upperBound...]))
        }
    }

    static func check(_ arguments: [String]) async throws -> ExternalTool.Output {
        try await ExternalTool.run(executable, ["check", "server"] + arguments, timeout: .seconds(240))
    }

    /// The embedded default as `swiftmta serve` runs it without a configuration, its listeners on
    /// port 0 of 127.0.0.1.
    static var embeddedDefault: String {
        let text = SwiftMTAConfiguration.embeddedDefaultText
        return String(text[..<text.range(of: "[[listen]]")!.lowerBound])
    }

    @Test("SwiftMTA's embedded default: every probe passes, from a client it does not trust")
    func embedded() async throws {
        let server = try await offThread {
            // Queue-only, so that what the probes left stays in the spool for stored() to read.
            try ServeProcess(
                Self.embeddedDefault.replacingOccurrences(of: "[queue]\n", with: "[queue]\ndelivery_mode = \"queue\"\n"),
                modes: ["smtp"], resolvesSenders: true
            ) { directory in
                try FileManager.default.createDirectory(atPath: directory.file("var/auth"), withIntermediateDirectories: true)
                try directory.write("var/auth/passwd", "")
            }
        }
        let result = try await Self.check([
            "127.0.0.1:\(server["smtp"])", "--from-ip", "127.0.0.2", "--recipient", "root@localhost",
            "--ca-file", server.directory.file("var/tls/cert.pem"),
        ])
        #expect(result.status == 0, "\(result.standardOutput)\(result.standardError)")
        let lines = Self.lines(result.standardOutput)
        #expect(lines.count >= 40, "\(result.standardOutput)")
        for line in lines {
            #expect(line.status == "pass", "\(line.status) \(line.probe): \(line.evidence)")
        }
        for category in ["relay", "smuggling", "starttls", "auth", "tls", "certificate", "limits"] {
            #expect(lines.contains { $0.probe.hasPrefix(category + " ") }, "no \(category) probe")
        }
        #expect(result.standardOutput.hasSuffix("0 FAIL, 0 warn, 0 skipped\n"), "\(result.standardOutput)")
        // What the probes left in the server: nothing relayed; only smuggling probe messages, and
        // only to the test mailbox.
        let stored = try await server.stored()
        #expect(stored.count == lines.filter { $0.probe.hasPrefix("smuggling ") && $0.evidence.hasPrefix("one message, one reply: 250") }.count)
        for message in stored {
            #expect(message.envelope.split(separator: "\n").filter { $0.hasPrefix("recipient ") } == ["recipient <root@localhost>"], "\(message.envelope)")
            #expect(!message.envelope.contains("relay-test"), "\(message.envelope)")
            #expect(message.text.contains("swiftmta check server: SMTP smuggling probe"), "\(message.text)")
        }
    }

    @Test("Postfix's smtp-sink accepts every recipient: every relay probe fails, and so does the run")
    func smtpSink() async throws {
        let port = try LoopbackPort.free()
        let sink = try BackgroundProcess("env", [
            "LD_LIBRARY_PATH=\(ExternalTool.postfixRoot)/usr/lib/postfix", "\(ExternalTool.postfixRoot)/usr/sbin/smtp-sink",
        ] + (getuid() == 0 ? ["-u", "nobody"] : []) + ["127.0.0.1:\(port)", "64"])
        do {
            try await offThread { try LoopbackPort.waitUntilAccepting(port) }
            try await Self.probeSink(port: port)
        } catch {
            try await offThread { sink.stop() }
            throw error
        }
        // Waiting for a child process must not hold one of Swift concurrency's threads.
        try await offThread { sink.stop() }
    }

    static func probeSink(port: Int) async throws {
        let result = try await Self.check(["127.0.0.1:\(port)", "--recipient", "test@smtp-sink"])
        #expect(result.status == 1, "\(result.standardOutput)\(result.standardError)")
        let relay = Self.lines(result.standardOutput).filter { $0.probe.hasPrefix("relay ") }
        #expect(relay.count >= 15)
        for line in relay {
            #expect(line.status == "FAIL", "\(line.probe): \(line.evidence)")
            #expect(line.evidence.hasPrefix("RCPT 250 2.1.5 Ok"), "\(line.evidence)")
        }
        let all = Self.lines(result.standardOutput)
        #expect(all.first { $0.probe == "tls STARTTLS" }?.status == "FAIL")
        #expect(all.first { $0.probe == "auth PLAIN before TLS" }?.status == "FAIL")
        #expect(all.first { $0.probe == "limits command flood" }?.status == "FAIL")

        let json = try await Self.check(["127.0.0.1:\(port)", "--json"])
        #expect(json.status == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any])
        let probes = try #require(object["probes"] as? [[String: Any]])
        let summary = try #require(object["summary"] as? [String: Int])
        #expect(summary["probes"] == probes.count)
        #expect(summary["fail"] == probes.filter { $0["status"] as? String == "fail" }.count)
        #expect(probes.contains { $0["category"] as? String == "relay" && $0["status"] as? String == "fail" })
        // Without --recipient, the smuggling probes are skipped, not guessed.
        #expect(probes.filter { $0["category"] as? String == "smuggling" }.allSatisfy { $0["status"] as? String == "skip" })
    }

    @Test("a deliberately vulnerable server: bare-LF end of data, a command run after STARTTLS, PLAIN before TLS — each found")
    func vulnerable() async throws {
        let server = try await offThread { try VulnerableSMTPServer() }
        do {
            try await Self.probeVulnerable(server)
        } catch {
            try await offThread { server.stop() }
            throw error
        }
        try await offThread { server.stop() }
    }

    static func probeVulnerable(_ server: VulnerableSMTPServer) async throws {
        let result = try await Self.check([
            "127.0.0.1:\(server.port)", "--recipient", "postmaster@vuln.example.test", "--ca-file", server.certificate,
        ])
        #expect(result.status == 1, "\(result.standardOutput)\(result.standardError)")
        let lines = Self.lines(result.standardOutput)
        func status(_ probe: String) -> String? { lines.first { $0.probe == probe }?.status }
        for flaw in [
            "smuggling <LF>.<LF>", "smuggling <CR><LF>.<LF>", "smuggling <LF>.<CR><LF>",
            "starttls command pipelined after STARTTLS", "auth PLAIN before TLS", "auth LOGIN before TLS",
            "relay swiftmta-relay-test%relay-test.invalid@vuln.example.test", "relay relay-test.invalid!swiftmta-relay-test@vuln.example.test",
            "limits overlong command line", "limits NUL in a command", "limits command flood",
        ] {
            #expect(status(flaw) == "FAIL", "\(flaw): \(lines.first { $0.probe == flaw }.map { "\($0.status) \($0.evidence)" } ?? "missing")\n\(result.standardOutput)")
        }
        // This OpenSSL offers TLS 1.0 to a probe at security level 0; the server takes it.
        #expect(["FAIL", "skip"].contains(status("tls TLS 1.0")), "\(result.standardOutput)")
        // What it does right is not reported as wrong.
        for sound in ["smuggling <CR>.<CR>", "relay swiftmta-relay-test@relay-test.invalid", "tls TLS 1.3", "certificate name", "certificate chain"] {
            #expect(status(sound) == "pass", "\(sound)\n\(result.standardOutput)")
        }
        let smuggled = try #require(lines.first { $0.probe == "smuggling <LF>.<LF>" })
        #expect(smuggled.evidence.contains("then the smuggled NOOP got 250 2.0.0 ok"), "\(smuggled.evidence)")
        // Everything the vulnerable server queued went to the test mailbox, nothing elsewhere.
        let queued = server.output.split(separator: "\n").filter { $0.hasPrefix("queued for") }
        #expect(!queued.isEmpty)
        for line in queued {
            #expect(line == "queued for postmaster@vuln.example.test", "\(server.output)")
        }
    }

    @Test("bad options: a clear error and status 64",
          arguments: [
            (["mx.example.test:0"], "is not HOST, HOST:PORT"),
            (["127.0.0.1", "--from-ip", "nowhere"], "--from-ip \"nowhere\" is not an IPv4 or IPv6 address"),
            (["127.0.0.1", "--recipient", "no-at-sign"], "--recipient \"no-at-sign\" is not a mailbox"),
            (["127.0.0.1", "--relay-domain", "bad domain"], "--relay-domain \"bad domain\" is not a domain name"),
          ])
    func badOptions(arguments: [String], message: String) async throws {
        let result = try await Self.check(arguments)
        #expect(result.status == 64, "\(result.standardOutput)\(result.standardError)")
        #expect(result.standardError.contains(message), "\(result.standardError)")
    }

    @Test("a server that cannot be reached: status 2 and the reason")
    func unreachable() async throws {
        let port = try LoopbackPort.free()
        let result = try await Self.check(["127.0.0.1:\(port)", "--timeout", "5"])
        #expect(result.status == 2, "\(result.standardOutput)\(result.standardError)")
        #expect(result.standardOutput.contains("cannot connect to 127.0.0.1:\(port)"), "\(result.standardOutput)")
    }

    @Test("HOST[:PORT] forms that are taken", arguments: ["mx.example.org", "mx.example.org:2525", "[::1]:587", "2001:db8::25", "[2001:db8::25]", "192.0.2.1:465"])
    func targets(text: String) {
        #expect(ServerCheck.Request(target: text).problem == nil)
    }

    @Test("HOST[:PORT] forms that are refused", arguments: ["", "mx.example.org:", "mx.example.org:70000", "[::1", "[::1]x", "user@mx.example.org"])
    func badTargets(text: String) {
        #expect(ServerCheck.Request(target: text).problem?.contains("is not HOST, HOST:PORT") == true)
    }
}

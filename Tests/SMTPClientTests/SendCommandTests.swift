import Foundation
import SMTPProtocol
import TestSupport
import Testing

/// `swiftmta send` as a user runs it: the built program, a message on standard input, a real
/// server on loopback, and the exit status.
@Suite("swiftmta send, as a user runs it")
struct SendCommandTests {
    static var swiftmta: String {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("swiftmta").path
    }

    static func run(_ arguments: [String], input: String = "Subject: cli\n\nsent by swiftmta send\n") async throws -> ExternalTool.Output {
        guard FileManager.default.isExecutableFile(atPath: swiftmta) else {
            throw TestSupportError("\(swiftmta) is not built (swift build --build-tests builds it)")
        }
        return try await ExternalTool.run(swiftmta, ["send"] + arguments, input: input)
    }

    @Test("every recipient accepted: exit 0; the message arrives with CRLF line ends")
    func accepted() async throws {
        let (peer, log) = try await LoopbackPeer.aiosmtpd()
        let output = try await Self.run(["--from", "alice@client.example.test", "--to", "bob@example.test", "--server", "127.0.0.1:\(peer.port)", "-v"])
        #expect(output.status == 0, "\(output.standardError)")
        #expect(output.standardOutput.contains("<bob@example.test>: 250 2.0.0 Ok: queued"))
        let message = try #require(LoopbackPeer.messages(in: log).first)
        #expect(LoopbackPeer.text(of: message) == "Subject: cli\r\n\r\nsent by swiftmta send\r\n")
    }

    @Test("one recipient refused for good: exit 69 and a line with the server's reply")
    func permanent() async throws {
        let (peer, _) = try await LoopbackPeer.aiosmtpd(["--refuse", "nobody@example.test"])
        let output = try await Self.run([
            "--from", "alice@client.example.test", "--to", "bob@example.test", "--to", "nobody@example.test",
            "--server", "127.0.0.1:\(peer.port)"])
        #expect(output.status == 69)
        #expect(output.standardError == "<nobody@example.test>: 550 5.1.1 <nobody@example.test>: Recipient address rejected: User unknown\n")
    }

    @Test("refused for now: exit 75", arguments: [["-r", "rcpt"], ["-Q", "mail"]])
    func temporary(sinkOptions: [String]) async throws {
        let sink = try SmtpSink(sinkOptions)
        let output = try await Self.run(["--from", "alice@client.example.test", "--to", "bob@example.test", "--server", "127.0.0.1:\(sink.port)"])
        #expect(output.status == 75, "\(output.standardError)")
        #expect(output.standardError.contains("<bob@example.test>: 4"))
    }

    @Test("nothing listening: exit 75 and the error names the stage")
    func unreachable() async throws {
        let port = try LoopbackPort.free()
        let output = try await Self.run(["--from", "alice@client.example.test", "--to", "bob@example.test", "--server", "127.0.0.1:\(port)"])
        #expect(output.status == 75)
        #expect(output.standardError.hasPrefix("swiftmta send: connect: connection failed with 127.0.0.1[127.0.0.1]:\(port)"))
    }

    @Test("STARTTLS required, AUTH with a password file; the password never shows")
    func authenticated() async throws {
        let pki = try await ClientTestPKI.shared()
        let (peer, log) = try await LoopbackPeer.aiosmtpd(["--starttls", pki.serverCertificate, pki.serverKey, "--user", "alice:Tr0ub4dor"])
        let directory = try TemporaryDirectory()
        let passwordFile = try directory.write("password", "Tr0ub4dor\n", permissions: 0o600)
        let output = try await Self.run([
            "--from", "alice@client.example.test", "--to", "bob@example.test", "--server", "localhost:\(peer.port)", "--starttls",
            "--ca-file", pki.caCertificate, "--auth-user", "alice", "--password-file", passwordFile, "-v"])
        #expect(output.status == 0, "\(output.standardError)")
        #expect(output.standardOutput.contains("tls version=TLSv1.3, verify=OK"))
        #expect(output.standardOutput.contains("auth PLAIN"))
        #expect(LoopbackPeer.messages(in: log).first?["auth"] as? String == "alice")

        try directory.write("wrong", "not-it\n", permissions: 0o600)
        let refused = try await Self.run([
            "--from", "alice@client.example.test", "--to", "bob@example.test", "--server", "localhost:\(peer.port)", "--starttls",
            "--ca-file", pki.caCertificate, "--auth-user", "alice", "--password-file", directory.file("wrong")])
        #expect(refused.status == 69)
        #expect(refused.standardError.contains("AUTH: authentication failed"))
        #expect(!refused.standardError.contains("not-it"))
    }

    @Test("arguments that do not parse: exit 64 with what is wrong", arguments: [
        (["--from", "alice@", "--to", "bob@example.test", "--server", "127.0.0.1"], "--from alice@"),
        (["--from", "alice@client.example.test", "--to", "bob@example.test"], "give --server"),
        (["--from", "alice@client.example.test", "--to", "bob@example.test", "--server", "127.0.0.1:99999"], "port out of range"),
        (["--from", "alice@client.example.test", "--to", "bob@example.test", "--server", "h", "--starttls", "--tls"], "at most one of"),
    ])
    func usage(arguments: [String], complaint: String) async throws {
        let output = try await Self.run(arguments)
        #expect(output.status == 64)
        #expect(output.standardError.contains(complaint), "\(output.standardError)")
    }

    @Test("a password file that cannot be read: exit 66")
    func noPasswordFile() async throws {
        let output = try await Self.run([
            "--from", "alice@client.example.test", "--to", "bob@example.test", "--server", "127.0.0.1:25",
            "--auth-user", "alice", "--password-file", "/nonexistent/password"])
        #expect(output.status == 66)
        #expect(output.standardError.contains("/nonexistent/password: No such file or directory"))
    }

    @Test("--mx: the recipients' domain through dnsmasq")
    func mailExchangers() async throws {
        let sink = try SmtpSink()
        let dns = try DnsmasqServer(records: ["--local=/example.test/", "--mx-host=example.test,mx.example.test,10", "--host-record=mx.example.test,127.0.0.1"])
        let output = try await Self.run([
            "--from", "alice@client.example.test", "--to", "bob@example.test", "--mx", "--nameserver", dns.address, "-v",
            "--server", "example.test:\(sink.port)"])
        #expect(output.status == 0, "\(output.standardError)")
        #expect(output.standardOutput.hasPrefix("server mx.example.test[127.0.0.1]:\(sink.port)"))
    }
}

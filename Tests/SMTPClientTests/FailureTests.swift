import Foundation
import NIOCore
import SMTPClient
import SMTPProtocol
import TestSupport
import Testing

/// How sending fails, end to end over loopback: a server that never answers, a reply injected
/// around STARTTLS, a refused BDAT chunk, a body that breaks, a cancelled task, implicit TLS.
@Suite("SMTPClient failure cases")
struct FailureTests {
    static let sender = Mail.mailbox("alice@client.example.test")
    static let recipient = Mail.mailbox("bob@example.test")

    @Test("a server that never answers: the greeting times out, and the error names the stage")
    func neverAnswers() async throws {
        let silent = try SilentTCPPort()
        var configuration = Mail.configuration()
        configuration.timeouts[.greeting] = .milliseconds(300)
        let started = ContinuousClock.now
        let error = await #expect(throws: SMTPClientError.self) {
            try await SMTPClient.send(
                "Subject: x\r\n\r\nx\r\n", from: Self.sender, to: [Self.recipient],
                via: .smartHost("127.0.0.1", port: silent.port, tls: .none), configuration: configuration)
        }
        let failure = try #require(error)
        #expect(failure.kind == .timedOut)
        #expect(failure.stage == .greeting)
        #expect(failure.isTemporary)
        #expect(failure.message.contains("greeting timeout"))
        // The configured 300 ms applied, not the default 5 minutes (RFC 5321 §4.5.3.2.1); the bound
        // is loose because a loaded machine stretches every wait.
        #expect(ContinuousClock.now - started < .seconds(120))
    }

    @Test("cancelling the task closes the connection and says so")
    func cancelled() async throws {
        let silent = try SilentTCPPort()
        let task = Task {
            try await SMTPClient.send(
                "Subject: x\r\n\r\nx\r\n", from: Self.sender, to: [Self.recipient],
                via: .smartHost("127.0.0.1", port: silent.port, tls: .none), configuration: Mail.configuration(timeout: .seconds(60)))
        }
        try await Task.sleep(for: .milliseconds(200))
        task.cancel()
        let result = await task.result
        guard case .failure(let error) = result else {
            Issue.record("the send succeeded")
            return
        }
        let failure = try #require(error as? SMTPClientError)
        #expect(failure.kind == .cancelled)
        #expect(failure.stage == .greeting)
    }

    @Test("a reply injected in the same read as STARTTLS's 220 is discarded; the real EHLO after TLS counts")
    func injectionWithTheGreeting() async throws {
        let pki = try await ClientTestPKI.shared()
        let (peer, log) = try await LoopbackPeer.scripted("inject-with-220", tls: pki)
        var configuration = Mail.configuration()
        configuration.tls = .client(caFile: pki.caCertificate)
        let credentials = SMTPClientCredentials(user: "alice", password: "secret")
        // The injected reply offers AUTH PLAIN; the real one does not. Reading the injection would
        // have sent the password.
        let error = await #expect(throws: SMTPClientError.self) {
            try await SMTPClient.send(
                "Subject: x\r\n\r\nx\r\n", from: Self.sender, to: [Self.recipient],
                via: .smartHost("localhost", port: peer.port, tls: .required, credentials: credentials), configuration: configuration)
        }
        #expect(error?.kind == .authenticationUnavailable)
        let session = try String(contentsOfFile: log, encoding: .utf8)
        #expect(session.contains("TLS established\nC: EHLO client.example.test\n"))
        #expect(!session.contains("AUTH"))

        let result = try await SMTPClient.send(
            "Subject: x\r\n\r\nx\r\n", from: Self.sender, to: [Self.recipient],
            via: .smartHost("localhost", port: peer.port, tls: .required), configuration: configuration)
        #expect(result.allAccepted)
        #expect(result.server.tls?.verification == .ok)
    }

    @Test("plaintext that arrives during the TLS handshake is never read as a reply: TLS fails, nothing is sent")
    func injectionDuringTheHandshake() async throws {
        let pki = try await ClientTestPKI.shared()
        let (peer, log) = try await LoopbackPeer.scripted("inject-during-handshake", tls: pki)
        var configuration = Mail.configuration()
        configuration.tls = .client(caFile: pki.caCertificate)
        let error = await #expect(throws: SMTPClientError.self) {
            try await SMTPClient.send(
                "Subject: x\r\n\r\nx\r\n", from: Self.sender, to: [Self.recipient],
                via: .smartHost("localhost", port: peer.port, tls: .required), configuration: configuration)
        }
        let failure = try #require(error)
        #expect(failure.kind == .tlsFailed)
        #expect(failure.stage == .tlsHandshake)
        let session = try String(contentsOfFile: log, encoding: .utf8)
        #expect(!session.contains("MAIL"))
    }

    @Test("a refused BDAT chunk: no further chunk is sent, the recipient fails at BDAT, the session goes on")
    func refusedChunk() async throws {
        let (peer, log) = try await LoopbackPeer.scripted("refuse-chunk")
        var configuration = Mail.configuration()
        configuration.prefersChunking = true
        configuration.chunkSize = 4096
        let text = "Subject: chunks\r\n\r\n" + String(repeating: String(repeating: "c", count: 1022) + "\r\n", count: 64)
        let connection = try await SMTPClientConnection.open(to: .smartHost("127.0.0.1", port: peer.port, tls: .none), configuration: configuration)
        let body = Mail.slowPieces(text, size: 4096, pause: .milliseconds(50))
        let result = try await connection.send(body, envelope: Mail.envelope(from: "alice@client.example.test", to: ["bob@example.test"]))
        #expect(result.recipients.first?.status == .permanentFailure)
        #expect(result.recipients.first?.stage == .chunk)
        #expect(result.recipients.first?.reply.code == 554)
        #expect(connection.canSend)
        await connection.close()
        let session = try String(contentsOfFile: log, encoding: .utf8)
        let chunks = session.split(separator: "\n").filter { $0.hasPrefix("chunk ") }
        // The first is refused; only a chunk already on its way before its reply may follow.
        #expect(chunks.count <= 2)
        #expect(!session.contains("LAST"))
        #expect(session.contains("C: RSET"))
    }

    struct BrokenBody: AsyncSequence {
        typealias Element = ByteBuffer
        struct Broken: Error {}
        struct AsyncIterator: AsyncIteratorProtocol {
            var sent = 0
            mutating func next() async throws -> ByteBuffer? {
                sent += 1
                if sent > 3 { throw Broken() }
                return ByteBuffer(string: "line \(sent)\r\n")
            }
        }
        func makeAsyncIterator() -> AsyncIterator { AsyncIterator() }
    }

    @Test("a body that throws: the connection closes before the final dot, so no truncated message is delivered")
    func brokenBody() async throws {
        let sink = try SmtpSink(dump: true)
        let error = await #expect(throws: SMTPClientError.self) {
            try await SMTPClient.send(
                BrokenBody(), from: Self.sender, to: [Self.recipient],
                via: .smartHost("127.0.0.1", port: sink.port, tls: .none), configuration: Mail.configuration())
        }
        #expect(error?.kind == .messageSource)
        #expect(error?.stage == .messageText)
        try await Task.sleep(for: .milliseconds(200))
        #expect(sink.dumpedMessages().allSatisfy { !$0.contains("line 1") })
    }

    @Test("implicit TLS (port 465 style): TLS before the greeting, verified")
    func implicitTLS() async throws {
        let pki = try await ClientTestPKI.shared()
        let (peer, log) = try await LoopbackPeer.aiosmtpd(["--starttls", pki.serverCertificate, pki.serverKey, "--implicit-tls"])
        var configuration = Mail.configuration()
        configuration.tls = .client(caFile: pki.caCertificate)
        let result = try await SMTPClient.send(
            "Subject: implicit\r\n\r\nx\r\n", from: Self.sender, to: [Self.recipient],
            via: .smartHost("localhost", port: peer.port, tls: .implicit), configuration: configuration)
        #expect(result.allAccepted)
        #expect(result.server.tls?.verification == .ok)
        #expect(!result.server.capabilities.contains(.startTLS))
        #expect(LoopbackPeer.messages(in: log).first?["tls"] as? Bool == true)
    }

    @Test("a connection idle for longer than resetAfterIdle is checked with RSET before the next message")
    func resetAfterIdle() async throws {
        let (peer, log) = try await LoopbackPeer.scripted("plain")
        var configuration = Mail.configuration()
        configuration.resetAfterIdle = .milliseconds(100)
        let connection = try await SMTPClientConnection.open(to: .smartHost("127.0.0.1", port: peer.port, tls: .none), configuration: configuration)
        let envelope = Mail.envelope(from: "alice@client.example.test", to: ["bob@example.test"])
        _ = try await connection.send("Subject: 1\r\n\r\none\r\n", envelope: envelope)
        _ = try await connection.send("Subject: 2\r\n\r\ntwo\r\n", envelope: envelope)
        try await Task.sleep(for: .milliseconds(300))
        let third = try await connection.send("Subject: 3\r\n\r\nthree\r\n", envelope: envelope)
        #expect(third.allAccepted)
        await connection.close()
        let commands = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").filter { $0.hasPrefix("C: ") }.map { $0.dropFirst(3).prefix(4) }
        #expect(commands == ["EHLO", "MAIL", "RCPT", "DATA", "MAIL", "RCPT", "DATA", "RSET", "MAIL", "RCPT", "DATA", "QUIT"])
    }

    @Test("nothing listening: the connection fails, the error says so and is temporary")
    func nothingListening() async throws {
        let port = try LoopbackPort.free()
        let error = await #expect(throws: SMTPClientError.self) {
            try await SMTPClientConnection.open(to: .smartHost("127.0.0.1", port: port, tls: .none), configuration: Mail.configuration())
        }
        #expect(error?.kind == .connectionFailed)
        #expect(error?.stage == .connect)
        #expect(error?.isTemporary == true)
    }
}

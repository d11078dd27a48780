import NIOCore
import SMTPProtocol
import Testing

/// The client state machine against the server state machine, in memory: every byte one writes
/// is what the other reads.
@Suite("Client and server state machines in conversation")
struct ClientServerMachineTests {
    struct Policy {
        var refuse: Set<String> = []
        var lmtpReplies: [SMTPReply]?
        var acceptedPassword: [UInt8] = Array("\0user\0secret".utf8)
    }

    struct Outcome {
        var results: [SMTPTransactionResult] = []
        var stored: [String] = []
        var failure: SMTPClientSessionError?
        var serverAuthenticated: String?
        var tlsStarted = 0
        var clientCapabilities: SMTPCapabilities?
    }

    /// Runs a session: the client sends `messages` (envelope and text) and quits.
    static func converse(
        client clientConfiguration: SMTPClientStateMachine.Configuration,
        server serverConfiguration: SMTPServerConfiguration,
        policy: Policy = Policy(),
        credentials: [UInt8]? = nil,
        messages: [(SMTPEnvelope, String)]
    ) throws -> Outcome {
        var client = SMTPClientStateMachine(configuration: clientConfiguration)
        var server = SMTPServerStateMachine(configuration: serverConfiguration)
        var outcome = Outcome()
        var pendingMessages = messages[...]
        var currentText = ""
        var storing = ""
        try client.start()
        server.start()
        var rounds = 0
        while !client.isClosed, rounds < 10_000 {
            rounds += 1
            var toServer = ByteBuffer()
            var toClient = ByteBuffer()
            var progressed = false
            while let action = server.next() {
                progressed = true
                switch action {
                case .send(let reply): reply.encode(into: &toClient)
                case .recipient(let path, _):
                    if policy.refuse.contains(path.description) { server.reject(SMTPReply(550, .badDestinationMailbox, "User unknown")) } else { server.accept() }
                case .hello, .mail, .data, .verify, .expand, .etrn: server.accept()
                case .messageText(let text): storing += String(buffer: text)
                case .messageComplete:
                    outcome.stored.append(storing)
                    storing = ""
                    if let replies = policy.lmtpReplies {
                        server.finishMessage(replies: Array(replies.prefix(server.transaction?.recipients.count ?? 0)))
                    } else {
                        server.accept()
                    }
                case .transactionAborted: storing = ""
                case .authStart(_, let response), .authResponse(let response as [UInt8]?):
                    if let response {
                        if response == policy.acceptedPassword { server.authSucceeded(identity: "user") } else { server.authFailed() }
                    } else {
                        server.authChallenge([])
                    }
                case .authCancelled: break
                case .startTLS: outcome.tlsStarted += 1; server.tlsEstablished()
                case .close: break
                }
            }
            while let action = client.next() {
                progressed = true
                switch action {
                case .send(let command): command.encode(into: &toServer)
                case .sendText(var text): toServer.writeBuffer(&text)
                case .startTLS: try client.tlsEstablished()
                case .authenticate(let offered):
                    if let credentials, offered.contains("PLAIN") {
                        try client.startAuthentication(mechanism: "PLAIN", initialResponse: credentials)
                    } else {
                        try client.skipAuthentication()
                    }
                case .authenticationChallenge: try client.cancelAuthentication()
                case .ready(let capabilities):
                    outcome.clientCapabilities = capabilities
                    if let (envelope, text) = pendingMessages.popFirst() {
                        currentText = text
                        try client.send(envelope)
                    } else {
                        try client.quit()
                    }
                case .sendMessage:
                    // In two pieces, to exercise the encoder across calls.
                    let half = currentText.index(currentText.startIndex, offsetBy: currentText.count / 2)
                    try client.messageText(ByteBuffer(string: String(currentText[..<half])))
                    try client.messageText(ByteBuffer(string: String(currentText[half...])))
                    try client.endMessage()
                case .transactionComplete(let result):
                    outcome.results.append(result)
                    if let (envelope, text) = pendingMessages.popFirst() {
                        currentText = text
                        try client.send(envelope)
                    }
                case .abandonMessage: break
                case .failed(let error): outcome.failure = error
                case .close: break
                }
            }
            if client.awaitedReply == nil, !client.isClosed, pendingMessages.isEmpty, toServer.readableBytes == 0, toClient.readableBytes == 0 {
                try client.quit()
                continue
            }
            if toServer.readableBytes > 0 { server.receive(toServer) }
            if toClient.readableBytes > 0 { client.receive(toClient) }
            if !progressed, toServer.readableBytes == 0, toClient.readableBytes == 0 { break }
        }
        outcome.serverAuthenticated = server.authenticatedIdentity
        return outcome
    }

    static let alice = ReversePath(mailbox: try! Mailbox(parsing: "alice@client.example"))
    static func to(_ text: String) -> SMTPEnvelope.Recipient { .init(ForwardPath(mailbox: try! Mailbox(parsing: text))) }

    @Test("a pipelined transaction with a refused recipient, then a second message", arguments: [true, false])
    func pipelinedPartial(pipelining: Bool) throws {
        var server = SMTPServerConfiguration(hostname: "mx.example.test")
        if !pipelining { server.extensions.remove(.pipelining) }
        let envelope = SMTPEnvelope(reversePath: Self.alice, recipients: [Self.to("bob@example.test"), Self.to("nobody@example.test"), Self.to("carol@example.test")])
        let outcome = try Self.converse(
            client: .init(hostname: "client.example", tlsPolicy: .never), server: server,
            policy: Policy(refuse: ["<nobody@example.test>"]),
            messages: [(envelope, "Subject: one\r\n\r\n.dot\r\n"), (SMTPEnvelope(reversePath: .null, recipients: [Self.to("bob@example.test")]), "two")])
        #expect(outcome.failure == nil)
        try #require(outcome.results.count == 2)
        #expect(outcome.stored == ["Subject: one\r\n\r\n.dot\r\n", "two\r\n"])
        let first = outcome.results[0]
        #expect(first.outcome(forRecipientAt: 0).code == 250)
        #expect(first.outcome(forRecipientAt: 1).code == 550)
        #expect(first.outcome(forRecipientAt: 2).code == 250)
        // An index past the replies is a missing entry, not a trap.
        #expect(first.outcome(forRecipientAt: 7) == first.mailReply)
        #expect(first.outcome(forRecipientAt: -1) == first.mailReply)
    }

    @Test("every recipient refused: no text is sent, the transaction is reset", arguments: [true, false])
    func allRefused(pipelining: Bool) throws {
        var server = SMTPServerConfiguration(hostname: "mx.example.test")
        if !pipelining { server.extensions.remove(.pipelining) }
        let outcome = try Self.converse(
            client: .init(hostname: "client.example", tlsPolicy: .never), server: server,
            policy: Policy(refuse: ["<nobody@example.test>"]),
            messages: [(SMTPEnvelope(reversePath: Self.alice, recipients: [Self.to("nobody@example.test")]), "text"),
                       (SMTPEnvelope(reversePath: Self.alice, recipients: [Self.to("bob@example.test")]), "second")])
        #expect(outcome.failure == nil)
        #expect(outcome.stored == ["second\r\n"])
        try #require(outcome.results.count == 2)
        #expect(outcome.results[0].outcome(forRecipientAt: 0).code == 550)
        #expect(!outcome.results[0].deliveredToAny)
        #expect(outcome.results[1].deliveredToAny)
    }

    @Test("BDAT when the server offers CHUNKING and the client prefers it")
    func chunking() throws {
        let text = String(repeating: "line of text\r\n", count: 10_000)
        let outcome = try Self.converse(
            client: .init(hostname: "client.example", tlsPolicy: .never, prefersChunking: true),
            server: SMTPServerConfiguration(hostname: "mx.example.test"),
            messages: [(SMTPEnvelope(reversePath: Self.alice, recipients: [Self.to("bob@example.test")]), text)])
        #expect(outcome.failure == nil)
        #expect(outcome.stored == [text])
        #expect(outcome.results.first?.deliveredToAny == true)
    }

    @Test("STARTTLS, then AUTH PLAIN after TLS only")
    func startTLSThenAuth() throws {
        let outcome = try Self.converse(
            client: .init(hostname: "client.example", tlsPolicy: .required, wantsAuthentication: true),
            server: SMTPServerConfiguration(hostname: "mx.example.test", startTLSAvailable: true, authMechanismsWithTLS: ["PLAIN", "LOGIN"]),
            credentials: Array("\0user\0secret".utf8),
            messages: [(SMTPEnvelope(reversePath: Self.alice, recipients: [Self.to("bob@example.test")]), "hi")])
        #expect(outcome.failure == nil)
        #expect(outcome.tlsStarted == 1)
        #expect(outcome.serverAuthenticated == "user")
        #expect(outcome.stored == ["hi\r\n"])
    }

    @Test("TLS required but not offered: the session fails before any mail")
    func tlsRequired() throws {
        let outcome = try Self.converse(
            client: .init(hostname: "client.example", tlsPolicy: .required),
            server: SMTPServerConfiguration(hostname: "mx.example.test"),
            messages: [(SMTPEnvelope(reversePath: Self.alice, recipients: [Self.to("bob@example.test")]), "hi")])
        #expect(outcome.failure?.kind == .tlsUnavailable)
        #expect(outcome.stored.isEmpty)
    }

    @Test("a wrong password fails the session")
    func wrongPassword() throws {
        let outcome = try Self.converse(
            client: .init(hostname: "client.example", tlsPolicy: .never, wantsAuthentication: true),
            server: SMTPServerConfiguration(hostname: "mx.example.test", authMechanismsWithoutTLS: ["PLAIN"]),
            credentials: Array("\0user\0wrong".utf8),
            messages: [(SMTPEnvelope(reversePath: Self.alice, recipients: [Self.to("bob@example.test")]), "hi")])
        #expect(outcome.failure?.kind == .authenticationFailed)
        #expect(outcome.failure?.reply?.code == 535)
        #expect(outcome.stored.isEmpty)
    }

    @Test("LMTP: one final reply per accepted recipient")
    func lmtp() throws {
        let outcome = try Self.converse(
            client: .init(hostname: "client.example", dialect: .lmtp, tlsPolicy: .never),
            server: SMTPServerConfiguration(hostname: "mx.example.test", dialect: .lmtp),
            policy: Policy(refuse: ["<nobody@example.test>"], lmtpReplies: [SMTPReply(250, .success, "ok bob"), SMTPReply(452, EnhancedStatusCode(4, 2, 2), "carol over quota")]),
            messages: [(SMTPEnvelope(reversePath: Self.alice, recipients: [Self.to("bob@example.test"), Self.to("nobody@example.test"), Self.to("carol@example.test")]), "hi")])
        #expect(outcome.failure == nil)
        let result = outcome.results.first
        #expect(result?.outcome(forRecipientAt: 0).lines == ["ok bob"])
        #expect(result?.outcome(forRecipientAt: 1).code == 550)
        #expect(result?.outcome(forRecipientAt: 2).code == 452)
    }

    @Test("EHLO refused by an old server: the client falls back to HELO")
    func heloFallback() throws {
        var client = SMTPClientStateMachine(configuration: .init(hostname: "client.example", tlsPolicy: .never))
        try client.start()
        client.receive(ByteBuffer(string: "220 old.example SMTP\r\n"))
        #expect(client.next() == .send(.ehlo("client.example")))
        client.receive(ByteBuffer(string: "500 Command unrecognized\r\n"))
        #expect(client.next() == .send(.helo("client.example")))
        client.receive(ByteBuffer(string: "250 old.example\r\n"))
        guard case .ready(let capabilities)? = client.next() else {
            Issue.record("not ready")
            return
        }
        #expect(!capabilities.contains(.pipelining))
    }

    @Test("a 554 greeting fails the session politely")
    func refusedGreeting() throws {
        var client = SMTPClientStateMachine(configuration: .init(hostname: "client.example"))
        try client.start()
        client.receive(ByteBuffer(string: "554 5.7.1 go away\r\n"))
        guard case .failed(let error)? = client.next() else {
            Issue.record("no failure")
            return
        }
        #expect(error.kind == .refused)
        #expect(!error.isTemporary)
        #expect(client.next() == .send(.quit))
        #expect(client.next() == .close)
    }

    @Test("garbage from the server is a protocol violation")
    func garbage() throws {
        var client = SMTPClientStateMachine(configuration: .init(hostname: "client.example"))
        try client.start()
        client.receive(ByteBuffer(string: "HTTP/1.1 400 Bad Request\r\n"))
        guard case .failed(let error)? = client.next() else {
            Issue.record("no failure")
            return
        }
        #expect(error.kind == .protocolViolation)
    }
}

import Logging
import MailAuth
import MailRouting
import MailTLS
import Metrics
import NIOCore
import SMTPProtocol

/// The reference server's backend, built on the public embedding API like any other: the seeds'
/// policy through MailRouting at each stage — Sendmail's check_relay at connect, check_mail at
/// MAIL, check_rcpt and the recipient's routing at RCPT (with `delay_checks`, the first two
/// folded into the third) — and accepted messages into its ``MessageStore``.
///
/// Every decision runs as one job on the maps' thread pool (`withTaskExecutorPreference`), so
/// that its lookups neither block an event loop or the cooperative pool nor hop threads one by
/// one.
struct PolicyBackend: SMTPBackend {
    let router: Router
    let pool: any TaskExecutor
    let store: any MessageStore
    let logger: Logger

    func makeSession(for connection: SMTPConnectionInfo) async throws -> any SMTPSession {
        PolicySession(backend: self, client: ClientIdentity(address: connection.clientAddress), tls: connection.tls)
    }
}

struct PolicySession: SMTPSession {
    let backend: PolicyBackend
    var client: ClientIdentity
    var tls: TLSSessionFacts?
    var hello: SMTPServerStateMachine.Hello?
    var connectVerdict: AccessVerdict?
    var senderVerdict: AccessVerdict?
    /// Sendmail's DISCARD: accepted and dropped. For the session (a client entry) or the
    /// transaction (a sender or recipient entry).
    var discardSession = false
    var discardTransaction = false
    var sender: ReversePath?
    var mailParameters = MailParameters()
    var recipients: [MessageEnvelope.Recipient] = []

    private var router: Router { backend.router }
    private var logger: Logger { backend.logger }
    private var relay: String { "[\(client.address)]" }

    mutating func connected() async throws -> SMTPDecision {
        guard !router.configuration.delayChecks else { return .accept }
        let client = client
        let router = router
        let verdict = await withTaskExecutorPreference(backend.pool) { await router.checkConnect(client) }
        connectVerdict = verdict
        switch verdict.action {
        case .ok, .relay, .pass:
            return .accept
        case .discard:
            discardSession = true
            return .accept
        case .reject(let reply):
            logger.notice("ruleset=check_relay, arg1=\(relay), relay=\(relay), reject=\(reply)")
            // RFC 5321 §3.1: a 554 greeting, after which only QUIT is served; a temporary
            // failure closes with 421.
            if reply.isTransientFailure {
                return .rejectAndClose(SMTPReply(421, reply.enhancedCode?.withClass(4), lines: reply.lines))
            }
            return .reject(SMTPReply(554, reply.enhancedCode?.withClass(5), lines: reply.lines))
        }
    }

    mutating func hello(_ hello: SMTPServerStateMachine.Hello) async throws -> SMTPDecision {
        self.hello = hello
        return .accept
    }

    mutating func tlsEstablished(_ facts: TLSSessionFacts) async {
        tls = facts
        hello = nil
        client.authenticationMechanism = nil
        client.authenticatedUser = nil
    }

    mutating func authenticated(_ authentication: SASLAuthentication) async throws -> SMTPDecision {
        client.authenticationMechanism = authentication.mechanism.rawValue
        client.authenticatedUser = authentication.authenticationIdentity
        return .accept
    }

    mutating func mail(from path: ReversePath, parameters: MailParameters) async throws -> SMTPDecision {
        sender = path
        mailParameters = parameters
        guard !router.configuration.delayChecks else { return .accept }
        let client = client
        let router = router
        let verdict = await withTaskExecutorPreference(backend.pool) { await router.checkSender(path, client: client) }
        senderVerdict = verdict
        switch verdict.action {
        case .ok, .relay, .pass:
            return .accept
        case .discard:
            discardTransaction = true
            return .accept
        case .reject(let reply):
            logger.notice("ruleset=check_mail, arg1=\(path), relay=\(relay), reject=\(reply)")
            return .reject(reply)
        }
    }

    mutating func recipient(_ path: ForwardPath, parameters: RecipientParameters) async throws -> SMTPDecision {
        let sender = sender ?? .null
        let (verdict, routing, connect, mail) = await recipientAnswer(path, sender: sender)
        connectVerdict = connect
        senderVerdict = mail
        switch verdict.action {
        case .reject(let reply):
            logger.notice("ruleset=check_rcpt, arg1=\(path), relay=\(relay), reject=\(reply)")
            return .reject(reply)
        case .discard:
            discardTransaction = true
        case .ok, .relay, .pass:
            break
        }
        if let error = routing?.error {
            logger.notice("\(path)... \(error.reply), relay=\(relay)")
            return .reject(error.reply)
        }
        recipients.append(.init(path: path, parameters: parameters))
        return .accept
    }

    /// Sendmail's answer at RCPT as one job on the maps' pool: check_rcpt (with `delay_checks`,
    /// check_relay and check_mail, each made once per session or transaction), then the
    /// recipient's own routing (virtusertable `error:`, the local-user check, mailertable).
    private func recipientAnswer(_ path: ForwardPath, sender: ReversePath) async -> (AccessVerdict, RoutingDecision?, AccessVerdict?, AccessVerdict?) {
        let router = router
        let client = client
        var connect = connectVerdict
        var mail = senderVerdict
        return await withTaskExecutorPreference(backend.pool) {
            if router.configuration.delayChecks {
                if connect == nil { connect = await router.checkConnect(client) }
                if mail == nil { mail = await router.checkSender(sender, client: client) }
            }
            let verdict = await router.checkRecipient(path, sender: sender, client: client, connectVerdict: connect, senderVerdict: mail)
            guard !verdict.isRejection else { return (verdict, nil, connect, mail) }
            let routing = await router.route(RoutingAddress(path))
            return (verdict, routing, connect, mail)
        }
    }

    mutating func message() async throws -> any SMTPMessageReceiver {
        let writer = try await backend.store.beginMessage()
        let envelope = MessageEnvelope(
            sender: sender ?? .null, mailParameters: mailParameters, recipients: recipients,
            clientAddress: client.address, helo: hello?.domain, authenticatedUser: client.authenticatedUser,
            protocolName: ReceivedHeader(
                helloKind: hello?.kind, helloName: hello?.domain, clientAddress: client.address, hostname: "", tls: tls, shownUser: nil,
                authenticated: client.authenticatedUser != nil, smtpUTF8: mailParameters.smtpUTF8, recipients: [], date: "").protocolName,
            size: 0)
        return PolicyMessage(writer: writer, envelope: envelope, store: backend.store, discard: discardSession || discardTransaction, logger: logger)
    }

    mutating func reset() async {
        sender = nil
        mailParameters = MailParameters()
        recipients = []
        senderVerdict = nil
        discardTransaction = false
    }
}

/// One accepted message on its way into the store, logged in Sendmail's form when it is stored:
/// `ID: from=<…>, size=…, nrcpts=…, proto=…, relay=[…]` and one `ID: to=<…>, stat=…` per recipient.
struct PolicyMessage: SMTPMessageReceiver {
    var writer: any MessageStoreWriter
    var envelope: MessageEnvelope
    let store: any MessageStore
    let discard: Bool
    let logger: Logger

    mutating func append(_ text: ByteBuffer) async throws {
        envelope.size += text.readableBytes
        guard !discard else { return }
        try await writer.append(text)
    }

    mutating func finish() async throws -> SMTPDecision {
        let relay = "[\(envelope.clientAddress)]"
        if discard {
            await writer.abort()
            logger.notice("from=\(envelope.sender), size=\(envelope.size), nrcpts=\(envelope.recipients.count), relay=\(relay), discarded (access DISCARD)")
            return .accept(.messageAccepted())
        }
        let id = try await writer.commit(envelope)
        Counter(label: "swiftmta_messages_accepted_total").increment()
        var line = "\(id): from=\(envelope.sender), size=\(envelope.size), nrcpts=\(envelope.recipients.count), proto=\(envelope.protocolName), relay=\(relay)"
        if let user = envelope.authenticatedUser { line += ", authid=\(user)" }
        logger.info("\(line)")
        for recipient in envelope.recipients {
            logger.info("\(id): to=\(recipient.path), stat=\(store.logStatus)")
        }
        return .accept(store.acceptedReply(queueID: id))
    }

    mutating func abort() async {
        await writer.abort()
    }
}

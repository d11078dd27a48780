import Logging
import MailAuth
import MailRouting
import MailTLS
import Metrics
import NIOCore
import SMTPProtocol

/// The reference server's backend, built on the public embedding API like any other: the seeds'
/// policy through MailRouting at each stage — Sendmail's check_relay at connect, its answer at
/// MAIL (check_mail) and its whole answer at RCPT (the recipient's routing, check_rcpt, the
/// local-user check; with `delay_checks`, check_relay and check_mail folded into it), the one code
/// path `swiftmta route --client-ip` prints — and accepted messages into its ``MessageStore``.
///
/// Every decision runs as one job on the maps' thread pool (`withTaskExecutorPreference`), so
/// that its lookups neither block an event loop or the cooperative pool nor hop threads one by
/// one.
struct PolicyBackend: SMTPBackend {
    let router: Router
    let pool: any TaskExecutor
    let store: any MessageStore
    let logger: Logger
    /// Told of every decision with its trace (`swiftmta check session`); `nil` when serving.
    var observer: (any PolicyObserver)? = nil
    /// Who the client is: by default its address alone; the reference server looks its name up
    /// (``ClientNameLookup``, `[dns] reverse_lookups`); `swiftmta check session --client-host`
    /// names it.
    var identify: @Sendable (SMTPConnectionInfo) async -> ClientIdentity = { ClientIdentity(address: $0.clientAddress) }

    func makeSession(for connection: SMTPConnectionInfo) async throws -> any SMTPSession {
        PolicySession(backend: self, client: await identify(connection), tls: connection.tls)
    }
}

struct PolicySession: SMTPSession {
    let backend: PolicyBackend
    var client: ClientIdentity
    var tls: TLSSessionFacts?
    var hello: SMTPServerStateMachine.Hello?
    /// check_relay's verdict, once made (at connect without `delay_checks`, at the first RCPT with).
    var connectVerdict: AccessVerdict?
    /// The transaction's answer at MAIL, which RCPT reuses.
    var mailAnswer: RoutingAnswer?
    /// Sendmail's DISCARD: accepted and dropped, for the whole transaction.
    var discard = false
    var sender: ReversePath?
    var mailParameters = MailParameters()
    var recipients: [MessageEnvelope.Recipient] = []

    private var router: Router { backend.router }
    private var logger: Logger { backend.logger }
    /// Sendmail's `relay=`: the confirmed name and the address, `[address] (may be forged)`, or
    /// the address alone.
    private var relay: String {
        switch client.nameResolution {
        case .confirmed: return client.hostName.map { "\($0) [\(client.address)]" } ?? "[\(client.address)]"
        case .forged: return "[\(client.address)] (may be forged)"
        case .failed, .temporaryFailure: return "[\(client.address)]"
        }
    }

    /// The confirmed host name, for the `Received:` header.
    var clientHostName: String? { client.nameResolution == .confirmed ? client.hostName : nil }
    private var facts: SessionFacts { SessionFacts(client: client, connectVerdict: connectVerdict) }

    /// check_relay at connect (without `delay_checks`). As Sendmail does, a refused client is
    /// greeted and then refused at every MAIL with the verdict's reply (Router.answerMail).
    mutating func connected() async throws -> SMTPDecision {
        guard !router.configuration.delayChecks else { return .accept }
        let client = client
        let router = router
        let verdict = await withTaskExecutorPreference(backend.pool) { await router.checkConnect(client) }
        connectVerdict = verdict
        backend.observer?.record(.connect(client, verdict))
        if case .reject(let reply) = verdict.action {
            logger.notice("ruleset=check_relay, arg1=\(relay), relay=\(relay), reject=\(reply)")
        }
        return .accept
    }

    mutating func hello(_ hello: SMTPServerStateMachine.Hello) async throws -> SMTPDecision {
        self.hello = hello
        backend.observer?.record(.hello(hello))
        return .accept
    }

    mutating func tlsEstablished(_ facts: TLSSessionFacts) async {
        tls = facts
        hello = nil
        client.authenticationMechanism = nil
        client.authenticatedUser = nil
        backend.observer?.record(.tlsEstablished(facts))
    }

    mutating func authenticated(_ authentication: SASLAuthentication) async throws -> SMTPDecision {
        client.authenticationMechanism = authentication.mechanism.rawValue
        client.authenticatedUser = authentication.authenticationIdentity
        backend.observer?.record(.authenticated(authentication))
        return .accept
    }

    /// Sendmail's answer at MAIL (MailRouting's `answerMail`), as one job on the maps' pool.
    mutating func mail(from path: ReversePath, parameters: MailParameters) async throws -> SMTPDecision {
        sender = path
        mailParameters = parameters
        let router = router
        let facts = facts
        let answer = await withTaskExecutorPreference(backend.pool) { await router.answerMail(path, session: facts) }
        mailAnswer = answer
        backend.observer?.record(.mail(path, answer))
        switch answer.disposition {
        case .refuse:
            logger.notice("ruleset=check_mail, arg1=\(path), relay=\(relay), reject=\(answer.reply)")
            return .reject(answer.reply)
        case .discard:
            discard = true
            return .accept(answer.reply)
        case .accept:
            return .accept(answer.reply)
        }
    }

    /// Sendmail's whole answer at RCPT (MailRouting's `answerRecipient`: the recipient's routing,
    /// check_rcpt with `delay_checks`' connect and sender checks, the local-user check), as one
    /// job on the maps' pool.
    mutating func recipient(_ path: ForwardPath, parameters: RecipientParameters) async throws -> SMTPDecision {
        let router = router
        let sender = sender ?? .null
        let mail = mailAnswer
        var facts = facts
        if router.configuration.delayChecks, facts.connectVerdict == nil, let client = facts.client {
            facts.connectVerdict = await withTaskExecutorPreference(backend.pool) { await router.checkConnect(client) }
            connectVerdict = facts.connectVerdict
            if let verdict = facts.connectVerdict { backend.observer?.record(.connect(client, verdict)) }
        }
        let session = facts
        let answer = await withTaskExecutorPreference(backend.pool) {
            await router.answerRecipient(path, sender: sender, mail: mail, session: session)
        }
        backend.observer?.record(.recipient(path, answer))
        switch answer.disposition {
        case .refuse:
            logger.notice("ruleset=check_rcpt, arg1=\(path), relay=\(relay), reject=\(answer.reply) (\(answer.reason))")
            return .reject(answer.reply)
        case .discard:
            discard = true
        case .accept:
            break
        }
        recipients.append(.init(path: path, parameters: parameters, routing: answer.routing))
        return .accept(answer.reply)
    }

    mutating func message() async throws -> any SMTPMessageReceiver {
        let writer = try await backend.store.beginMessage()
        var envelope = MessageEnvelope(
            sender: sender ?? .null, mailParameters: mailParameters, recipients: recipients,
            clientAddress: client.address, helo: hello?.domain, authenticatedUser: client.authenticatedUser,
            protocolName: ReceivedHeader(
                helloKind: hello?.kind, helloName: hello?.domain, clientAddress: client.address, hostname: "", tls: tls, shownUser: nil,
                authenticated: client.authenticatedUser != nil, smtpUTF8: mailParameters.smtpUTF8, recipients: [], date: "").protocolName,
            tls: tls.map { "\($0.protocolVersion) \($0.cipher)" },
            size: 0)
        envelope.clientHostName = clientHostName
        return PolicyMessage(writer: writer, envelope: envelope, store: backend.store, discard: discard, relay: relay, logger: logger)
    }

    mutating func reset() async {
        sender = nil
        mailParameters = MailParameters()
        recipients = []
        mailAnswer = nil
        discard = false
    }
}

/// One accepted message on its way into the store, logged in Sendmail's form when it is stored:
/// `ID: from=<…>, size=…, nrcpts=…, proto=…, relay=[…]` and one `ID: to=<…>, stat=…` per recipient.
struct PolicyMessage: SMTPMessageReceiver {
    var writer: any MessageStoreWriter
    var envelope: MessageEnvelope
    let store: any MessageStore
    let discard: Bool
    /// The client as the log shows it (`name [address]`).
    let relay: String
    let logger: Logger

    mutating func append(_ text: ByteBuffer) async throws {
        envelope.size += text.readableBytes
        guard !discard else { return }
        try await writer.append(text)
    }

    mutating func finish() async throws -> SMTPDecision {
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

import Logging
import MailAuth
import MailTLS
import Metrics
import NIOCore
import SMTPProtocol

/// One client connection, from greeting to close: reads bytes, feeds them to SMTPProtocol's
/// ``SMTPServerStateMachine``, performs its actions, and asks the backend's ``SMTPSession``
/// every question the machine asks (check → decide → proceed).
///
/// Replies are batched and written when the machine needs more input or an answer, which is the
/// flush point pipelining needs (RFC 2920 §3). TLS (STARTTLS, RFC 3207) is put in front of the
/// running channel by MailTLS, reading from the same inbound iterator, so that no plaintext sent
/// after STARTTLS is ever read as if it came over TLS. AUTH exchanges run the backend's SASL
/// mechanisms; failures are answered after the shared damping delay.
struct SMTPServerSession {
    typealias Connection = NIOAsyncChannel<ByteBuffer, ByteBuffer>

    let configuration: ServerConfiguration
    let listener: ServerConfiguration.Listener
    let backend: any SMTPBackend
    let damping: AuthenticationDamping?
    let registry: ConnectionRegistry
    let logger: Logger
    /// Called each time the session has written its replies and waits for more input, with the
    /// octets it has read so far: `swiftmta check session` feeds a transcript through an
    /// in-memory channel one write at a time with it. `nil` for network connections.
    var awaitingInput: (@Sendable (_ octetsRead: Int) -> Void)? = nil

    func run(on connection: Connection, handshake: EventLoopFuture<TLSSessionFacts>?) async {
        let channel = connection.channel
        var logger = logger
        let relay = "[\(channel.remoteAddress?.ipAddress ?? "unknown")]"
        logger[metadataKey: "relay"] = "\(relay)"
        logger.debug("connect from \(relay)", metadata: ["listener": "\(listener.mode)"])
        do {
            try await connection.executeThenClose { inbound, outbound in
                var tls: TLSSessionFacts?
                if let handshake {
                    do {
                        tls = try await handshake.get()
                    } catch {
                        logger.notice("STARTTLS=server, relay=\(relay), error: implicit TLS handshake failed: \(error)")
                        SessionMetrics.handshake(listener, nil)
                        SessionMetrics.ended(listener, .tlsFailed)
                        return
                    }
                    SessionMetrics.handshake(listener, tls)
                    logger.info("STARTTLS=server, relay=\(relay), \(tls!.logFields)")
                }
                let info = SMTPConnectionInfo(
                    remoteAddress: channel.remoteAddress, localAddress: channel.localAddress, listener: listener, tls: tls)
                var driver = SessionDriver(
                    configuration: configuration, listener: listener, info: info, registry: registry, damping: damping,
                    channel: channel, inbound: inbound.makeAsyncIterator(), outbound: outbound, logger: logger)
                driver.awaitingInput = awaitingInput
                await driver.run(backend: backend)
                SessionMetrics.ended(listener, driver.outcome)
            }
        } catch {
            logger.debug("session ended by error", metadata: ["error": "\(error)"])
            SessionMetrics.ended(listener, .error)
        }
        logger.debug("disconnect from \(relay)")
    }
}

/// The mutable side of a session: the machine, the backend's session, the message in progress,
/// the AUTH exchange, and the replies waiting to be written.
private struct SessionDriver {
    let configuration: ServerConfiguration
    let listener: ServerConfiguration.Listener
    let info: SMTPConnectionInfo
    let registry: ConnectionRegistry
    let damping: AuthenticationDamping?
    let channel: any Channel
    var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    var logger: Logger

    var machine: SMTPServerStateMachine
    var tls: TLSSessionFacts?
    var authentication: SASLAuthentication?
    var session: (any SMTPSession)?
    var receiver: (any SMTPMessageReceiver)?
    var receiverFailure: (any Error)?
    var mechanism: (any SASLServerMechanism)?
    /// SCRAM's server signature went out as a last challenge; success waits for the empty answer.
    var pendingSuccess: SASLAuthentication?
    /// Replies encoded and not yet written, and the last reply, kept apart until the next one so
    /// that STARTTLS's 220 can go out through the TLS upgrade itself.
    var pending: ByteBuffer
    var lastReply: SMTPReply?
    /// How the session ends, for the metrics (until something else is known: the client left).
    var outcome = SessionOutcome.disconnected
    /// The stage whose refusals `swiftmta_messages_rejected_total` counts (mail, rcpt, data), while
    /// its reply is pending.
    var stage: String?
    /// See ``SMTPServerSession/awaitingInput``.
    var awaitingInput: (@Sendable (_ octetsRead: Int) -> Void)?
    var octetsRead = 0

    init(
        configuration: ServerConfiguration, listener: ServerConfiguration.Listener, info: SMTPConnectionInfo,
        registry: ConnectionRegistry, damping: AuthenticationDamping?, channel: any Channel,
        inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator, outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>,
        logger: Logger
    ) {
        self.configuration = configuration
        self.listener = listener
        self.info = info
        self.registry = registry
        self.damping = damping
        self.channel = channel
        self.inbound = inbound
        self.outbound = outbound
        self.logger = logger
        self.tls = info.tls
        self.pending = channel.allocator.buffer(capacity: 512)
        self.machine = SMTPServerStateMachine(configuration: Self.machineConfiguration(configuration, listener: listener, implicitTLS: info.tls != nil))
    }

    /// What the machine may offer on this listener: STARTTLS where a certificate exists and TLS is
    /// not already up, AUTH mechanisms by the policy (on smtps the TLS set from the start).
    static func machineConfiguration(_ configuration: ServerConfiguration, listener: ServerConfiguration.Listener, implicitTLS: Bool) -> SMTPServerConfiguration {
        var extensions = configuration.extensions
        if configuration.privacy.contains(.noReceipts) { extensions.remove(.dsn) }
        if configuration.privacy.contains(.noETRN) { extensions.remove(.etrn) }
        let withTLS = configuration.authentication?.offered(secure: true) ?? []
        let withoutTLS = implicitTLS ? withTLS : configuration.authentication?.offered(secure: false) ?? []
        let greeting = SendmailMacros(hostname: configuration.hostname).expand(configuration.greeting)
        let text = greeting.hasPrefix(configuration.hostname + " ") ? String(greeting.dropFirst(configuration.hostname.count + 1)) : greeting
        var limits = configuration.limits.protocolLimits
        limits.commandTimeout = configuration.limits.commandTimeout
        return SMTPServerConfiguration(
            hostname: configuration.hostname,
            greetingText: text.isEmpty ? "ESMTP" : text,
            dialect: listener.mode == .lmtp ? .lmtp : .smtp,
            limits: limits,
            extensions: extensions,
            startTLSAvailable: configuration.tls != nil && !implicitTLS && listener.mode != .lmtp,
            authMechanismsWithoutTLS: withoutTLS,
            authMechanismsWithTLS: withTLS,
            requireHello: true,
            checkHello: true,
            helpTopics: configuration.help?.machineTopics(hostname: configuration.hostname) ?? [:])
    }

    var relay: String { "[\(info.clientAddress)]" }

    // MARK: - The loop

    mutating func run(backend: any SMTPBackend) async {
        do {
            session = try await backend.makeSession(for: info)
        } catch let refusal as SMTPRefusal {
            logger.notice("connection refused by the backend: \(refusal.reply)")
            return await refuseConnection(refusal.reply)
        } catch {
            logger.error("the backend could not make a session: \(error)")
            return await refuseConnection(ServerReplies.unavailable(host: configuration.hostname))
        }
        let decision = await decide { session in try await session.connected() }
        switch decision.kind {
        case .accept:
            machine.start()
        case .reject(let reply) where reply.code != 421:
            machine.start(rejection: reply)
        case .reject(let reply), .rejectAndClose(let reply):
            await session?.close()
            return await refuseConnection(reply)
        }
        do {
            try await converse()
        } catch {
            logger.debug("connection ended: \(error)")
        }
        if receiver != nil { await receiver?.abort() }
        await session?.close()
        if let misuse = machine.misuseDescription {
            logger.error("session closed after an internal error: \(misuse)")
        }
    }

    private mutating func refuseConnection(_ reply: SMTPReply) async {
        outcome = .refused
        var buffer = channel.allocator.buffer(capacity: 128)
        reply.encode(into: &buffer)
        try? await outbound.write(buffer)
    }

    private mutating func converse() async throws {
        while true {
            while let action = machine.next() {
                guard try await perform(action) else { return }
            }
            try await flush()
            awaitingInput?(octetsRead)
            let received: ByteBuffer?
            do {
                received = try await inbound.next()
            } catch is CommandTimeout {
                // The machine says what a timeout means now (421 4.4.2 and close).
                outcome = .timeout
                machine.timedOut()
                continue
            }
            guard let bytes = received else { return }
            octetsRead += bytes.readableBytes
            if registry.isDraining, receiver == nil, mechanism == nil, bytes.readableBytes > 0 {
                outcome = .shutdown
                queue(ServerReplies.shuttingDown(host: configuration.hostname))
                try await flush()
                return
            }
            machine.receive(bytes)
        }
    }

    /// Performs one action; `false` when the session is over.
    private mutating func perform(_ action: SMTPServerStateMachine.Action) async throws -> Bool {
        switch action {
        case .hello, .verify, .expand, .etrn, .authStart, .authResponse, .authCancelled, .startTLS, .transactionAborted:
            stage = nil
        case .mail:
            stage = "mail"
        case .recipient:
            stage = "rcpt"
        case .data, .messageComplete:
            stage = "data"
        case .send, .close, .messageText:
            break
        }
        switch action {
        case .send(let reply):
            if let stage {
                if reply.isPermanentFailure || reply.isTransientFailure { SessionMetrics.refused(stage: stage, reply) }
                // DATA's 354 and LMTP's reply per recipient keep the stage until the next command.
                if stage != "data" || (reply.code != 354 && listener.mode != .lmtp) { self.stage = nil }
            }
            queue(reply)
        case .close:
            if outcome == .disconnected { outcome = lastReply?.code == 221 ? .quit : .closed }
            try await flush()
            return false
        case .hello(let hello):
            answer(await decide { session in try await session.hello(hello) })
        case .mail(let path, var parameters):
            if listener.mode.requiresAuthentication, authentication == nil {
                machine.reject(ServerReplies.authenticationRequired)
                return true
            }
            // RFC 4954 §5: an AUTH= sender is trusted only from an authenticated client.
            if parameters.authenticatedSender != nil, authentication == nil {
                parameters.authenticatedSender = "<>"
            }
            answer(await decide { session in try await session.mail(from: path, parameters: parameters) })
        case .recipient(let path, let parameters):
            answer(await decide { session in try await session.recipient(path, parameters: parameters) })
        case .data:
            await startMessage()
        case .messageText(let text):
            await append(text)
        case .messageComplete:
            await finishMessage()
        case .transactionAborted:
            if var receiver {
                await receiver.abort()
                self.receiver = nil
            }
            receiverFailure = nil
            await session?.reset()
        case .verify(let argument):
            if configuration.privacy.contains(.needVerifyHelo), machine.hello == nil {
                machine.reject(.badSequence("I demand that you introduce yourself first"))
            } else if configuration.privacy.contains(.noVerify) {
                machine.accept(ServerReplies.cannotVerify)
            } else {
                answer(await decide { session in try await session.verify(argument) })
            }
        case .expand(let argument):
            if configuration.privacy.contains(.needExpandHelo), machine.hello == nil {
                machine.reject(.badSequence("I demand that you introduce yourself first"))
            } else if configuration.privacy.contains(.noExpand) {
                machine.reject(ServerReplies.expandRefused)
            } else {
                answer(await decide { session in try await session.expand(argument) })
            }
        case .etrn:
            machine.reject(ServerReplies.cannotQueue)
        case .authStart(let name, let initialResponse):
            await startAuthentication(name, initialResponse: initialResponse)
        case .authResponse(let response):
            await continueAuthentication(response)
        case .authCancelled:
            mechanism = nil
            pendingSuccess = nil
        case .startTLS(let discarded):
            return try await startTLS(discardedOctets: discarded)
        }
        return true
    }

    // MARK: - Replies

    private mutating func queue(_ reply: SMTPReply) {
        if reply.isPermanentFailure || reply.isTransientFailure {
            logger.info("reply=\(reply)")
        }
        if let lastReply { lastReply.encode(into: &pending) }
        lastReply = reply
    }

    private mutating func flush() async throws {
        if let lastReply {
            lastReply.encode(into: &pending)
            self.lastReply = nil
        }
        guard pending.readableBytes > 0 else { return }
        let bytes = pending
        pending = channel.allocator.buffer(capacity: 512)
        try await outbound.write(bytes)
    }

    /// Asks the backend's session; a refusal thrown becomes its reply, any other error the
    /// generic 451 (logged, never shown to the client).
    private mutating func decide(_ question: (inout any SMTPSession) async throws -> SMTPDecision) async -> SMTPDecision {
        guard var current = session else { return .reject(ServerReplies.localError) }
        defer { session = current }
        do {
            return Self.checked(try await question(&current), logger: logger)
        } catch let refusal as SMTPRefusal {
            return Self.checked(.reject(refusal.reply), logger: logger)
        } catch {
            logger.error("backend error: \(error)")
            return .reject(ServerReplies.localError)
        }
    }

    /// A decision whose reply does not fit it (a refusal with a 2yz code, an acceptance with a
    /// 5yz code) is the backend's bug: the client gets the generic 451.
    static func checked(_ decision: SMTPDecision, logger: Logger) -> SMTPDecision {
        switch decision.kind {
        case .accept(let reply?) where !reply.isPositiveCompletion:
            logger.error("backend accepted with a reply that is not 2yz: \(reply)")
            return .reject(ServerReplies.localError)
        case .reject(let reply) where !(reply.isTransientFailure || reply.isPermanentFailure),
             .rejectAndClose(let reply) where !(reply.isTransientFailure || reply.isPermanentFailure):
            logger.error("backend refused with a reply that is not 4yz or 5yz: \(reply)")
            return .reject(ServerReplies.localError)
        case .accept, .reject, .rejectAndClose:
            return decision
        }
    }

    private mutating func answer(_ decision: SMTPDecision) {
        switch decision.kind {
        case .accept(let reply):
            machine.accept(reply)
        case .reject(let reply):
            // The machine closes after a 421 (RFC 5321 §3.8).
            machine.reject(reply)
        case .rejectAndClose(let reply):
            machine.replyAndClose(reply)
        }
    }

    // MARK: - The message

    private mutating func startMessage() async {
        guard var current = session else { return machine.reject(ServerReplies.localError) }
        let started: any SMTPMessageReceiver
        do {
            started = try await current.message()
            session = current
        } catch {
            session = current
            return answer(failureDecision(error))
        }
        receiver = started
        receiverFailure = nil
        if configuration.addsReceivedHeader {
            let transaction = machine.transaction
            let header = ReceivedHeader(
                helloKind: machine.hello?.kind, helloName: machine.hello?.domain, clientAddress: info.clientAddress, hostname: configuration.hostname, tls: tls,
                shownUser: configuration.receivedHeaderShowsUser ? authentication?.authenticationIdentity : nil,
                authenticated: authentication != nil, smtpUTF8: transaction?.parameters.smtpUTF8 ?? false,
                recipients: transaction?.recipients.map(\.path) ?? [], date: RFC5322Date.now(),
                clientHostName: session?.clientHostName)
            await append(channel.allocator.buffer(string: header.encoded))
        }
        machine.accept()
    }

    private mutating func append(_ text: ByteBuffer) async {
        guard var current = receiver, receiverFailure == nil else { return }
        do {
            try await current.append(text)
            receiver = current
        } catch {
            receiverFailure = error
            await current.abort()
            receiver = current
        }
    }

    private mutating func finishMessage() async {
        guard var current = receiver else {
            return machine.reject(ServerReplies.localError)
        }
        receiver = nil
        let recipients = machine.transaction?.recipients.map(\.path) ?? []
        if let failure = receiverFailure {
            receiverFailure = nil
            let decision = failureDecision(failure)
            if listener.mode == .lmtp {
                machine.finishMessage(replies: Array(repeating: decision.reply ?? ServerReplies.localError, count: max(recipients.count, 1)))
            } else {
                answer(decision)
            }
            await session?.reset()
            return
        }
        if listener.mode == .lmtp {
            var replies: [SMTPReply] = []
            do {
                let decisions = try await current.finish(recipients: recipients)
                if decisions.count == max(recipients.count, 1) {
                    replies = decisions.map { Self.checked($0, logger: logger).reply ?? ServerReplies.localError }
                    replies = zip(decisions, replies).map { $0.isAccepted && $0.reply == nil ? .messageAccepted() : $1 }
                } else {
                    logger.error("the backend gave \(decisions.count) LMTP replies for \(recipients.count) recipients")
                }
            } catch {
                let reply = failureDecision(error).reply ?? ServerReplies.localError
                replies = Array(repeating: reply, count: max(recipients.count, 1))
            }
            if replies.isEmpty { replies = Array(repeating: ServerReplies.localError, count: max(recipients.count, 1)) }
            machine.finishMessage(replies: replies)
        } else {
            do {
                answer(Self.checked(try await current.finish(), logger: logger))
            } catch {
                answer(failureDecision(error))
            }
        }
        await session?.reset()
    }

    private func failureDecision(_ error: any Error) -> SMTPDecision {
        if let refusal = error as? SMTPRefusal { return Self.checked(.reject(refusal.reply), logger: logger) }
        logger.error("backend error: \(error)")
        return .reject(ServerReplies.localError)
    }

    // MARK: - AUTH (RFC 4954)

    private var saslContext: SASLServerContext {
        SASLServerContext(
            isSecure: tls != nil,
            remoteAddress: info.remoteAddress.flatMap { address in address.ipAddress.map { "\($0);\(address.port ?? 0)" } },
            localAddress: info.localAddress.flatMap { address in address.ipAddress.map { "\($0);\(address.port ?? 0)" } })
    }

    private mutating func startAuthentication(_ name: String, initialResponse: [UInt8]?) async {
        guard let service = configuration.authentication, let mechanismName = SASLMechanismName(name),
              service.policy.permits(mechanismName, context: saslContext) else {
            return machine.authFailed(ServerReplies.mechanismUnavailable)
        }
        do {
            var exchange = try service.backend.makeMechanism(mechanismName, context: saslContext)
            let step = try await exchange.start(initialResponse: initialResponse)
            mechanism = exchange
            await advance(step)
        } catch {
            await authenticationFailed(error, mechanism: mechanismName)
        }
    }

    private mutating func continueAuthentication(_ response: [UInt8]) async {
        if let success = pendingSuccess {
            pendingSuccess = nil
            guard response.isEmpty else {
                mechanism = nil
                return await authenticationFailed(SASLError(.malformed, "a response after the server's final message"), mechanism: success.mechanism)
            }
            return await succeed(success)
        }
        guard var exchange = mechanism else {
            return machine.authFailed(ServerReplies.malformedAuthentication)
        }
        do {
            let step = try await exchange.step(response)
            mechanism = exchange
            await advance(step)
        } catch {
            await authenticationFailed(error, mechanism: exchange.name)
        }
    }

    private mutating func advance(_ step: SASLServerStep) async {
        switch step {
        case .challenge(let challenge):
            machine.authChallenge(challenge)
        case .success(let result, let additionalData?):
            // RFC 4954 §4: additional data goes in one more 334; the client answers it empty.
            pendingSuccess = result
            machine.authChallenge(additionalData)
        case .success(let result, nil):
            await succeed(result)
        }
    }

    private mutating func succeed(_ result: SASLAuthentication) async {
        mechanism = nil
        let decision = await decide { session in try await session.authenticated(result) }
        guard decision.isAccepted else {
            logger.notice("AUTH=server, relay=\(relay), authid=\(result.authenticationIdentity), mech=\(result.mechanism), refused by the backend")
            return machine.authFailed(decision.reply)
        }
        damping?.success(client: info.clientAddress)
        Counter(label: "swiftmta_auth_successes_total", dimensions: [("mechanism", result.mechanism.rawValue)]).increment()
        authentication = result
        logger.info("AUTH=server, relay=\(relay), authid=\(result.authenticationIdentity), mech=\(result.mechanism), bits=0")
        machine.authSucceeded(identity: result.authenticationIdentity)
    }

    /// Answers a failed exchange: credentials that do not match after the damping delay (535),
    /// a store that fails with 454, a malformed message with 501. The reason is logged, never a
    /// credential.
    private mutating func authenticationFailed(_ error: any Error, mechanism name: SASLMechanismName) async {
        mechanism = nil
        pendingSuccess = nil
        let reason = (error as? SASLError)?.kind ?? .temporaryFailure
        Counter(label: "swiftmta_auth_failures_total", dimensions: [("mechanism", name.rawValue)]).increment()
        /// Brute-force damping: the answer waits, longer after each failure from this address.
        func damped() async {
            let delay = damping?.failure(client: info.clientAddress) ?? .zero
            logger.notice("AUTH failure (\(name)): \(reason), relay=\(relay), delay=\(ConfigurationReader.format(delay))")
            if delay > .zero { try? await Task.sleep(for: delay) }
        }
        switch reason {
        case .authenticationFailed, .authorizationFailed, .serverAuthenticationFailed:
            await damped()
            machine.authFailed(nil)
        case .malformed, .invalidState:
            await damped()
            machine.authFailed(ServerReplies.malformedAuthentication)
        case .mechanismUnavailable:
            logger.notice("AUTH failure (\(name)): \(reason), relay=\(relay)")
            machine.authFailed(ServerReplies.mechanismUnavailable)
        default:
            logger.notice("AUTH failure (\(name)): \(reason), relay=\(relay)")
            machine.authFailed(ServerReplies.temporaryAuthenticationFailure)
        }
    }

    // MARK: - STARTTLS (RFC 3207)

    private mutating func startTLS(discardedOctets: Int) async throws -> Bool {
        guard let context = configuration.tls, let ready = lastReply else {
            machine.tlsFailed()
            return true
        }
        lastReply = nil
        try await flush()
        if discardedOctets > 0 {
            logger.notice("STARTTLS=server, relay=\(relay), \(discardedOctets) octets pipelined after STARTTLS discarded")
        }
        var encoded = channel.allocator.buffer(capacity: 64)
        ready.encode(into: &encoded)
        do {
            let facts = try await STARTTLS.acceptUpgrade(on: channel, inbound: &inbound, reply: encoded, context: context)
            tls = facts
            authentication = nil
            SessionMetrics.handshake(listener, facts)
            logger.info("STARTTLS=server, relay=\(relay), \(facts.logFields)")
            machine.tlsEstablished()
            if var current = session {
                await current.tlsEstablished(facts)
                session = current
            }
            return true
        } catch let error as TLSError where error.kind == .unreadPlaintext {
            outcome = .tlsFailed
            SessionMetrics.handshake(listener, nil)
            logger.notice("STARTTLS=server, relay=\(relay), error: \(error)")
            queue(ServerReplies.pipeliningAfterSTARTTLS)
            try await flush()
            return false
        } catch {
            outcome = .tlsFailed
            SessionMetrics.handshake(listener, nil)
            logger.notice("STARTTLS=server, relay=\(relay), error: \(error)")
            machine.tlsFailed()
            return false
        }
    }
}

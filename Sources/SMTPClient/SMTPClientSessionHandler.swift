internal import MailAuth
internal import MailTLS
internal import NIOCore
internal import NIOPosix
internal import SMTPProtocol

/// What one session needs beyond the state machine's configuration: who the server is, how TLS
/// and AUTH are done, the timeouts, and where blocking work runs.
struct SMTPSessionSettings: Sendable {
    /// The host name connected to: SNI, certificate name checks, DIGEST-MD5's `digest-uri`.
    var host: String
    /// The address (or socket path) connected to.
    var address: String
    var port: Int
    var mxPreference: UInt16?
    /// The TLS context, when TLS may be started.
    var tlsContext: TLSClientContext?
    /// How the server's certificate is checked.
    var verification: TLSPeerVerification
    var credentials: SMTPClientCredentials?
    var timeouts: SMTPClientTimeouts
    /// Where SASL steps run: SCRAM's PBKDF2 must not run on an event loop.
    var threadPool: NIOThreadPool
    /// Where the dialogue goes, when someone watches it (``SMTPClientConfiguration/transcript``).
    var transcript: (@Sendable (SMTPClientTranscriptLine) -> Void)? = nil

    /// `host[address]:port`, for messages.
    var serverDescription: String { port == 0 ? "\(host)[\(address)]" : "\(host)[\(address)]:\(port)" }
    /// SNI: a host name, never an address.
    var serverName: String? { SMTPDestination.isNumericAddress(Substring(host)) ? nil : host }
}

/// How far a transaction has come, as the handler reports it to the connection.
enum SMTPTransactionProgress: Sendable {
    /// The server waits for the message text (a streamed body).
    case readyForText
    /// The transaction has ended.
    case finished(SMTPSendResult)
}

/// Drives one ``SMTPClientStateMachine`` on its channel's event loop: writes what it says, feeds it
/// what arrives, runs its timers, starts TLS, runs the SASL mechanism (on a thread pool), and
/// answers the ``SMTPClientConnection``'s requests through promises.
///
/// Everything here runs on the channel's event loop; the connection reaches it through
/// `NIOLoopBound`.
final class SMTPClientSessionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private struct Transaction {
        let envelope: SMTPEnvelope
        let adjustments: SMTPClientStateMachine.ParameterAdjustments
        /// The whole message, when it was handed over at once; `nil` for a streamed body.
        var buffered: ByteBuffer?
        var textStarted = false
        var abandoned = false
        /// The promise of the request the connection waits on (begin or finish).
        var progress: EventLoopPromise<SMTPTransactionProgress>?
        /// A streamed chunk waiting for the channel to become writable.
        var textWrite: EventLoopPromise<Bool>?
        /// The result, when it came before the connection asked for it.
        var finished: SMTPSendResult?
    }

    private var machine: SMTPClientStateMachine
    private let settings: SMTPSessionSettings
    private let implicitHandshake: EventLoopFuture<TLSSessionFacts>?
    private var context: ChannelHandlerContext?
    private var timer: Scheduled<Void>?
    private var outgoing: ByteBuffer?

    private var openPromise: EventLoopPromise<SMTPServerInfo>?
    private var transaction: Transaction?
    private var quitPromise: EventLoopPromise<Void>?
    /// Why the session ended, once it has.
    private(set) var failure: SMTPClientError?
    private var started = false
    private var isInactive = false
    private var cancelled = false

    private var tlsFacts: TLSSessionFacts?
    private var tlsError: TLSError?
    private var mechanism: (any SASLClientMechanism)?
    private var authMechanism: SASLMechanismName?
    /// An AUTH problem found on this side (no usable mechanism, a SASL error, a server that did not
    /// prove itself); it explains the failure that follows.
    private var authProblem: SMTPClientError?

    init(
        configuration: SMTPClientStateMachine.Configuration, settings: SMTPSessionSettings,
        openPromise: EventLoopPromise<SMTPServerInfo>, implicitHandshake: EventLoopFuture<TLSSessionFacts>?
    ) {
        self.machine = SMTPClientStateMachine(configuration: configuration)
        self.settings = settings
        self.openPromise = openPromise
        self.implicitHandshake = implicitHandshake
    }

    /// The server as known so far.
    var serverInfo: SMTPServerInfo {
        SMTPServerInfo(
            host: settings.host, address: settings.address, port: settings.port, mxPreference: settings.mxPreference,
            greeting: machine.capabilities.greeting, capabilities: machine.capabilities, tls: tlsFacts,
            authenticationMechanism: authMechanism)
    }

    /// Whether the session can take another transaction.
    var isUsable: Bool { failure == nil && !machine.isClosed && !isInactive }

    // MARK: - Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if let implicitHandshake {
            implicitHandshake.assumeIsolated().whenComplete { result in
                switch result {
                case .success(let facts): self.tlsFacts = facts
                case .failure(let error): self.tlsError = error as? TLSError
                }
            }
        }
        if context.channel.isActive { start() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        timer?.cancel()
        timer = nil
        // No promise outlives the handler.
        failPending(failure ?? makeError(.connectionLost, stage: Self.stage(machine.stage), "the connection closed"))
        let quit = quitPromise
        quitPromise = nil
        quit?.succeed(())
    }

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        start()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        if settings.transcript != nil { transcribeReceived(bytes) }
        machine.receive(bytes)
        drain()
    }

    /// Reply text received but not yet ended by CRLF, for the transcript.
    private var transcriptPending: [UInt8] = []

    private func transcribeReceived(_ bytes: ByteBuffer) {
        guard let transcript = settings.transcript else { return }
        for byte in bytes.readableBytesView {
            if byte == UInt8(ascii: "\n") {
                if transcriptPending.last == UInt8(ascii: "\r") { transcriptPending.removeLast() }
                transcript(SMTPClientTranscriptLine(
                    direction: .received, text: String(decoding: transcriptPending, as: UTF8.self), server: settings.serverDescription))
                transcriptPending.removeAll(keepingCapacity: true)
            } else if transcriptPending.count < 2048 {
                transcriptPending.append(byte)
            }
        }
    }

    private func transcribeSent(_ command: SMTPCommand) {
        guard let transcript = settings.transcript else { return }
        let text: String
        if case .auth(let mechanism, let initial) = command {
            text = "AUTH \(mechanism)" + (initial == nil ? "" : " <initial response not shown>")
        } else {
            var buffer = ByteBuffer()
            command.encode(into: &buffer)
            var bytes = Array(buffer.readableBytesView)
            while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { bytes.removeLast() }
            text = String(decoding: bytes, as: UTF8.self)
        }
        transcript(SMTPClientTranscriptLine(direction: .sent, text: text, server: settings.serverDescription))
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, let write = transaction?.textWrite {
            transaction?.textWrite = nil
            write.succeed(true)
            scheduleTimer()
        }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? TLSError {
            // A close without close_notify after QUIT's 221 is the server's habit, not a failure.
            if error.kind == .uncleanShutdown, machine.isClosed { return }
            tlsError = error
        }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        isInactive = true
        timer?.cancel()
        timer = nil
        machine.connectionClosed()
        drain()
        let ending = failure ?? makeError(.connectionLost, stage: .quit, "connection closed")
        failPending(ending)
        let quit = quitPromise
        quitPromise = nil
        quit?.succeed(())
        context.fireChannelInactive()
    }

    private func start() {
        guard !started, !machine.isClosed else { return }
        started = true
        perform { machine in try machine.start() }
        drain()
    }

    // MARK: - Requests from the connection

    /// Starts a transaction: with the whole message in `buffered`, the result comes when it is done;
    /// otherwise ``SMTPTransactionProgress/readyForText`` comes first and the text follows with
    /// ``writeText(_:)`` and ``finishText()``. With `resetFirst`, an RSET goes first.
    func begin(_ envelope: SMTPEnvelope, buffered: ByteBuffer?, resetFirst: Bool, eventLoop: any EventLoop) -> EventLoopFuture<SMTPTransactionProgress> {
        if let failure { return eventLoop.makeFailedFuture(failure) }
        guard transaction == nil else {
            return eventLoop.makeFailedFuture(makeError(.invalidRequest, stage: .mail, "another transaction is in progress on this connection"))
        }
        if resetFirst, machine.isReady { perform { machine in try machine.reset() } }
        let adjustments: SMTPClientStateMachine.ParameterAdjustments
        do {
            adjustments = try machine.send(envelope)
        } catch let error where error.reply != nil {
            // Refused here before MAIL: the client's own reply for every recipient.
            let reply = error.reply!
            let results = envelope.recipients.map {
                SMTPRecipientResult(recipient: $0.path, reply: reply, stage: .mail, isClientDecision: true)
            }
            drain()
            return eventLoop.makeSucceededFuture(.finished(SMTPSendResult(recipients: results, messageReply: nil, server: serverInfo)))
        } catch {
            drain()
            return eventLoop.makeFailedFuture(makeError(.invalidRequest, stage: .mail, error.message))
        }
        let promise = eventLoop.makePromise(of: SMTPTransactionProgress.self)
        transaction = Transaction(envelope: envelope, adjustments: adjustments, buffered: buffered, progress: promise)
        drain()
        return promise.futureResult
    }

    /// Writes a piece of a streamed message. The future says `true` when the next piece may follow,
    /// `false` when the server refused a chunk and no more text is wanted (RFC 3030 §2).
    func writeText(_ text: ByteBuffer, eventLoop: any EventLoop) -> EventLoopFuture<Bool> {
        if let failure { return eventLoop.makeFailedFuture(failure) }
        guard let current = transaction, current.textStarted else {
            return eventLoop.makeFailedFuture(makeError(.invalidRequest, stage: .messageText, "message text outside a message"))
        }
        if current.abandoned { return eventLoop.makeSucceededFuture(false) }
        perform { machine in try machine.messageText(text) }
        drain()
        if let failure { return eventLoop.makeFailedFuture(failure) }
        if transaction?.abandoned ?? true { return eventLoop.makeSucceededFuture(false) }
        if context?.channel.isWritable ?? false { return eventLoop.makeSucceededFuture(true) }
        // RFC 5321 §4.5.3.2.5: each block of text has 3 minutes to go out.
        let promise = eventLoop.makePromise(of: Bool.self)
        transaction?.textWrite = promise
        scheduleTimer()
        return promise.futureResult
    }

    /// Ends a streamed message; the future gives the transaction's result.
    func finishText(eventLoop: any EventLoop) -> EventLoopFuture<SMTPTransactionProgress> {
        if let finished = transaction?.finished {
            transaction = nil
            return eventLoop.makeSucceededFuture(.finished(finished))
        }
        if let failure { return eventLoop.makeFailedFuture(failure) }
        guard let current = transaction, current.textStarted else {
            return eventLoop.makeFailedFuture(makeError(.invalidRequest, stage: .messageText, "no message is being sent"))
        }
        let promise = eventLoop.makePromise(of: SMTPTransactionProgress.self)
        transaction?.progress = promise
        if !current.abandoned { perform { machine in try machine.endMessage() } }
        drain()
        return promise.futureResult
    }

    /// Gives up the message being sent: the connection closes without the final dot, so the
    /// server never takes a message cut short (RFC 5321 §4.1.1.4).
    func abandon(because error: SMTPClientError) {
        guard !machine.isClosed else { return }
        if failure == nil { failure = error }
        perform { machine in try machine.quit() }
        drain()
    }

    /// Ends the session with QUIT (or at once, in the middle of an exchange); the future completes
    /// when the connection has closed.
    func quit(eventLoop: any EventLoop) -> EventLoopFuture<Void> {
        if isInactive { return eventLoop.makeSucceededVoidFuture() }
        if let quitPromise { return quitPromise.futureResult }
        let promise = eventLoop.makePromise(of: Void.self)
        quitPromise = promise
        if machine.isClosed {
            context?.close(promise: nil)
        } else {
            perform { machine in try machine.quit() }
            drain()
        }
        return promise.futureResult
    }

    /// The task waiting on the session was cancelled: close the connection.
    func cancel() {
        guard !isInactive else { return }
        cancelled = true
        if failure == nil { failure = makeError(.cancelled, stage: Self.stage(machine.stage), "the task was cancelled") }
        if !machine.isClosed { perform { machine in try machine.quit() } }
        drain()
        context?.close(promise: nil)
    }

    // MARK: - Performing the machine's actions

    /// Runs a machine call. A refusal here means the handler and the machine disagree about the
    /// state, which only a closed session explains; otherwise the session fails loudly.
    private func perform(_ call: (inout SMTPClientStateMachine) throws -> Void) {
        do {
            try call(&machine)
        } catch {
            guard !machine.isClosed else { return }
            failure = failure ?? makeError(.protocolViolation, stage: Self.stage(machine.stage), "internal error: \(error)")
            try? machine.quit()
        }
    }

    private func drain() {
        guard let context else { return }
        while let action = machine.next() {
            switch action {
            case .send(let command):
                if settings.transcript != nil { transcribeSent(command) }
                var buffer = outgoing ?? context.channel.allocator.buffer(capacity: 256)
                command.encode(into: &buffer)
                outgoing = buffer
            case .sendText(let text):
                write(text, context: context)
            case .startTLS:
                flush(context: context)
                startTLS(context: context)
            case .authenticate(let offered):
                beginAuthentication(offered: offered, context: context)
            case .authenticationChallenge(let challenge):
                answer(challenge, context: context)
            case .ready:
                sessionReady()
            case .sendMessage:
                transaction?.textStarted = true
                if let text = transaction?.buffered {
                    transaction?.buffered = nil
                    perform { machine in
                        try machine.messageText(text)
                        try machine.endMessage()
                    }
                } else if let progress = transaction?.progress {
                    transaction?.progress = nil
                    progress.succeed(.readyForText)
                }
            case .abandonMessage:
                transaction?.abandoned = true
                if let write = transaction?.textWrite {
                    transaction?.textWrite = nil
                    write.succeed(false)
                }
            case .transactionComplete(let result):
                complete(result)
            case .failed(let error):
                sessionFailed(error)
            case .close:
                flush(context: context)
                context.close(promise: nil)
            }
        }
        flush(context: context)
        scheduleTimer()
    }

    private func write(_ text: ByteBuffer, context: ChannelHandlerContext) {
        if var pending = outgoing, pending.readableBytes + text.readableBytes <= 16 * 1024 {
            var text = text
            pending.writeBuffer(&text)
            outgoing = pending
            return
        }
        if let pending = outgoing {
            context.write(wrapOutboundOut(pending), promise: nil)
            outgoing = nil
        }
        context.write(wrapOutboundOut(text), promise: nil)
        context.flush()
    }

    private func flush(context: ChannelHandlerContext) {
        guard let pending = outgoing else { return }
        outgoing = nil
        context.writeAndFlush(wrapOutboundOut(pending), promise: nil)
    }

    /// One timer for whatever the session waits for: a reply (its stage's timeout), the TLS
    /// handshake, or a block of text to go out.
    private func scheduleTimer() {
        timer?.cancel()
        timer = nil
        guard let context, !machine.isClosed else { return }
        let stage: SMTPClientStage
        if let awaited = machine.awaitedReply {
            stage = awaited
        } else if machine.stage == .tlsHandshake {
            stage = .tlsHandshake
        } else if transaction?.textWrite != nil {
            stage = .messageText
        } else {
            return
        }
        let timeout = settings.timeouts[stage]
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(timeout)) { [self] in
            timer = nil
            guard !machine.isClosed else { return }
            machine.timedOut()
            drain()
        }
    }

    // MARK: - TLS

    private func startTLS(context: ChannelHandlerContext) {
        guard let tlsContext = settings.tlsContext else {
            perform { machine in try machine.tlsFailed("no TLS context was configured") }
            return
        }
        let promise = context.eventLoop.makePromise(of: TLSSessionFacts.self)
        do {
            let handler = try TLSHandler(
                clientContext: tlsContext, serverName: settings.serverName, verification: settings.verification,
                handshakePromise: promise)
            try context.pipeline.syncOperations.addHandler(handler, position: .first)
        } catch {
            promise.fail(error)
        }
        promise.futureResult.assumeIsolated().whenComplete { result in
            switch result {
            case .success(let facts):
                self.tlsFacts = facts
                self.perform { machine in try machine.tlsEstablished() }
            case .failure(let error):
                self.tlsError = error as? TLSError ?? self.tlsError
                self.perform { machine in try machine.tlsFailed("\(error)") }
            }
            self.drain()
        }
    }

    // MARK: - AUTH

    private func beginAuthentication(offered: [String], context: ChannelHandlerContext) {
        guard let credentials = settings.credentials else {
            perform { machine in try machine.skipAuthentication() }
            return
        }
        let names = offered.compactMap { SASLMechanismName($0) }
        guard let name = Self.chooseMechanism(offered: names, credentials: credentials, isSecure: machine.isTLSActive) else {
            let plaintextOnly = names.allSatisfy { $0 == .plain || $0 == .login }
            let reason = !machine.isTLSActive && plaintextOnly && !credentials.allowsPlaintextWithoutTLS
                ? "it offers only plaintext mechanisms and the connection is not encrypted (allow them with allowsPlaintextWithoutTLS)"
                : "none of them is one the credentials allow (\(credentials.mechanisms?.map(\.rawValue).joined(separator: " ") ?? "any the client implements"))"
            giveUp(makeError(
                .authenticationUnavailable, stage: .authentication,
                "the server offers AUTH \(offered.joined(separator: " ")); \(reason)"))
            return
        }
        let mechanism: any SASLClientMechanism
        do {
            mechanism = try SASLClientNegotiation.makeMechanism(
                name, credentials: credentials.sasl, host: settings.host, offered: names)
        } catch {
            giveUp(makeError(.authenticationUnavailable, stage: .authentication, "\(error)"))
            return
        }
        runMechanism(context: context, mechanism) { mechanism in
            try mechanism.start()
        } then: { initial in
            self.authMechanism = name
            self.perform { machine in try machine.startAuthentication(mechanism: name.rawValue, initialResponse: initial) }
        }
    }

    private func answer(_ challenge: [UInt8], context: ChannelHandlerContext) {
        guard let mechanism else {
            perform { machine in try machine.cancelAuthentication() }
            return
        }
        runStep(context: context, mechanism, challenge) { response in
            self.perform { machine in try machine.authenticationResponse(response) }
        }
    }

    /// Answers a challenge: the step is async (SCRAM's PBKDF2 runs on MailAuth's key-derivation
    /// pool, libsasl2's client step on its own pool), then `then` back on the event loop.
    private func runStep(
        context: ChannelHandlerContext, _ mechanism: any SASLClientMechanism, _ challenge: [UInt8],
        then: @escaping ([UInt8]) -> Void
    ) {
        let promise = context.eventLoop.makePromise(of: Outcome<[UInt8]>.self)
        Task {
            var copy = mechanism
            do throws(SASLError) {
                let output = try await copy.step(challenge)
                promise.succeed(.success(copy, output))
            } catch {
                promise.succeed(.failure(error))
            }
        }
        promise.futureResult.assumeIsolated().whenComplete { result in
            self.finishMechanismCall(result, then: then)
        }
    }

    /// Runs a step of the mechanism on the thread pool (SCRAM's PBKDF2 may take milliseconds), then
    /// `then` back on the event loop. A SASL error cancels the exchange (RFC 4954 §4).
    private func runMechanism<T: Sendable>(
        context: ChannelHandlerContext, _ mechanism: any SASLClientMechanism,
        _ step: @escaping @Sendable (inout any SASLClientMechanism) throws -> T,
        then: @escaping (T) -> Void
    ) {
        settings.threadPool.runIfActive(eventLoop: context.eventLoop) { () throws -> Outcome<T> in
            var copy = mechanism
            do {
                let output = try step(&copy)
                return .success(copy, output)
            } catch let error as SASLError {
                return .failure(error)
            } catch {
                return .failure(SASLError(.invalidState, "\(error)", mechanism: copy.name))
            }
        }.assumeIsolated().whenComplete { result in
            self.finishMechanismCall(result, then: then)
        }
    }

    /// Back on the event loop after a mechanism call: keep the updated mechanism and go on, or
    /// cancel the exchange.
    private func finishMechanismCall<T: Sendable>(_ result: Result<Outcome<T>, any Error>, then: (T) -> Void) {
        switch result {
        case .success(.success(let updated, let output)):
            mechanism = updated
            then(output)
        case .success(.failure(let error)):
            authProblem = makeError(.authenticationFailed, stage: .authentication, "\(error)")
            cancelExchange()
        case .failure(let error):
            authProblem = makeError(.authenticationFailed, stage: .authentication, "the SASL step could not run: \(error)")
            cancelExchange()
        }
        drain()
    }

    private enum Outcome<T: Sendable>: Sendable {
        case success(any SASLClientMechanism, T)
        case failure(SASLError)
    }

    /// Ends a session that cannot authenticate as asked: skip AUTH if it is being decided, then
    /// QUIT. The problem is what every request learns.
    private func giveUp(_ problem: SMTPClientError) {
        authProblem = problem
        if failure == nil { failure = problem }
        perform { machine in
            if machine.stage == .authentication, machine.awaitedReply == nil {
                try machine.skipAuthentication()
            }
            try machine.quit()
        }
    }

    private func cancelExchange() {
        if machine.stage == .authentication, !machine.isReady {
            perform { machine in
                if machine.awaitedReply == nil {
                    do { try machine.cancelAuthentication() } catch { try machine.quit() }
                }
            }
        }
    }

    /// The mechanism for `credentials` among those `offered`: MailAuth's preference (SCRAM,
    /// DIGEST-MD5, CRAM-MD5, then PLAIN and LOGIN only under TLS unless allowed), limited to the
    /// credentials' `M:` list; EXTERNAL and XOAUTH2 only when `M:` names them.
    static func chooseMechanism(offered: [SASLMechanismName], credentials: SMTPClientCredentials, isSecure: Bool) -> SASLMechanismName? {
        if let chosen = SASLClientNegotiation.choose(
            offered: offered, allowed: credentials.mechanisms, isSecure: isSecure,
            plaintextWithoutTLS: credentials.allowsPlaintextWithoutTLS)
        {
            return chosen
        }
        for name in credentials.mechanisms ?? [] where offered.contains(name) {
            switch name {
            case .external: return name
            case .xoauth2: if isSecure || credentials.allowsPlaintextWithoutTLS { return name }
            default: continue
            }
        }
        return nil
    }

    // MARK: - Outcomes

    private func sessionReady() {
        if authProblem != nil { return }
        if let credentials = settings.credentials, !machine.isAuthenticated {
            giveUp(makeError(
                .authenticationUnavailable, stage: .authentication,
                "credentials for \(credentials.authenticationIdentity) were given but the server does not offer AUTH"))
            return
        }
        if machine.isAuthenticated, var mechanism {
            do {
                try mechanism.finish(additionalData: nil)
                self.mechanism = nil
            } catch {
                giveUp(makeError(.authenticationFailed, stage: .authentication, "\(error)"))
                return
            }
        }
        let promise = openPromise
        openPromise = nil
        promise?.succeed(serverInfo)
    }

    private func complete(_ result: SMTPTransactionResult) {
        guard var current = transaction else { return }
        let messageStage: SMTPClientError.Stage =
            current.abandoned ? .chunk : current.textStarted ? .dataTermination : .dataInitiation
        let recipients = current.envelope.recipients.indices.map { index -> SMTPRecipientResult in
            let reply = result.outcome(forRecipientAt: index)
            let stage: SMTPClientError.Stage
            if !result.mailReply.isPositiveCompletion {
                stage = .mail
            } else if let rcpt = result.recipientReplies[index], !rcpt.isPositiveCompletion {
                stage = .recipient
            } else {
                stage = messageStage
            }
            return SMTPRecipientResult(recipient: current.envelope.recipients[index].path, reply: reply, stage: stage)
        }
        let sendResult = SMTPSendResult(
            recipients: recipients, messageReply: current.textStarted ? result.messageReply : nil, server: serverInfo,
            droppedDSNParameters: current.adjustments.contains(.dsnDropped))
        if let progress = current.progress {
            transaction = nil
            progress.succeed(.finished(sendResult))
        } else {
            current.finished = sendResult
            transaction = current
        }
    }

    private func sessionFailed(_ error: SMTPClientSessionError) {
        let clientError = makeError(from: error)
        if failure == nil { failure = clientError }
        failPending(failure ?? clientError)
    }

    private func failPending(_ error: SMTPClientError) {
        if let open = openPromise {
            openPromise = nil
            open.fail(error)
        }
        if let current = transaction {
            transaction = nil
            current.textWrite?.fail(error)
            if let finished = current.finished {
                // The result was complete before the session ended: it stands.
                current.progress?.succeed(.finished(finished))
            } else {
                current.progress?.fail(error)
            }
        }
    }

    /// The client error for a session error: the AUTH or TLS problem found here when there is one,
    /// the answers received so far when a transaction broke off.
    private func makeError(from error: SMTPClientSessionError) -> SMTPClientError {
        if cancelled, let failure { return failure }
        if let authProblem {
            guard let reply = error.reply, error.kind == .authenticationFailed else { return authProblem }
            return SMTPClientError(authProblem.kind, stage: authProblem.stage, reply: reply, server: authProblem.server, authProblem.message)
        }
        let stage = SMTPClientError.Stage(error.stage)
        if let tlsError, error.kind == .tlsFailed || error.kind == .connectionLost {
            if tlsError.kind == .verificationFailed || error.kind == .tlsFailed || error.stage == .greeting || error.stage == .tlsHandshake {
                return makeError(.tlsFailed, stage: error.stage == .greeting ? .tlsHandshake : stage, tlsError.message)
            }
        }
        let kind: SMTPClientError.Kind
        switch error.kind {
        case .refused: kind = .refused
        case .serviceClosing: kind = .serviceClosing
        case .tlsUnavailable: kind = .tlsUnavailable
        case .tlsFailed: kind = .tlsFailed
        case .authenticationFailed: kind = .authenticationFailed
        case .protocolViolation: kind = .protocolViolation
        case .timedOut: kind = .timedOut
        default: kind = .connectionLost
        }
        let message = error.kind == .timedOut
            ? "no reply within the \(error.stage) timeout of \(settings.timeouts[error.stage])"
            : error.message
        return makeError(kind, stage: stage, reply: error.reply, message, partial: partialResult(error))
    }

    /// What a broken-off transaction had achieved: a recipient refused for good stays refused; the
    /// others failed for now, with the reply that ended the session or one made here.
    private func partialResult(_ error: SMTPClientSessionError) -> SMTPSendResult? {
        guard let current = transaction else { return nil }
        let fallback = error.reply.map { ($0, false) }
            ?? (SMTPReply(451, .badConnection, "\(error.kind) at \(error.stage) with \(settings.serverDescription)"), true)
        let stage = SMTPClientError.Stage(error.stage)
        let recipients = current.envelope.recipients.indices.map { index -> SMTPRecipientResult in
            let path = current.envelope.recipients[index].path
            if let cut = error.transaction {
                if !cut.mailReply.isPositiveCompletion {
                    return SMTPRecipientResult(recipient: path, reply: cut.mailReply, stage: .mail)
                }
                if let rcpt = cut.recipientReplies[index], !rcpt.isPositiveCompletion {
                    return SMTPRecipientResult(recipient: path, reply: rcpt, stage: .recipient)
                }
            }
            return SMTPRecipientResult(recipient: path, reply: fallback.0, stage: stage, isClientDecision: fallback.1)
        }
        return SMTPSendResult(
            recipients: recipients, messageReply: nil, server: serverInfo,
            droppedDSNParameters: current.adjustments.contains(.dsnDropped))
    }

    private func makeError(
        _ kind: SMTPClientError.Kind, stage: SMTPClientError.Stage, reply: SMTPReply? = nil, _ message: String,
        partial: SMTPSendResult? = nil
    ) -> SMTPClientError {
        SMTPClientError(kind, stage: stage, reply: reply, server: settings.serverDescription, message, partialResult: partial)
    }

    static func stage(_ stage: SMTPClientStage) -> SMTPClientError.Stage { SMTPClientError.Stage(stage) }
}

@available(*, unavailable)
extension SMTPClientSessionHandler: Sendable {}

public import NIOCore

/// The server side of an SMTP (or LMTP) session as a value: bytes and answers in, actions out.
///
/// The machine does all of the protocol — framing, command syntax, the order of commands, the
/// transaction, DATA and BDAT, the AUTH exchange, STARTTLS, pipelining, limits and error counting —
/// and decides nothing else. Every policy question (may this sender send, does this recipient
/// exist, may this client relay, is this message stored) is an ``Action`` that asks the caller, who
/// answers with ``accept(_:)``, ``reject(_:)`` or the answer the action names.
///
/// Driving it:
/// ```swift
/// var machine = SMTPServerStateMachine(configuration: configuration)
/// machine.start()
/// while true {
///     while let action = machine.next() {
///         switch action {
///         case .send(let reply): write(reply)            // flush when next() returns nil
///         case .recipient(let path, _): machine.accept() // or reject(…), after asking policy
///         …
///         }
///     }
///     machine.receive(try await readBytes())
/// }
/// ```
/// ``next()`` returns `nil` when it needs more bytes or an answer. Replies may be batched and
/// written when it returns `nil`: that is the flush point pipelining needs (RFC 2920 §3).
public struct SMTPServerStateMachine: Sendable {
    /// What the caller must do next.
    public enum Action: Hashable, Sendable {
        /// Send this reply.
        case send(SMTPReply)
        /// HELO, EHLO or LHLO was received (only with ``SMTPServerConfiguration/checkHello``).
        /// Answer ``accept(_:)`` or ``reject(_:)``.
        case hello(Hello)
        /// MAIL was received and is well formed. Answer ``accept(_:)`` or ``reject(_:)``.
        case mail(ReversePath, MailParameters)
        /// RCPT was received and is well formed. Answer ``accept(_:)`` or ``reject(_:)``.
        case recipient(ForwardPath, RecipientParameters)
        /// The client wants to send the message (DATA, or its first BDAT). Answer ``accept(_:)``
        /// or ``reject(_:)``.
        case data
        /// Message text (unstuffed, CRLF line ends): store it.
        case messageText(ByteBuffer)
        /// The whole message was received. Answer ``accept(_:)`` (with the reply that carries the
        /// queue ID) or ``reject(_:)`` — or, for LMTP, ``finishMessage(replies:)``.
        case messageComplete
        /// The transaction ended without a message: discard any text stored for it.
        case transactionAborted
        /// `VRFY`. Answer ``accept(_:)`` with the reply, or ``reject(_:)``.
        case verify(String)
        /// `EXPN`. Answer ``accept(_:)`` with the reply, or ``reject(_:)``.
        case expand(String)
        /// `ETRN`. Answer ``accept(_:)`` or ``reject(_:)``.
        case etrn(String)
        /// `AUTH` with an offered mechanism: start it (with the initial response, if any) and
        /// answer ``authChallenge(_:)``, ``authSucceeded(identity:)`` or ``authFailed(_:)``.
        case authStart(mechanism: String, initialResponse: [UInt8]?)
        /// The client's next AUTH response, decoded. Answer as for ``authStart(mechanism:initialResponse:)``.
        case authResponse([UInt8])
        /// The client cancelled the AUTH exchange (`*`) or sent bad base64; the reply was queued.
        /// Discard the mechanism.
        case authCancelled
        /// The 220 reply to STARTTLS has been queued: write it, flush, then start TLS and call
        /// ``tlsEstablished()`` or ``tlsFailed()``. `discardedOctets` counts plaintext the client
        /// sent after STARTTLS, which was thrown away (RFC 3207 §4.2 injection defence).
        case startTLS(discardedOctets: Int)
        /// Close the connection (after writing what was queued).
        case close
    }

    /// The client's greeting.
    public struct Hello: Hashable, Sendable {
        /// Which command it was.
        public enum Kind: Hashable, Sendable {
            case helo, ehlo, lhlo
        }

        public var kind: Kind
        /// The argument as sent: a domain, an address literal, or whatever the client said.
        public var domain: String
    }

    /// The mail transaction in progress (RFC 5321 §3.3). RSET, HELO/EHLO and STARTTLS drop it.
    public struct Transaction: Hashable, Sendable {
        /// Accepted recipients and their parameters, in order.
        public struct Recipient: Hashable, Sendable {
            public var path: ForwardPath
            public var parameters: RecipientParameters
        }

        /// MAIL FROM's path.
        public var reversePath: ReversePath
        /// MAIL FROM's parameters.
        public var parameters: MailParameters
        /// The recipients accepted so far.
        public var recipients: [Recipient] = []
        /// RCPT commands received, accepted or not.
        public var recipientsAttempted = 0
        /// Octets received with BDAT so far.
        public var chunkedSize = 0
        /// Whether BDAT has started the message text.
        public var usesChunking = false
        /// Whether a BDAT chunk failed; only RSET (or a new transaction after it) helps then.
        public var failed = false
    }

    private enum Question: Hashable, Sendable {
        case hello(Hello)
        case mail(ReversePath, MailParameters)
        case recipient(ForwardPath, RecipientParameters)
        case data(chunk: Chunk?)
        case message
        case verify, expand, etrn
        case authentication(mechanism: String)
    }

    private struct Chunk: Hashable, Sendable {
        var size: Int
        var last: Bool
    }

    private enum State: Hashable, Sendable {
        /// ``start(rejection:)`` has not been called.
        case notStarted
        /// The greeting refused the client: only QUIT is served (RFC 5321 §3.1).
        case refused
        /// Reading commands.
        case command
        /// Waiting for the caller's answer.
        case awaiting(Question)
        /// Reading DATA text.
        case data(SMTPDataReader)
        /// Reading the octets of a BDAT chunk; `rejection` set when they are only discarded.
        case chunk(remaining: Int, chunk: Chunk, rejection: SMTPReply?)
        /// Waiting for the client's next AUTH response line.
        case authenticating(mechanism: String)
        /// STARTTLS accepted; waiting for the TLS handshake.
        case startingTLS
        /// Done.
        case closed
    }

    /// The configuration the session runs with.
    public let configuration: SMTPServerConfiguration
    /// The client's HELO/EHLO/LHLO, once accepted.
    public private(set) var hello: Hello?
    /// Whether TLS is active on the connection.
    public private(set) var isTLSActive = false
    /// The identity authenticated with AUTH, if any.
    public private(set) var authenticatedIdentity: String?
    /// The SASL mechanism that authenticated the session, if any.
    public private(set) var authenticatedMechanism: String?
    /// The mail transaction in progress.
    public private(set) var transaction: Transaction?
    /// Replies with a 5yz code sent so far.
    public private(set) var errorCount = 0
    /// When the caller answered out of turn (a bug in the caller), what it did; the session was
    /// closed with 421.
    public private(set) var misuseDescription: String?

    private var state = State.notStarted
    private var input = ByteBuffer()
    private var framer: SMTPLineFramer
    private var queue: [Action] = []

    public init(configuration: SMTPServerConfiguration) {
        self.configuration = configuration
        self.framer = SMTPLineFramer(maximumLineLength: configuration.limits.commandLineLength)
    }

    /// A short name of the current state, for trace logs.
    public var stateDescription: String {
        switch state {
        case .notStarted: "not started"
        case .refused: "refused"
        case .command: transaction == nil ? "command" : "transaction"
        case .awaiting(let question): "awaiting \(question)"
        case .data: "data"
        case .chunk(let remaining, _, _): "chunk (\(remaining) octets to go)"
        case .authenticating(let mechanism): "authenticating \(mechanism)"
        case .startingTLS: "starting TLS"
        case .closed: "closed"
        }
    }

    /// Whether the session has ended.
    public var isClosed: Bool { state == .closed }

    /// Bytes received that are not yet processed.
    public var bufferedByteCount: Int { input.readableBytes }

    // MARK: - Events in

    /// Opens the session: queues the 220 greeting, or `rejection` (a 554, RFC 5321 §3.1) after
    /// which only QUIT is served.
    public mutating func start(rejection: SMTPReply? = nil) {
        guard state == .notStarted else { return misuse("start() called twice") }
        if let rejection {
            queue.append(.send(rejection))
            state = .refused
        } else {
            queue.append(.send(.serviceReady(host: configuration.hostname, text: configuration.greetingText)))
            state = .command
        }
    }

    /// Adds bytes received from the client.
    public mutating func receive(_ bytes: ByteBuffer) {
        guard state != .closed else { return }
        var bytes = bytes
        input.writeBuffer(&bytes)
    }

    /// The next action, or `nil` when the machine needs more bytes or the answer to an action.
    public mutating func next() -> Action? {
        while queue.isEmpty {
            guard step() else { break }
        }
        return queue.isEmpty ? nil : queue.removeFirst()
    }

    // MARK: - Answers in

    /// Accepts what the last action asked about, with the standard reply or `reply`.
    public mutating func accept(_ reply: SMTPReply? = nil) {
        guard case .awaiting(let question) = state else { return misuse("accept() without a question") }
        state = .command
        switch question {
        case .hello(let hello):
            acceptHello(hello, reply: reply)
        case .mail(let path, let parameters):
            transaction = Transaction(reversePath: path, parameters: parameters)
            send(reply ?? .senderOK(path))
        case .recipient(let path, let parameters):
            transaction?.recipients.append(Transaction.Recipient(path: path, parameters: parameters))
            send(reply ?? .recipientOK(path))
        case .data(nil):
            send(reply ?? .startMailInput)
            state = .data(SMTPDataReader(
                maximumSize: configuration.limits.messageSize,
                maximumLineLength: configuration.limits.textLineLength))
        case .data(let chunk?):
            transaction?.usesChunking = true
            state = .chunk(remaining: chunk.size, chunk: chunk, rejection: nil)
        case .message:
            guard configuration.dialect == .smtp else { return misuse("accept() for an LMTP message; use finishMessage(replies:)") }
            transaction = nil
            send(reply ?? .messageAccepted())
        case .verify, .expand:
            send(reply ?? SMTPReply(252, EnhancedStatusCode(2, 5, 2), "Cannot VRFY user, but will accept message and attempt delivery"))
        case .etrn:
            send(reply ?? SMTPReply(250, .success, "Queuing started"))
        case .authentication:
            misuse("accept() during AUTH; use authChallenge, authSucceeded or authFailed")
        }
    }

    /// Refuses what the last action asked about with `reply` (a 4yz or 5yz reply).
    public mutating func reject(_ reply: SMTPReply) {
        guard case .awaiting(let question) = state else { return misuse("reject() without a question") }
        state = .command
        switch question {
        case .hello, .mail, .recipient, .verify, .expand, .etrn:
            send(reply)
        case .data(nil):
            send(reply)
        case .data(let chunk?):
            // The chunk's octets follow the command regardless: read and drop them (RFC 3030 §2).
            transaction?.failed = true
            state = .chunk(remaining: chunk.size, chunk: chunk, rejection: reply)
        case .message:
            transaction = nil
            send(reply)
        case .authentication:
            misuse("reject() during AUTH; use authFailed")
        }
    }

    /// LMTP (RFC 2033 §4.2): one reply per accepted recipient, in order, after the message.
    public mutating func finishMessage(replies: [SMTPReply]) {
        guard case .awaiting(.message) = state else { return misuse("finishMessage(replies:) without a message") }
        guard replies.count == max(transaction?.recipients.count ?? 0, 1) else {
            return misuse("finishMessage(replies:) needs one reply per recipient")
        }
        state = .command
        transaction = nil
        for reply in replies { send(reply) }
    }

    /// Sends a 334 challenge (possibly empty) and waits for the client's response.
    public mutating func authChallenge(_ challenge: [UInt8]) {
        guard case .awaiting(.authentication(let mechanism)) = state else { return misuse("authChallenge() outside AUTH") }
        queue.append(.send(SMTPReply(334, Base64.encode(challenge))))
        state = .authenticating(mechanism: mechanism)
        framer.maximumLineLength = configuration.limits.authLineLength
    }

    /// Ends AUTH successfully (235 2.7.0, RFC 4954 §6).
    public mutating func authSucceeded(identity: String) {
        guard case .awaiting(.authentication(let mechanism)) = state else { return misuse("authSucceeded() outside AUTH") }
        authenticatedIdentity = identity
        authenticatedMechanism = mechanism
        state = .command
        framer.maximumLineLength = commandLineLimit
        send(.authenticationSucceeded)
    }

    /// Ends AUTH unsuccessfully: `reply`, or 535 5.7.8 (RFC 4954 §6).
    public mutating func authFailed(_ reply: SMTPReply? = nil) {
        guard case .awaiting(.authentication) = state else { return misuse("authFailed() outside AUTH") }
        state = .command
        framer.maximumLineLength = commandLineLimit
        send(reply ?? .authenticationFailed)
    }

    /// TLS is up: the session starts over (RFC 3207 §4.2) — no HELO, no AUTH, no transaction.
    public mutating func tlsEstablished() {
        guard state == .startingTLS else { return misuse("tlsEstablished() without STARTTLS") }
        isTLSActive = true
        hello = nil
        authenticatedIdentity = nil
        authenticatedMechanism = nil
        transaction = nil
        state = .command
    }

    /// The TLS handshake failed: the connection cannot continue in plaintext or otherwise.
    public mutating func tlsFailed() {
        guard state == .startingTLS else { return misuse("tlsFailed() without STARTTLS") }
        state = .closed
        queue.append(.close)
    }

    // MARK: - Processing

    /// The command-line limit: the configured one, widened for DSN's ENVID and ORCPT (RFC 3461
    /// §5: 100 and 500 characters) when DSN is offered.
    private var commandLineLimit: Int {
        configuration.limits.commandLineLength + (configuration.extensions.contains(.dsn) ? 600 : 0)
    }

    /// Processes buffered input; `false` when nothing more can happen without bytes or an answer.
    private mutating func step() -> Bool {
        switch state {
        case .notStarted, .awaiting, .startingTLS, .closed:
            return false
        case .refused, .command:
            framer.maximumLineLength = commandLineLimit
            guard let event = framer.next(from: &input) else { return false }
            switch event {
            case .lineTooLong:
                send(.lineTooLong)
            case .line(let line):
                if state == .refused {
                    handleRefused(line)
                } else {
                    handleCommand(line)
                }
            }
            return true
        case .authenticating(let mechanism):
            guard let event = framer.next(from: &input) else { return false }
            framer.maximumLineLength = commandLineLimit
            switch event {
            case .lineTooLong:
                state = .command
                queue.append(.authCancelled)
                send(SMTPReply(500, .lineTooLong, "Authentication exchange line is too long"))
            case .line(let line):
                let text = String(decoding: line.readableBytesView, as: UTF8.self)
                if text == "*" {
                    state = .command
                    queue.append(.authCancelled)
                    send(SMTPReply(501, EnhancedStatusCode(5, 0, 0), "Authentication aborted"))
                } else if let decoded = Base64.decode(text) {
                    state = .awaiting(.authentication(mechanism: mechanism))
                    queue.append(.authResponse(decoded))
                } else {
                    state = .command
                    queue.append(.authCancelled)
                    send(SMTPReply(501, .syntaxError, "Cannot decode the authentication response"))
                }
            }
            return true
        case .data(var reader):
            let output: SMTPDataReader.Output
            do {
                output = try reader.read(from: &input)
            } catch {
                // Bare CR or LF: say why and hang up, so no one can disagree on where the message
                // ended (Postfix does the same).
                transaction = nil
                queue.append(.transactionAborted)
                queue.append(.send(error.reply))
                queue.append(.close)
                state = .closed
                return true
            }
            if output.text.readableBytes > 0 {
                queue.append(.messageText(output.text))
            }
            guard output.isComplete else {
                state = .data(reader)
                return output.text.readableBytes > 0
            }
            state = .command
            if reader.exceedsSize {
                transaction = nil
                queue.append(.transactionAborted)
                send(.messageTooBig(limit: configuration.limits.messageSize))
            } else if reader.exceedsLineLength {
                transaction = nil
                queue.append(.transactionAborted)
                send(SMTPReply(554, EnhancedStatusCode(5, 6, 0), "Message has a line longer than \(configuration.limits.textLineLength) octets (RFC 5321 §4.5.3.1.6)"))
            } else {
                state = .awaiting(.message)
                queue.append(.messageComplete)
            }
            return true
        case .chunk(let remaining, let chunk, let rejection):
            if remaining > 0 {
                let available = min(remaining, input.readableBytes)
                guard available > 0 else { return false }
                let slice = input.readSlice(length: available)!
                if rejection == nil, transaction?.failed == false {
                    let limit = configuration.limits.messageSize
                    let before = transaction?.chunkedSize ?? 0
                    transaction?.chunkedSize = before + available
                    if before + available <= limit {
                        queue.append(.messageText(slice))
                    } else if before < limit {
                        queue.append(.messageText(slice.getSlice(at: slice.readerIndex, length: limit - before)!))
                    }
                }
                state = .chunk(remaining: remaining - available, chunk: chunk, rejection: rejection)
                return true
            }
            state = .command
            finishChunk(chunk, rejection: rejection)
            return true
        }
    }

    private mutating func finishChunk(_ chunk: Chunk, rejection: SMTPReply?) {
        if let rejection {
            send(rejection)
            return
        }
        guard var current = transaction, !current.failed else {
            send(.badSequence("Transaction failed; send RSET"))
            return
        }
        if current.chunkedSize > configuration.limits.messageSize {
            current.failed = true
            transaction = current
            queue.append(.transactionAborted)
            send(.messageTooBig(limit: configuration.limits.messageSize))
            return
        }
        if chunk.last {
            state = .awaiting(.message)
            queue.append(.messageComplete)
        } else {
            send(SMTPReply(250, .success, "\(chunk.size) octets received"))
        }
    }

    private mutating func handleRefused(_ line: ByteBuffer) {
        if case .quit? = try? SMTPCommand.parse(line) {
            quit()
        } else {
            send(.badSequence("Bad sequence of commands"))
        }
    }

    private mutating func handleCommand(_ line: ByteBuffer) {
        let command: SMTPCommand
        do {
            command = try SMTPCommand.parse(line)
        } catch {
            // A BDAT line that does not parse still announces octets we cannot find the end of.
            send(error.reply)
            return
        }
        switch command {
        case .helo(let domain):
            greeting(Hello(kind: .helo, domain: domain))
        case .ehlo(let domain):
            greeting(Hello(kind: .ehlo, domain: domain))
        case .lhlo(let domain):
            greeting(Hello(kind: .lhlo, domain: domain))
        case .mail(let path, let parameters):
            mail(path, parameters)
        case .recipient(let path, let parameters):
            recipient(path, parameters)
        case .data:
            data()
        case .bdat(let size, let last):
            bdat(Chunk(size: size, last: last))
        case .reset:
            abortTransaction()
            send(SMTPReply(250, .success, "Reset state"))
        case .noop:
            send(.ok)
        case .quit:
            quit()
        case .help(let topic):
            send(helpReply(topic))
        case .verify(let argument):
            state = .awaiting(.verify)
            queue.append(.verify(argument))
        case .expand(let argument):
            state = .awaiting(.expand)
            queue.append(.expand(argument))
        case .etrn(let node):
            guard configuration.extensions.contains(.etrn) else {
                return send(.notImplemented("ETRN not available"))
            }
            guard transaction == nil else {
                return send(.badSequence("ETRN not allowed during a mail transaction"))
            }
            state = .awaiting(.etrn)
            queue.append(.etrn(node))
        case .startTLS:
            startTLS()
        case .auth(let mechanism, let initialResponse):
            auth(mechanism, initialResponse)
        }
    }

    /// HELP's reply: the configured text for the topic, 504 for a topic it does not have.
    private func helpReply(_ topic: String?) -> SMTPReply {
        guard !configuration.helpTopics.isEmpty else {
            return SMTPReply(214, .success, "See RFC 5321 (https://www.rfc-editor.org/rfc/rfc5321)")
        }
        let key = String(String.UnicodeScalarView((topic ?? "").unicodeScalars.map { scalar in
            (0x41...0x5A).contains(scalar.value) ? Unicode.Scalar(scalar.value + 0x20)! : scalar
        }))
        guard let lines = configuration.helpTopics[key], !lines.isEmpty else {
            return SMTPReply(504, EnhancedStatusCode(5, 3, 0), "HELP topic unknown")
        }
        return SMTPReply(214, .success, lines: lines)
    }

    private mutating func greeting(_ hello: Hello) {
        switch (configuration.dialect, hello.kind) {
        case (.smtp, .lhlo):
            return send(SMTPReply(500, .invalidCommand, "LHLO is for LMTP; use EHLO"))
        case (.lmtp, .helo), (.lmtp, .ehlo):
            return send(SMTPReply(500, .invalidCommand, "This is an LMTP server; use LHLO"))
        case (.smtp, .helo), (.smtp, .ehlo), (.lmtp, .lhlo):
            break
        }
        // A new greeting resets the session's transaction (RFC 5321 §4.1.4).
        abortTransaction()
        if configuration.checkHello {
            state = .awaiting(.hello(hello))
            queue.append(.hello(hello))
        } else {
            acceptHello(hello, reply: nil)
        }
    }

    private mutating func acceptHello(_ hello: Hello, reply: SMTPReply?) {
        self.hello = hello
        if let reply { return send(reply) }
        let greeting = "\(configuration.hostname) Hello \(Self.printable(hello.domain))"
        switch hello.kind {
        case .helo:
            send(SMTPReply(250, greeting))
        case .ehlo, .lhlo:
            send(SMTPReply(250, lines: capabilities(greeting: greeting).replyLines))
        }
    }

    /// The extensions to advertise now, as an EHLO reply would list them.
    public func capabilities(greeting: String) -> SMTPCapabilities {
        var capabilities = SMTPCapabilities(greeting: greeting)
        let offered = configuration.extensions
        let ordered: [EHLOKeyword] = [.pipelining, .eightBitMIME, .enhancedStatusCodes, .smtpUTF8, .dsn, .chunking, .binaryMIME, .etrn]
        for keyword in ordered where offered.contains(keyword) {
            if keyword == .binaryMIME, !offered.contains(.chunking) { continue }
            capabilities.add(keyword)
        }
        capabilities.add(.size, parameters: [String(configuration.limits.messageSize)])
        if configuration.startTLSAvailable, !isTLSActive {
            capabilities.add(.startTLS)
        }
        let mechanisms = isTLSActive ? configuration.authMechanismsWithTLS : configuration.authMechanismsWithoutTLS
        if !mechanisms.isEmpty, authenticatedIdentity == nil {
            capabilities.add(.auth, parameters: mechanisms)
        }
        if isTLSActive, offered.contains(.requireTLS) {
            capabilities.add(.requireTLS)
        }
        return capabilities
    }

    private var isExtendedSession: Bool { hello?.kind == .ehlo || hello?.kind == .lhlo }

    private mutating func mail(_ path: ReversePath, _ parameters: MailParameters) {
        if configuration.requireHello, hello == nil {
            return send(.badSequence("Send HELO/EHLO first"))
        }
        guard transaction == nil else {
            return send(.badSequence("Sender already specified"))
        }
        if let unsupported = unsupportedParameter(parameters) {
            return send(.unsupportedParameter(unsupported))
        }
        if let size = parameters.size, size > configuration.limits.messageSize {
            return send(.messageTooBig(limit: configuration.limits.messageSize))
        }
        if let mailbox = path.mailbox, !mailbox.isASCII, !parameters.smtpUTF8 {
            return send(SMTPReply(553, EnhancedStatusCode(5, 6, 7), "Non-ASCII sender address needs SMTPUTF8 (RFC 6531 §3.5)"))
        }
        state = .awaiting(.mail(path, parameters))
        queue.append(.mail(path, parameters))
    }

    /// The first MAIL parameter this session did not advertise, or `nil`.
    private func unsupportedParameter(_ parameters: MailParameters) -> String? {
        let offered = isExtendedSession ? configuration.extensions : []
        for keyword in parameters.keywords {
            switch keyword {
            case "SIZE": if !isExtendedSession { return keyword }
            case "BODY":
                if parameters.body == .binaryMIME, !(offered.contains(.binaryMIME) && offered.contains(.chunking)) { return "BODY=BINARYMIME" }
                if parameters.body == .eightBitMIME, !offered.contains(.eightBitMIME) { return "BODY=8BITMIME" }
                if !isExtendedSession { return keyword }
            case "SMTPUTF8": if !offered.contains(.smtpUTF8) { return keyword }
            case "RET", "ENVID": if !offered.contains(.dsn) { return keyword }
            case "AUTH": if !isExtendedSession || (configuration.authMechanismsWithTLS.isEmpty && configuration.authMechanismsWithoutTLS.isEmpty) { return keyword }
            case "REQUIRETLS": if !(isTLSActive && offered.contains(.requireTLS)) { return keyword }
            default: return keyword
            }
        }
        return nil
    }

    private mutating func recipient(_ path: ForwardPath, _ parameters: RecipientParameters) {
        guard var current = transaction else {
            return send(.badSequence("Need MAIL before RCPT"))
        }
        guard !current.usesChunking else {
            return send(.badSequence("RCPT not allowed after BDAT"))
        }
        current.recipientsAttempted += 1
        transaction = current
        let offered = isExtendedSession ? configuration.extensions : []
        if let unsupported = parameters.keywords.first(where: { !(["NOTIFY", "ORCPT"].contains($0) && offered.contains(.dsn)) }) {
            return send(.unsupportedParameter(unsupported))
        }
        guard current.recipients.count < configuration.limits.recipients else {
            // RFC 5321 §4.5.3.1.10: 452 for too many recipients.
            return send(.tooManyRecipients)
        }
        if !path.isASCII, !current.parameters.smtpUTF8 {
            return send(SMTPReply(553, EnhancedStatusCode(5, 6, 7), "Non-ASCII recipient address needs SMTPUTF8 (RFC 6531 §3.5)"))
        }
        state = .awaiting(.recipient(path, parameters))
        queue.append(.recipient(path, parameters))
    }

    /// Checks common to DATA and the first BDAT; a reply when the message cannot start.
    private func messageStartProblem() -> SMTPReply? {
        guard let current = transaction else {
            return .badSequence("Need MAIL command")
        }
        guard !current.failed else {
            return .badSequence("Transaction failed; send RSET")
        }
        guard !current.recipients.isEmpty else {
            return current.recipientsAttempted == 0
                ? .badSequence("Need RCPT command")
                : SMTPReply(554, .invalidCommand, "No valid recipients")
        }
        return nil
    }

    private mutating func data() {
        if let problem = messageStartProblem() { return send(problem) }
        guard transaction?.usesChunking == false else {
            return send(.badSequence("DATA not allowed after BDAT"))
        }
        guard transaction?.parameters.body != .binaryMIME else {
            return send(.badSequence("BODY=BINARYMIME needs BDAT (RFC 3030 §3)"))
        }
        state = .awaiting(.data(chunk: nil))
        queue.append(.data)
    }

    private mutating func bdat(_ chunk: Chunk) {
        guard configuration.extensions.contains(.chunking) else {
            // Not offered: the octets cannot be told from commands. Refuse and hang up.
            send(.notImplemented("BDAT not available"))
            queue.append(.close)
            state = .closed
            return
        }
        if transaction?.usesChunking == true, transaction?.failed == false {
            state = .chunk(remaining: chunk.size, chunk: chunk, rejection: nil)
            return
        }
        if let problem = messageStartProblem() {
            if transaction != nil { transaction?.failed = true }
            state = .chunk(remaining: chunk.size, chunk: chunk, rejection: problem)
            return
        }
        state = .awaiting(.data(chunk: chunk))
        queue.append(.data)
    }

    private mutating func startTLS() {
        guard configuration.startTLSAvailable else {
            return send(.tlsNotAvailable)
        }
        guard !isTLSActive else {
            return send(.badSequence("TLS already active"))
        }
        abortTransaction()
        // Whatever the client sent after STARTTLS would be read as if it came over TLS: drop it.
        let discarded = input.readableBytes
        input.clear()
        framer.reset()
        queue.append(.send(.readyToStartTLS))
        queue.append(.startTLS(discardedOctets: discarded))
        state = .startingTLS
    }

    private mutating func auth(_ mechanism: String, _ initialResponse: [UInt8]?) {
        let offered = isTLSActive ? configuration.authMechanismsWithTLS : configuration.authMechanismsWithoutTLS
        guard !(configuration.authMechanismsWithTLS.isEmpty && configuration.authMechanismsWithoutTLS.isEmpty) else {
            return send(.notImplemented("AUTH not available"))
        }
        guard hello?.kind == .ehlo || hello?.kind == .lhlo else {
            return send(.badSequence("Send EHLO first"))
        }
        guard authenticatedIdentity == nil else {
            return send(.badSequence("Already authenticated"))
        }
        guard transaction == nil else {
            return send(.badSequence("AUTH not allowed during a mail transaction"))
        }
        guard offered.contains(mechanism) else {
            if !isTLSActive, configuration.authMechanismsWithTLS.contains(mechanism) {
                // RFC 4954 §4: 538 when the mechanism needs an encrypted connection.
                return send(SMTPReply(538, EnhancedStatusCode(5, 7, 11), "Encryption required for requested authentication mechanism"))
            }
            return send(SMTPReply(504, .invalidArguments, "Unrecognized authentication type"))
        }
        state = .awaiting(.authentication(mechanism: mechanism))
        queue.append(.authStart(mechanism: mechanism, initialResponse: initialResponse))
    }

    private mutating func quit() {
        abortTransaction()
        queue.append(.send(.closing(host: configuration.hostname)))
        queue.append(.close)
        state = .closed
    }

    private mutating func abortTransaction() {
        guard transaction != nil else { return }
        transaction = nil
        queue.append(.transactionAborted)
    }

    /// Queues a reply, counting 5yz replies; at the error limit, adds 421 and closes.
    private mutating func send(_ reply: SMTPReply) {
        queue.append(.send(reply))
        guard reply.isPermanentFailure else { return }
        errorCount += 1
        if errorCount >= configuration.limits.errorsBeforeDisconnect, state != .closed {
            abortTransaction()
            queue.append(.send(.serviceClosing(host: configuration.hostname, "Too many errors, closing connection")))
            queue.append(.close)
            state = .closed
        }
    }

    /// The caller answered out of turn: a bug in the caller, never the client's doing. The
    /// session ends with 421 rather than in an undefined state.
    private mutating func misuse(_ what: String) {
        guard state != .closed else { return }
        misuseDescription = what
        abortTransaction()
        queue.append(.send(.serviceClosing(host: configuration.hostname, "Internal error, closing connection")))
        queue.append(.close)
        state = .closed
    }

    /// The client's HELO argument as it may be echoed: printable ASCII (and UTF-8 letters) only,
    /// at most 255 characters.
    static func printable(_ text: String) -> String {
        String(text.unicodeScalars.prefix(255).map { (0x21...0x7E).contains($0.value) || $0.value >= 0xA0 ? Character($0) : "?" })
    }
}

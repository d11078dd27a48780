public import NIOCore

/// The server side of an SMTP (or LMTP) session as a value: bytes and answers in, actions out.
///
/// The machine does all of the protocol — framing, command syntax, the order of commands, the
/// transaction, DATA and BDAT, the AUTH exchange, STARTTLS, pipelining, limits, error counting and
/// timeouts — and decides nothing else. Every policy question (may this sender send, does this
/// recipient exist, may this client relay, is this message stored) is an ``Action`` that asks the
/// caller, who answers with ``accept(_:)``, ``reject(_:)``, ``replyAndClose(_:)`` or the answer
/// the action names.
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
///         case .close: flushAndClose(); return
///         …
///         }
///     }
///     // next() returned nil: flush, then wait for the client, at most machine.inputTimeout.
///     guard let bytes = try await read(timeout: machine.inputTimeout) else {
///         machine.timedOut()                            // queues 421 4.4.2 and close
///         continue
///     }
///     machine.receive(bytes)
/// }
/// ```
/// ``next()`` returns `nil` when it needs more bytes or an answer. Replies may be batched and
/// written when it returns `nil`: that is the flush point pipelining needs (RFC 2920 §3.2).
///
/// Memory is bounded by the limits, whatever the client sends: bytes already processed are
/// released as new ones arrive (``bufferCapacity``), message text past the size limit is dropped
/// as it is read, and plaintext received after STARTTLS — before or during the TLS handshake — is
/// thrown away (RFC 3207 §4.2). Every reply it sends fits RFC 5321 §4.5.3.1.5 (512 octets a line)
/// and is ASCII unless the client asked for SMTPUTF8 (RFC 6531).
public struct SMTPServerStateMachine: Sendable {
    /// What the caller must do next.
    public enum Action: Hashable, Sendable {
        /// Send this reply.
        case send(SMTPReply)
        /// HELO, EHLO or LHLO was received (only with ``SMTPServerConfiguration/checkHello``).
        /// Answer ``accept(_:)`` (a 2yz reply, or the standard one) or ``reject(_:)``.
        case hello(Hello)
        /// MAIL was received and is well formed. Answer ``accept(_:)`` or ``reject(_:)``.
        case mail(ReversePath, MailParameters)
        /// RCPT was received and is well formed. Answer ``accept(_:)`` or ``reject(_:)``.
        case recipient(ForwardPath, RecipientParameters)
        /// The client wants to send the message (DATA, or its first BDAT). Answer ``accept(_:)``
        /// (for DATA optionally with the 354 reply to send; BDAT has no intermediate reply) or
        /// ``reject(_:)``.
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
        /// sent after STARTTLS, which was thrown away (RFC 3207 §4.2 injection defence); what
        /// arrives before ``tlsEstablished()`` is thrown away too (``discardedPlaintextOctets``).
        case startTLS(discardedOctets: Int)
        /// Close the connection (after writing what was queued).
        case close
    }

    /// What the machine waits for from the client, so that the driver can apply the timeouts of
    /// RFC 5321 §4.5.3.2 (``inputTimeout``) and call ``timedOut()`` when one expires.
    public enum AwaitedInput: Hashable, Sendable {
        /// The next command (RFC 5321 §4.5.3.2.7): ``SMTPLimits/commandTimeout``.
        case command
        /// The next line of an AUTH exchange (RFC 4954 §4): ``SMTPLimits/commandTimeout``.
        case authResponse
        /// More message text, of DATA or of a BDAT chunk: ``SMTPLimits/messageTextTimeout``.
        case messageText
        /// The TLS handshake after STARTTLS: ``SMTPLimits/commandTimeout``; when it expires the
        /// connection closes without a reply (plaintext would break the handshake).
        case tlsHandshake
    }

    /// The client's greeting.
    public struct Hello: Hashable, Sendable {
        /// Which command it was.
        public enum Kind: Hashable, Sendable {
            /// `HELO`, `EHLO` (RFC 5321 §4.1.1.1) or `LHLO` (RFC 2033 §4.1).
            case helo, ehlo, lhlo
        }

        /// HELO, EHLO or LHLO.
        public var kind: Kind
        /// The argument as sent: a domain, an address literal, or whatever the client said.
        public var domain: String
    }

    /// The mail transaction in progress (RFC 5321 §3.3). RSET, HELO/EHLO and STARTTLS drop it.
    public struct Transaction: Hashable, Sendable {
        /// Accepted recipients and their parameters, in order.
        public struct Recipient: Hashable, Sendable {
            /// RCPT TO's path.
            public var path: ForwardPath
            /// RCPT TO's parameters.
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
    }

    private struct Chunk: Hashable, Sendable {
        var size: Int
        var last: Bool
    }

    /// Line lengths of BDAT text; a line ends at LF (``SMTPLimits/textLineLength``).
    private struct TextLines: Hashable, Sendable {
        var current = 0
        var longest = 0

        mutating func scan(_ text: ByteBuffer) {
            text.withUnsafeReadableBytes { bytes in
                var start = 0
                while let end = bytes[start...].firstIndex(of: 0x0A) {
                    current += end - start + 1
                    longest = max(longest, current)
                    current = 0
                    start = end + 1
                }
                current += bytes.count - start
                longest = max(longest, current)
            }
        }
    }

    /// The text a BDAT message has brought so far (RFC 3030 §2).
    private struct ChunkedText: Hashable, Sendable {
        /// Octets received, including any past the size limit (those are not kept).
        var octets = 0
        /// Line lengths; `nil` for BODY=BINARYMIME, which has no lines (RFC 3030 §3).
        var lines: TextLines?
    }

    /// Where the mail transaction is (RFC 5321 §3.3, RFC 3030 §2).
    private enum Stage: Hashable, Sendable {
        /// No transaction.
        case idle
        /// MAIL accepted: RCPT, DATA or the first BDAT may follow.
        case envelope(Transaction)
        /// BDAT has started the message text; more BDAT follows.
        case chunking(Transaction, ChunkedText)
        /// A BDAT chunk failed (RFC 3030 §2): later chunks are read and dropped until RSET.
        case failed(Transaction)

        var transaction: Transaction? {
            switch self {
            case .idle: nil
            case .envelope(let transaction), .chunking(let transaction, _), .failed(let transaction): transaction
            }
        }
    }

    private enum Question: Hashable, Sendable {
        case hello(Hello)
        case mail(ReversePath, MailParameters)
        case recipient(ForwardPath, RecipientParameters)
        case data(Chunk?)
        case message
        case verify, expand, etrn
        case authentication(mechanism: String)
    }

    /// What becomes of a BDAT chunk's octets.
    private enum ChunkDisposition: Hashable, Sendable {
        /// They are message text.
        case keep(Transaction, ChunkedText)
        /// They are read and dropped; then `reply` is sent and the session goes on at `stage`.
        case discard(reply: SMTPReply, then: Stage)
    }

    private enum State: Hashable, Sendable {
        /// ``start(rejection:)`` has not been called.
        case notStarted
        /// The greeting refused the client: only QUIT is served (RFC 5321 §3.1).
        case refused
        /// Reading commands.
        case command(Stage)
        /// Waiting for the caller's answer; `stage` is where the transaction was when it asked.
        case awaiting(Question, Stage)
        /// Reading DATA text.
        case data(SMTPDataReader, Transaction)
        /// Reading the octets of a BDAT chunk.
        case chunk(remaining: Int, Chunk, ChunkDisposition)
        /// Waiting for the client's next AUTH response line.
        case authenticating(mechanism: String)
        /// STARTTLS accepted; waiting for the TLS handshake. Bytes received now are discarded.
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
    /// Replies with a 5yz code sent so far (LMTP's per-recipient replies are not counted).
    public private(set) var errorCount = 0
    /// Plaintext octets thrown away because they came after STARTTLS, before TLS was in place
    /// (RFC 3207 §4.2): those already buffered at STARTTLS and those that arrived during the
    /// handshake.
    public private(set) var discardedPlaintextOctets = 0
    /// When the caller answered out of turn (a bug in the caller), what it did; the session was
    /// closed with 421.
    public private(set) var misuseDescription: String?

    /// Whether the client has asked for SMTPUTF8 (RFC 6531 §3.4, a MAIL with the parameter):
    /// until it does, replies are ASCII.
    private var clientUsesSMTPUTF8 = false
    private var state = State.notStarted
    private var input = ByteBuffer()
    private var framer: SMTPLineFramer
    private var queue: [Action] = []
    /// The longest MAIL and RCPT lines, and the longest line of any command.
    private let mailLineLimit: Int
    private let recipientLineLimit: Int
    private let framingLimit: Int

    /// A session that has not started: call ``start(rejection:)`` first. The MAIL and RCPT line
    /// limits grow by what the offered extensions may add (``SMTPLimits/commandLineLength``);
    /// nothing is checked.
    public init(configuration: SMTPServerConfiguration) {
        self.configuration = configuration
        self.framer = SMTPLineFramer(maximumLineLength: configuration.limits.commandLineLength)
        mailLineLimit = configuration.limits.commandLineLength + Self.mailLineExtra(configuration)
        recipientLineLimit = configuration.limits.commandLineLength + Self.recipientLineExtra(configuration)
        framingLimit = max(mailLineLimit, recipientLineLimit)
    }

    /// A short name of the current state, for trace logs.
    public var stateDescription: String {
        switch state {
        case .notStarted: "not started"
        case .refused: "refused"
        case .command(let stage): "command (\(Self.describe(stage)))"
        case .awaiting(let question, _): "awaiting \(question)"
        case .data: "data"
        case .chunk(let remaining, _, _): "chunk (\(remaining) octets to go)"
        case .authenticating(let mechanism): "authenticating \(mechanism)"
        case .startingTLS: "starting TLS"
        case .closed: "closed"
        }
    }

    private static func describe(_ stage: Stage) -> String {
        switch stage {
        case .idle: "no transaction"
        case .envelope: "transaction"
        case .chunking(_, let text): "BDAT, \(text.octets) octets so far"
        case .failed: "failed BDAT transaction"
        }
    }

    /// The mail transaction in progress, if any.
    public var transaction: Transaction? {
        switch state {
        case .command(let stage), .awaiting(_, let stage): stage.transaction
        case .data(_, let transaction): transaction
        case .chunk(_, _, .keep(let transaction, _)): transaction
        case .chunk(_, _, .discard(_, let stage)): stage.transaction
        case .notStarted, .refused, .authenticating, .startingTLS, .closed: nil
        }
    }

    /// Whether the session has ended.
    public var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    /// Bytes received that are not yet processed.
    public var bufferedByteCount: Int { input.readableBytes }

    /// The octets of storage the machine holds for received bytes (capacity, not content): it
    /// stays within the limits whatever the client sends.
    public var bufferCapacity: Int { input.storageCapacity }

    /// What the machine waits for from the client; `nil` while it waits for the caller (an
    /// answer), before ``start(rejection:)`` and once closed.
    public var awaitedInput: AwaitedInput? {
        switch state {
        case .notStarted, .awaiting, .closed: nil
        case .refused, .command: .command
        case .authenticating: .authResponse
        case .data, .chunk: .messageText
        case .startingTLS: .tlsHandshake
        }
    }

    /// How long to wait for the client now (RFC 5321 §4.5.3.2), from ``SMTPLimits``; `nil` when
    /// no client timeout runs (``awaitedInput`` is `nil`). When it expires, call ``timedOut()``.
    public var inputTimeout: Duration? {
        switch awaitedInput {
        case .command, .authResponse, .tlsHandshake: configuration.limits.commandTimeout
        case .messageText: configuration.limits.messageTextTimeout
        case nil: nil
        }
    }

    // MARK: - Events in

    /// Opens the session: queues the 220 greeting, or `rejection` (a 554, RFC 5321 §3.1) after
    /// which only QUIT is served.
    public mutating func start(rejection: SMTPReply? = nil) {
        guard case .notStarted = state else { return misuse("start() called twice") }
        if let rejection {
            queue.append(.send(rejection.asciiOnly))
            state = .refused
        } else {
            queue.append(.send(.serviceReady(host: configuration.hostname, text: configuration.greetingText).asciiOnly))
            state = .command(.idle)
        }
    }

    /// Adds bytes received from the client. While STARTTLS waits for the handshake, they are
    /// counted in ``discardedPlaintextOctets`` and dropped.
    ///
    /// Pass bytes read through TLS only after ``tlsEstablished()``.
    public mutating func receive(_ bytes: ByteBuffer) {
        switch state {
        case .closed:
            return
        case .startingTLS:
            discardedPlaintextOctets += bytes.readableBytes
        case .notStarted, .refused, .command, .awaiting, .data, .chunk, .authenticating:
            SMTPLineFramer.append(bytes, to: &input)
        }
    }

    /// The next action, or `nil` when the machine needs more bytes or the answer to an action:
    /// the point to flush the replies written so far.
    public mutating func next() -> Action? {
        while queue.isEmpty {
            guard step() else { break }
        }
        guard !queue.isEmpty else {
            // Nothing unread: hold no storage while the client is quiet.
            if input.readableBytes == 0, input.storageCapacity > 0 { input = ByteBuffer() }
            return nil
        }
        return queue.removeFirst()
    }

    /// The client timeout that ``inputTimeout`` gave has expired: queues 421 4.4.2 and close (RFC
    /// 5321 §4.5.3.2.7, §3.8), or — during the TLS handshake — close alone.
    public mutating func timedOut() {
        switch state {
        case .notStarted:
            misuse("timedOut() before start()")
        case .closed:
            return
        case .startingTLS:
            state = .closed
            queue.append(.close)
        case .refused, .command, .awaiting, .data, .chunk, .authenticating:
            terminate(with: .serviceClosing(host: configuration.hostname, "Error: timeout exceeded", code: .badConnection))
        }
    }

    // MARK: - Answers in

    /// Accepts what the last action asked about, with the standard reply or `reply`: a 2yz reply,
    /// or for DATA a 354 (anything else is misuse, and closes the session with 421).
    public mutating func accept(_ reply: SMTPReply? = nil) {
        guard case .awaiting(let question, let stage) = state else { return misuse("accept() without a question") }
        if let reply {
            switch question {
            case .data:
                guard reply.code == 354 else { return misuse("accept(_:) for DATA with \(reply.code); it takes a 354 reply") }
            case .hello, .mail, .recipient, .message, .verify, .expand, .etrn, .authentication:
                guard reply.isPositiveCompletion else { return misuse("accept(_:) with \(reply.code); a refusal goes to reject(_:)") }
            }
        }
        switch question {
        case .hello(let hello):
            state = .command(.idle)
            acceptHello(hello, reply: reply)
        case .mail(let path, let parameters):
            state = .command(.envelope(Transaction(reversePath: path, parameters: parameters)))
            send(reply ?? .senderOK(path))
        case .recipient(let path, let parameters):
            guard case .envelope(var transaction) = stage else { return misuse("recipient answered outside a transaction") }
            transaction.recipients.append(Transaction.Recipient(path: path, parameters: parameters))
            state = .command(.envelope(transaction))
            send(reply ?? .recipientOK(path))
        case .data(nil):
            guard case .envelope(let transaction) = stage else { return misuse("DATA answered outside a transaction") }
            state = .data(SMTPDataReader(
                maximumSize: configuration.limits.messageSize,
                maximumLineLength: configuration.limits.textLineLength), transaction)
            send(reply ?? .startMailInput)
        case .data(let chunk?):
            guard case .envelope(let transaction) = stage else { return misuse("BDAT answered outside a transaction") }
            let text = ChunkedText(lines: transaction.parameters.body == .binaryMIME ? nil : TextLines())
            state = .chunk(remaining: chunk.size, chunk, .keep(transaction, text))
        case .message:
            guard configuration.dialect == .smtp else { return misuse("accept() for an LMTP message; use finishMessage(replies:)") }
            state = .command(.idle)
            send(reply ?? .messageAccepted())
        case .verify, .expand:
            state = .command(stage)
            send(reply ?? SMTPReply(252, EnhancedStatusCode(2, 5, 2), "Cannot VRFY user, but will accept message and attempt delivery"))
        case .etrn:
            state = .command(stage)
            send(reply ?? SMTPReply(250, .success, "Queuing started"))
        case .authentication:
            misuse("accept() during AUTH; use authChallenge, authSucceeded or authFailed")
        }
    }

    /// Refuses what the last action asked about with `reply`, a 4yz or 5yz reply (anything else
    /// is misuse). A 421 closes the session after it (RFC 5321 §3.8).
    public mutating func reject(_ reply: SMTPReply) {
        guard case .awaiting(let question, let stage) = state else { return misuse("reject() without a question") }
        guard reply.isTransientFailure || reply.isPermanentFailure else {
            return misuse("reject(_:) with \(reply.code); a refusal is 4yz or 5yz")
        }
        switch question {
        case .hello, .mail, .recipient, .verify, .expand, .etrn, .data(nil):
            state = .command(stage)
            send(reply)
        case .data(let chunk?):
            guard case .envelope(let transaction) = stage else { return misuse("BDAT answered outside a transaction") }
            if reply.code == 421 {
                state = .command(stage)
                return send(reply)
            }
            // The chunk's octets follow the command regardless: read and drop them (RFC 3030 §2).
            state = .chunk(remaining: chunk.size, chunk, .discard(reply: reply, then: .failed(transaction)))
        case .message:
            state = .command(.idle)
            send(reply)
        case .authentication:
            misuse("reject() during AUTH; use authFailed")
        }
    }

    /// Sends `reply` (4yz or 5yz) and closes the session: the answer for a client policy will not
    /// talk to any more (a blocklisted address, a shutdown, RFC 5321 §3.8's 421). It answers any
    /// question, and may also be given when none is pending. During the TLS handshake it closes
    /// without the reply, which plaintext would garble.
    public mutating func replyAndClose(_ reply: SMTPReply) {
        switch state {
        case .notStarted:
            misuse("replyAndClose() before start()")
        case .closed:
            return
        case .startingTLS:
            state = .closed
            queue.append(.close)
        case .refused, .command, .awaiting, .data, .chunk, .authenticating:
            guard reply.isTransientFailure || reply.isPermanentFailure else {
                return misuse("replyAndClose(_:) with \(reply.code); it takes a 4yz or 5yz reply")
            }
            terminate(with: reply)
        }
    }

    /// LMTP (RFC 2033 §4.2): one reply per accepted recipient, in order, after the message. These
    /// replies do not count toward ``SMTPLimits/errorsBeforeDisconnect``; a 421 among them closes
    /// the session after all of them are sent.
    public mutating func finishMessage(replies: [SMTPReply]) {
        guard case .awaiting(.message, let stage) = state else { return misuse("finishMessage(replies:) without a message") }
        guard replies.count == max(stage.transaction?.recipients.count ?? 0, 1) else {
            return misuse("finishMessage(replies:) needs one reply per recipient")
        }
        guard replies.allSatisfy({ $0.isPositiveCompletion || $0.isTransientFailure || $0.isPermanentFailure }) else {
            return misuse("finishMessage(replies:) with a reply that is not 2yz, 4yz or 5yz")
        }
        state = .command(.idle)
        for reply in replies { queue.append(.send(outgoing(reply))) }
        if replies.contains(where: { $0.code == 421 }) { terminate(with: nil) }
    }

    /// Sends a 334 challenge (possibly empty) and waits for the client's response.
    public mutating func authChallenge(_ challenge: [UInt8]) {
        guard case .awaiting(.authentication(let mechanism), _) = state else { return misuse("authChallenge() outside AUTH") }
        // One line, however long: RFC 4954 §4 sets no limit on a challenge.
        queue.append(.send(SMTPReply(unwrapped: 334, nil, lines: [Base64.encode(challenge)])))
        state = .authenticating(mechanism: mechanism)
    }

    /// Ends AUTH successfully (235 2.7.0, RFC 4954 §6).
    public mutating func authSucceeded(identity: String) {
        guard case .awaiting(.authentication(let mechanism), _) = state else { return misuse("authSucceeded() outside AUTH") }
        authenticatedIdentity = identity
        authenticatedMechanism = mechanism
        state = .command(.idle)
        send(.authenticationSucceeded)
    }

    /// Ends AUTH unsuccessfully: `reply` (4yz or 5yz), or 535 5.7.8 (RFC 4954 §6).
    public mutating func authFailed(_ reply: SMTPReply? = nil) {
        guard case .awaiting(.authentication, _) = state else { return misuse("authFailed() outside AUTH") }
        if let reply, !(reply.isTransientFailure || reply.isPermanentFailure) {
            return misuse("authFailed(_:) with \(reply.code); it takes a 4yz or 5yz reply")
        }
        state = .command(.idle)
        send(reply ?? .authenticationFailed)
    }

    /// TLS is up: the session starts over (RFC 3207 §4.2) — no HELO, no AUTH, no transaction —
    /// and everything received before now, which came in plaintext, is gone. Call it once the
    /// handshake has completed and before passing any byte read through TLS to ``receive(_:)``.
    public mutating func tlsEstablished() {
        guard case .startingTLS = state else { return misuse("tlsEstablished() without STARTTLS") }
        isTLSActive = true
        hello = nil
        authenticatedIdentity = nil
        authenticatedMechanism = nil
        clientUsesSMTPUTF8 = false
        discardedPlaintextOctets += input.readableBytes
        input = ByteBuffer()
        framer.reset()
        state = .command(.idle)
    }

    /// The TLS handshake failed: the connection cannot continue in plaintext or otherwise.
    public mutating func tlsFailed() {
        guard case .startingTLS = state else { return misuse("tlsFailed() without STARTTLS") }
        state = .closed
        queue.append(.close)
    }

    // MARK: - Limits

    /// The octets the extensions offered may add to a MAIL line (see ``SMTPLimits/commandLineLength``).
    private static func mailLineExtra(_ configuration: SMTPServerConfiguration) -> Int {
        let offered = configuration.extensions
        var extra = 26  // SIZE, always offered (RFC 1870 §3)
        if offered.contains(.eightBitMIME) || offered.contains(.binaryMIME) { extra += 16 }  // " BODY=BINARYMIME"
        if offered.contains(.smtpUTF8) { extra += 10 }  // RFC 6531 §3.1
        if offered.contains(.dsn) { extra += 110 }  // RET and ENVID, RFC 3461 §4
        if offered.contains(.requireTLS) { extra += 11 }  // " REQUIRETLS"
        if !(configuration.authMechanismsWithTLS.isEmpty && configuration.authMechanismsWithoutTLS.isEmpty) {
            extra += 500  // AUTH=, RFC 4954 §5
        }
        return extra
    }

    /// The octets DSN's NOTIFY and ORCPT may add to a RCPT line (RFC 3461 §4).
    private static func recipientLineExtra(_ configuration: SMTPServerConfiguration) -> Int {
        configuration.extensions.contains(.dsn) ? 500 : 0
    }

    /// The longest line allowed for the command `line` starts with, CRLF included.
    private func lineLimit(for line: ByteBuffer) -> Int {
        let view = line.readableBytesView
        guard view.count >= 4 else { return configuration.limits.commandLineLength }
        func letter(_ offset: Int) -> UInt8 { view[view.index(view.startIndex, offsetBy: offset)] & 0xDF }
        switch (letter(0), letter(1), letter(2), letter(3)) {
        case (UInt8(ascii: "M"), UInt8(ascii: "A"), UInt8(ascii: "I"), UInt8(ascii: "L")): return mailLineLimit
        case (UInt8(ascii: "R"), UInt8(ascii: "C"), UInt8(ascii: "P"), UInt8(ascii: "T")): return recipientLineLimit
        default: return configuration.limits.commandLineLength
        }
    }

    /// Whether a command line (or its start) is a BDAT command, whose octet count is then unknown.
    private static func isBDAT(_ bytes: some Collection<UInt8>) -> Bool {
        let head = bytes.prefix(5).map { (0x61...0x7A).contains($0) ? $0 - 0x20 : $0 }
        return head == Array("BDAT".utf8) || head == Array("BDAT ".utf8)
    }

    // MARK: - Processing

    /// Processes buffered input; `false` when nothing more can happen without bytes or an answer.
    private mutating func step() -> Bool {
        switch state {
        case .notStarted, .awaiting, .startingTLS, .closed:
            return false
        case .refused:
            framer.maximumLineLength = configuration.limits.commandLineLength
            guard let event = framer.next(from: &input) else { return false }
            switch event {
            case .lineTooLong: send(.lineTooLong)
            case .line(let line): handleRefused(line)
            }
            return true
        case .command(let stage):
            framer.maximumLineLength = framingLimit
            guard let event = framer.next(from: &input) else { return false }
            switch event {
            case .lineTooLong:
                if Self.isBDAT(framer.overlongLineStart) {
                    malformedBDAT("BDAT command line too long")
                } else {
                    send(.lineTooLong)
                }
            case .line(let line):
                if line.readableBytes + 2 > lineLimit(for: line) {
                    if Self.isBDAT(line.readableBytesView) {
                        malformedBDAT("BDAT command line too long")
                    } else {
                        send(.lineTooLong)
                    }
                } else {
                    handleCommand(line, stage: stage)
                }
            }
            return true
        case .authenticating(let mechanism):
            framer.maximumLineLength = configuration.limits.authLineLength
            guard let event = framer.next(from: &input) else { return false }
            switch event {
            case .lineTooLong:
                state = .command(.idle)
                queue.append(.authCancelled)
                send(SMTPReply(500, .lineTooLong, "Authentication exchange line is too long"))
            case .line(let line):
                let text = String(decoding: line.readableBytesView, as: UTF8.self)
                if text == "*" {
                    state = .command(.idle)
                    queue.append(.authCancelled)
                    send(SMTPReply(501, EnhancedStatusCode(5, 0, 0), "Authentication aborted"))
                } else if let decoded = Base64.decode(text) {
                    state = .awaiting(.authentication(mechanism: mechanism), .idle)
                    queue.append(.authResponse(decoded))
                } else {
                    state = .command(.idle)
                    queue.append(.authCancelled)
                    send(SMTPReply(501, .syntaxError, "Cannot decode the authentication response"))
                }
            }
            return true
        case .data(var reader, let transaction):
            let output: SMTPDataReader.Output
            do {
                output = try reader.read(from: &input)
            } catch {
                // Bare CR or LF: say why and hang up, so no one can disagree on where the message
                // ended (Postfix does the same).
                terminate(with: error.reply)
                return true
            }
            if output.text.readableBytes > 0 {
                queue.append(.messageText(output.text))
            }
            guard output.isComplete else {
                state = .data(reader, transaction)
                return output.text.readableBytes > 0
            }
            if reader.exceedsSize {
                state = .command(.idle)
                queue.append(.transactionAborted)
                send(.messageTooBig(limit: configuration.limits.messageSize))
            } else if reader.exceedsLineLength {
                state = .command(.idle)
                queue.append(.transactionAborted)
                send(lineTooLongInText)
            } else {
                state = .awaiting(.message, .envelope(transaction))
                queue.append(.messageComplete)
            }
            return true
        case .chunk(let remaining, let chunk, let disposition):
            guard remaining > 0 else {
                finishChunk(chunk, disposition)
                return true
            }
            let available = min(remaining, input.readableBytes)
            guard available > 0 else { return false }
            let slice = input.readSlice(length: available)!
            switch disposition {
            case .keep(let transaction, var text):
                let limit = configuration.limits.messageSize
                let before = text.octets
                text.octets += available
                if before < limit {
                    let kept = available <= limit - before ? slice : slice.getSlice(at: slice.readerIndex, length: limit - before)!
                    text.lines?.scan(kept)
                    queue.append(.messageText(kept))
                }
                state = .chunk(remaining: remaining - available, chunk, .keep(transaction, text))
            case .discard:
                state = .chunk(remaining: remaining - available, chunk, disposition)
            }
            return true
        }
    }

    /// 554 5.6.0 for a message with a line over ``SMTPLimits/textLineLength``.
    private var lineTooLongInText: SMTPReply {
        SMTPReply(554, EnhancedStatusCode(5, 6, 0), "Message has a line longer than \(configuration.limits.textLineLength) octets (RFC 5321 section 4.5.3.1.6)")
    }

    private mutating func finishChunk(_ chunk: Chunk, _ disposition: ChunkDisposition) {
        switch disposition {
        case .discard(let reply, let stage):
            state = .command(stage)
            send(reply)
        case .keep(let transaction, let text):
            if text.octets > configuration.limits.messageSize {
                state = .command(.failed(transaction))
                queue.append(.transactionAborted)
                send(.messageTooBig(limit: configuration.limits.messageSize))
            } else if let lines = text.lines, lines.longest > configuration.limits.textLineLength {
                state = .command(.failed(transaction))
                queue.append(.transactionAborted)
                send(lineTooLongInText)
            } else if chunk.last {
                state = .awaiting(.message, .chunking(transaction, text))
                queue.append(.messageComplete)
            } else {
                state = .command(.chunking(transaction, text))
                send(SMTPReply(250, .success, "\(chunk.size) octets received"))
            }
        }
    }

    /// A BDAT command whose size cannot be trusted: its octets cannot be told from commands, so
    /// the connection closes (as for BDAT when CHUNKING was not offered).
    private mutating func malformedBDAT(_ reason: String) {
        terminate(with: SMTPReply(501, .invalidArguments, "\(reason); closing connection"))
    }

    private mutating func handleRefused(_ line: ByteBuffer) {
        if case .quit? = try? SMTPCommand.parse(line) {
            quit(.idle)
        } else {
            send(.badSequence("Bad sequence of commands"))
        }
    }

    private mutating func handleCommand(_ line: ByteBuffer, stage: Stage) {
        let command: SMTPCommand
        do {
            command = try SMTPCommand.parse(line)
        } catch {
            // A BDAT line that does not parse still announces octets we cannot find the end of.
            if Self.isBDAT(line.readableBytesView) {
                return malformedBDAT(error.message)
            }
            return send(error.reply)
        }
        switch command {
        case .helo(let domain):
            greeting(Hello(kind: .helo, domain: domain), stage: stage)
        case .ehlo(let domain):
            greeting(Hello(kind: .ehlo, domain: domain), stage: stage)
        case .lhlo(let domain):
            greeting(Hello(kind: .lhlo, domain: domain), stage: stage)
        case .mail(let path, let parameters):
            mail(path, parameters, stage: stage)
        case .recipient(let path, let parameters):
            recipient(path, parameters, stage: stage)
        case .data:
            data(stage: stage)
        case .bdat(let size, let last):
            bdat(Chunk(size: size, last: last), stage: stage)
        case .reset:
            abortTransaction(stage)
            state = .command(.idle)
            send(SMTPReply(250, .success, "Reset state"))
        case .noop:
            send(.ok)
        case .quit:
            quit(stage)
        case .help(let topic):
            send(helpReply(topic))
        case .verify(let argument):
            state = .awaiting(.verify, stage)
            queue.append(.verify(argument))
        case .expand(let argument):
            state = .awaiting(.expand, stage)
            queue.append(.expand(argument))
        case .etrn(let node):
            guard configuration.extensions.contains(.etrn) else {
                return send(.notImplemented("ETRN not available"))
            }
            guard case .idle = stage else {
                return send(.badSequence("ETRN not allowed during a mail transaction"))
            }
            state = .awaiting(.etrn, stage)
            queue.append(.etrn(node))
        case .startTLS:
            startTLS(stage: stage)
        case .auth(let mechanism, let initialResponse):
            auth(mechanism, initialResponse, stage: stage)
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

    private mutating func greeting(_ hello: Hello, stage: Stage) {
        switch (configuration.dialect, hello.kind) {
        case (.smtp, .lhlo):
            return send(SMTPReply(500, .invalidCommand, "LHLO is for LMTP; use EHLO"))
        case (.lmtp, .helo), (.lmtp, .ehlo):
            return send(SMTPReply(500, .invalidCommand, "This is an LMTP server; use LHLO"))
        case (.smtp, .helo), (.smtp, .ehlo), (.lmtp, .lhlo):
            break
        }
        // A new greeting resets the session's transaction (RFC 5321 §4.1.4).
        abortTransaction(stage)
        if configuration.checkHello {
            state = .awaiting(.hello(hello), .idle)
            queue.append(.hello(hello))
        } else {
            state = .command(.idle)
            acceptHello(hello, reply: nil)
        }
    }

    private mutating func acceptHello(_ hello: Hello, reply: SMTPReply?) {
        self.hello = hello
        if let reply { return send(reply) }
        // The first line of the reply must not break in two (the second half would read as an
        // extension keyword): the echo is cut to what fits in 512 octets.
        let room = SMTPReply.maximumLineLength - 6 - configuration.hostname.utf8.count - 7
        let greeting = "\(configuration.hostname) Hello \(Self.printable(hello.domain, limit: min(255, max(0, room))))"
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

    private mutating func mail(_ path: ReversePath, _ parameters: MailParameters, stage: Stage) {
        if configuration.requireHello, hello == nil {
            return send(.badSequence("Send HELO/EHLO first"))
        }
        guard case .idle = stage else {
            return send(.badSequence("Sender already specified"))
        }
        if let unsupported = unsupportedParameter(parameters) {
            return send(.unsupportedParameter(unsupported))
        }
        if parameters.smtpUTF8 { clientUsesSMTPUTF8 = true }
        if let size = parameters.size, size > configuration.limits.messageSize {
            return send(.messageTooBig(limit: configuration.limits.messageSize))
        }
        if let mailbox = path.mailbox, !mailbox.isASCII, !parameters.smtpUTF8 {
            return send(SMTPReply(553, EnhancedStatusCode(5, 6, 7), "Non-ASCII sender address needs SMTPUTF8 (RFC 6531 section 3.5)"))
        }
        state = .awaiting(.mail(path, parameters), .idle)
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

    private mutating func recipient(_ path: ForwardPath, _ parameters: RecipientParameters, stage: Stage) {
        var transaction: Transaction
        switch stage {
        case .idle:
            return send(.badSequence("Need MAIL before RCPT"))
        case .chunking:
            return send(.badSequence("RCPT not allowed after BDAT"))
        case .failed:
            return send(.badSequence("Transaction failed; send RSET"))
        case .envelope(let current):
            transaction = current
        }
        transaction.recipientsAttempted += 1
        state = .command(.envelope(transaction))
        let offered = isExtendedSession ? configuration.extensions : []
        if let unsupported = parameters.keywords.first(where: { !(["NOTIFY", "ORCPT"].contains($0) && offered.contains(.dsn)) }) {
            return send(.unsupportedParameter(unsupported))
        }
        guard transaction.recipients.count < configuration.limits.recipients else {
            // RFC 5321 §4.5.3.1.10: 452 for too many recipients.
            return send(.tooManyRecipients)
        }
        if !path.isASCII, !transaction.parameters.smtpUTF8 {
            return send(SMTPReply(553, EnhancedStatusCode(5, 6, 7), "Non-ASCII recipient address needs SMTPUTF8 (RFC 6531 section 3.5)"))
        }
        state = .awaiting(.recipient(path, parameters), .envelope(transaction))
        queue.append(.recipient(path, parameters))
    }

    /// Why a message cannot start in this transaction (DATA, or a first BDAT), or `nil`.
    private func messageStartProblem(_ transaction: Transaction) -> SMTPReply? {
        guard transaction.recipients.isEmpty else { return nil }
        return transaction.recipientsAttempted == 0
            ? .badSequence("Need RCPT command")
            : SMTPReply(554, .invalidCommand, "No valid recipients")
    }

    private mutating func data(stage: Stage) {
        switch stage {
        case .idle:
            send(.badSequence("Need MAIL command"))
        case .failed:
            send(.badSequence("Transaction failed; send RSET"))
        case .chunking:
            send(.badSequence("DATA not allowed after BDAT"))
        case .envelope(let transaction):
            if let problem = messageStartProblem(transaction) { return send(problem) }
            guard transaction.parameters.body != .binaryMIME else {
                return send(.badSequence("BODY=BINARYMIME needs BDAT (RFC 3030 section 3)"))
            }
            state = .awaiting(.data(nil), stage)
            queue.append(.data)
        }
    }

    private mutating func bdat(_ chunk: Chunk, stage: Stage) {
        guard configuration.extensions.contains(.chunking) else {
            // Not offered: the octets cannot be told from commands. Refuse and hang up.
            return terminate(with: .notImplemented("BDAT not available"))
        }
        switch stage {
        case .chunking(let transaction, let text):
            state = .chunk(remaining: chunk.size, chunk, .keep(transaction, text))
        case .envelope(let transaction):
            if let problem = messageStartProblem(transaction) {
                state = .chunk(remaining: chunk.size, chunk, .discard(reply: problem, then: .failed(transaction)))
            } else {
                state = .awaiting(.data(chunk), stage)
                queue.append(.data)
            }
        case .idle:
            state = .chunk(remaining: chunk.size, chunk, .discard(reply: .badSequence("Need MAIL command"), then: .idle))
        case .failed:
            state = .chunk(remaining: chunk.size, chunk, .discard(reply: .badSequence("Transaction failed; send RSET"), then: stage))
        }
    }

    private mutating func startTLS(stage: Stage) {
        guard configuration.startTLSAvailable else {
            return send(.tlsNotAvailable)
        }
        guard !isTLSActive else {
            return send(.badSequence("TLS already active"))
        }
        abortTransaction(stage)
        // Whatever the client sent after STARTTLS would be read as if it came over TLS: drop it.
        let discarded = input.readableBytes
        discardedPlaintextOctets += discarded
        input = ByteBuffer()
        framer.reset()
        queue.append(.send(.readyToStartTLS))
        queue.append(.startTLS(discardedOctets: discarded))
        state = .startingTLS
    }

    private mutating func auth(_ mechanism: String, _ initialResponse: [UInt8]?, stage: Stage) {
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
        guard case .idle = stage else {
            return send(.badSequence("AUTH not allowed during a mail transaction"))
        }
        guard offered.contains(mechanism) else {
            if !isTLSActive, configuration.authMechanismsWithTLS.contains(mechanism) {
                // RFC 4954 §4: 538 when the mechanism needs an encrypted connection.
                return send(SMTPReply(538, EnhancedStatusCode(5, 7, 11), "Encryption required for requested authentication mechanism"))
            }
            return send(SMTPReply(504, .invalidArguments, "Unrecognized authentication type"))
        }
        state = .awaiting(.authentication(mechanism: mechanism), .idle)
        queue.append(.authStart(mechanism: mechanism, initialResponse: initialResponse))
    }

    private mutating func quit(_ stage: Stage) {
        abortTransaction(stage)
        queue.append(.send(.closing(host: configuration.hostname).asciiOnly))
        queue.append(.close)
        state = .closed
    }

    /// Tells the caller that the transaction of `stage`, if any, ended without a message.
    private mutating func abortTransaction(_ stage: Stage) {
        guard stage.transaction != nil else { return }
        queue.append(.transactionAborted)
    }

    /// Ends the session: the transaction is dropped, `reply` (if any) sent, the connection closed.
    private mutating func terminate(with reply: SMTPReply?) {
        if transaction != nil { queue.append(.transactionAborted) }
        if let reply { queue.append(.send(outgoing(reply))) }
        queue.append(.close)
        state = .closed
    }

    /// A reply as this client may see it: ASCII unless it asked for SMTPUTF8.
    private func outgoing(_ reply: SMTPReply) -> SMTPReply {
        clientUsesSMTPUTF8 ? reply : reply.asciiOnly
    }

    /// Queues a reply, counting 5yz replies; a 421 closes the session after it (RFC 5321 §3.8),
    /// and so does reaching the error limit (with a 421 of its own).
    private mutating func send(_ reply: SMTPReply) {
        if case .closed = state { return }
        if reply.code == 421 { return terminate(with: reply) }
        queue.append(.send(outgoing(reply)))
        guard reply.isPermanentFailure else { return }
        errorCount += 1
        if errorCount >= configuration.limits.errorsBeforeDisconnect {
            terminate(with: .serviceClosing(host: configuration.hostname, "Too many errors, closing connection"))
        }
    }

    /// The caller answered out of turn: a bug in the caller, never the client's doing. The
    /// session ends with 421 rather than in an undefined state.
    private mutating func misuse(_ what: String) {
        if case .closed = state { return }
        misuseDescription = what
        terminate(with: .serviceClosing(host: configuration.hostname, "Internal error, closing connection"))
    }

    /// The client's HELO argument as it may be echoed: printable ASCII only (anything else is
    /// `?`), at most `limit` characters.
    static func printable(_ text: String, limit: Int) -> String {
        String(text.unicodeScalars.prefix(limit).map { (0x21...0x7E).contains($0.value) ? Character($0) : "?" })
    }
}

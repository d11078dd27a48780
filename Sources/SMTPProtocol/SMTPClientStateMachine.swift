public import NIOCore

/// The sending side of an SMTP (or LMTP) session as a value: replies and decisions in, actions out.
///
/// It opens the session (greeting, EHLO with HELO fallback, STARTTLS, AUTH), then carries any
/// number of transactions — MAIL, RCPT, DATA or BDAT, pipelined when the server offers PIPELINING
/// (RFC 2920) — and ends with QUIT. Every reply is matched to the command it answers; the result
/// of a transaction holds each recipient's reply (``SMTPTransactionResult``).
///
/// Driving it: call ``start()``; then repeatedly take actions with ``next()`` (write what
/// ``Action/send(_:)`` and ``Action/sendText(_:)`` carry, flushing when `next()` returns `nil`)
/// and feed the server's bytes with ``receive(_:)``. The timeouts of RFC 5321 §4.5.3.2 are the
/// driver's; ``awaitedReply`` says which one applies, and ``timedOut()`` reports one that fired.
///
/// A call that does not fit the session's state throws ``SMTPClientCallError`` and changes
/// nothing. ``send(_:)`` also refuses, before anything is sent, a message the server cannot take
/// as asked (RFC 1870 SIZE, RFC 3030 BINARYMIME without CHUNKING, RFC 6152 8BITMIME, RFC 6531
/// SMTPUTF8 for a UTF-8 address, RFC 8689 REQUIRETLS), and leaves out the parameters the server
/// did not advertise (SIZE, BODY=7BIT, DSN's RET/ENVID/NOTIFY/ORCPT, AUTH=), saying so in its
/// ``ParameterAdjustments``.
///
/// STARTTLS (RFC 3207 §4.2): everything received after the server's 220 and until
/// ``tlsEstablished()`` is discarded — bytes that came with the 220, and bytes that arrive during
/// the handshake — so that a reply injected in plaintext is never read as one sent under TLS.
public struct SMTPClientStateMachine: Sendable {
    /// How the client uses STARTTLS (RFC 3207).
    public enum TLSPolicy: Hashable, Sendable {
        /// Never start TLS.
        case never
        /// Start TLS when the server offers it; go on without it otherwise (RFC 7435).
        case opportunistic
        /// Start TLS or fail the session before MAIL (RFC 3207 §4.1, RFC 8314 §3.1).
        case required
    }

    /// What the client does.
    public struct Configuration: Hashable, Sendable {
        /// The name sent with EHLO/HELO/LHLO (RFC 5321 §4.1.1.1).
        public var hostname: String
        /// SMTP or LMTP.
        public var dialect: SMTPServerConfiguration.Dialect
        /// When to STARTTLS.
        public var tlsPolicy: TLSPolicy
        /// Whether TLS is already active (implicit TLS on port 465, RFC 8314 §3.3).
        public var tlsActive: Bool
        /// Whether to offer the caller an AUTH step (``Action/authenticate(offered:)``).
        public var wantsAuthentication: Bool
        /// Whether to use BDAT when the server offers CHUNKING (RFC 3030). BINARYMIME always does.
        public var prefersChunking: Bool
        /// The size of the BDAT chunks text is gathered into, in octets.
        public var chunkSize: Int
        /// Limits on reply lines.
        public var limits: SMTPLimits

        /// A configuration; by default SMTP, opportunistic STARTTLS, no AUTH, DATA, 64 KiB chunks.
        public init(
            hostname: String,
            dialect: SMTPServerConfiguration.Dialect = .smtp,
            tlsPolicy: TLSPolicy = .opportunistic,
            tlsActive: Bool = false,
            wantsAuthentication: Bool = false,
            prefersChunking: Bool = false,
            chunkSize: Int = 64 * 1024,
            limits: SMTPLimits = .default
        ) {
            self.hostname = hostname
            self.dialect = dialect
            self.tlsPolicy = tlsPolicy
            self.tlsActive = tlsActive
            self.wantsAuthentication = wantsAuthentication
            self.prefersChunking = prefersChunking
            self.chunkSize = max(1, chunkSize)
            self.limits = limits
        }
    }

    /// What the caller must do next.
    public enum Action: Hashable, Sendable {
        /// Write this command.
        case send(SMTPCommand)
        /// Write these bytes as they are (message text, already dot-stuffed or chunk-framed; an
        /// AUTH response line).
        case sendText(ByteBuffer)
        /// The server said 220 to STARTTLS: flush, start TLS, then call ``tlsEstablished()`` or
        /// ``tlsFailed(_:)``. Bytes received until then are discarded (RFC 3207 §4.2).
        case startTLS
        /// The session may authenticate: call ``startAuthentication(mechanism:initialResponse:)``
        /// with one of `offered`, or ``skipAuthentication()``.
        case authenticate(offered: [String])
        /// A 334 challenge, decoded: call ``authenticationResponse(_:)`` or ``cancelAuthentication()``.
        case authenticationChallenge([UInt8])
        /// The session is open: call ``send(_:)`` for a transaction, or ``quit()``.
        case ready(SMTPCapabilities)
        /// The server is ready for the message text: call ``messageText(_:)`` as often as needed,
        /// then ``endMessage()``.
        case sendMessage
        /// The server refused a BDAT chunk (RFC 3030 §2): no further chunk may follow. Stop sending
        /// text if it is still being sent: do not call ``messageText(_:)`` or ``endMessage()``
        /// again. The transaction ends with ``transactionComplete(_:)`` once the chunks already
        /// sent are answered.
        case abandonMessage(SMTPReply)
        /// A transaction ended (accepted, partly or not at all); the session is ready again.
        case transactionComplete(SMTPTransactionResult)
        /// The session failed; ``close`` follows (after a QUIT when the server can still take one).
        case failed(SMTPClientSessionError)
        /// Close the connection.
        case close
    }

    /// What ``send(_:)`` changed in a transaction's parameters to fit what the server offers.
    public struct ParameterAdjustments: OptionSet, Hashable, Sendable {
        /// The adjustments as bits.
        public let rawValue: UInt8
        /// Adjustments from their bits.
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        /// SIZE= was left out: the server does not offer SIZE (RFC 1870 §4).
        public static let sizeDropped = ParameterAdjustments(rawValue: 1 << 0)
        /// BODY=7BIT was left out: the server does not offer 8BITMIME (RFC 6152 §2).
        public static let bodyDropped = ParameterAdjustments(rawValue: 1 << 1)
        /// SMTPUTF8 was added: an address holds UTF-8 (RFC 6531 §3.4).
        public static let smtpUTF8Added = ParameterAdjustments(rawValue: 1 << 2)
        /// SMTPUTF8 was left out: every address is ASCII and the server does not offer it
        /// (RFC 6531 §3.2).
        public static let smtpUTF8Dropped = ParameterAdjustments(rawValue: 1 << 3)
        /// RET, ENVID, NOTIFY and ORCPT were left out: the server does not offer DSN. The relaying
        /// MTA now owes the sender a "relayed" notification for every recipient that asked for
        /// NOTIFY=SUCCESS (RFC 3461 §5.2.2).
        public static let dsnDropped = ParameterAdjustments(rawValue: 1 << 4)
        /// AUTH= was left out: the server does not offer AUTH (RFC 4954 §5).
        public static let authDropped = ParameterAdjustments(rawValue: 1 << 5)
    }

    /// A reply awaited, in the order the commands went out.
    private enum Expected: Hashable, Sendable {
        case greeting, ehlo, helo, startTLS, auth, mail, recipient(Int)
        /// DATA's 354.
        case dataInitiation
        /// A BDAT chunk that is not the last.
        case chunk
        /// The reply (LMTP: the replies) after the final dot or the LAST chunk.
        case dataTermination
        case reset, quit

        var stage: SMTPClientStage {
            switch self {
            case .greeting: .greeting
            case .ehlo, .helo: .hello
            case .startTLS: .startTLS
            case .auth: .authentication
            case .mail: .mail
            case .recipient: .recipient
            case .dataInitiation: .dataInitiation
            case .chunk: .chunk
            case .dataTermination: .dataTermination
            case .reset: .reset
            case .quit: .quit
            }
        }
    }

    private enum State: Hashable, Sendable {
        case notStarted
        /// Waiting for replies (``expected`` says to what).
        case waiting
        /// Waiting for the driver to finish the TLS handshake; what arrives is discarded.
        case tlsHandshake
        /// Waiting for the driver's AUTH decision.
        case authDecision
        /// Waiting for the driver's response to a 334 challenge.
        case authChallenge
        /// Ready for a transaction or QUIT.
        case ready
        /// The driver is sending message text.
        case sendingText
        case closed
    }

    /// How the message text of a transaction travels.
    private enum Transfer: Sendable {
        /// DATA, dot-stuffed (RFC 5321 §4.5.2).
        case data(SMTPDataEncoder)
        /// BDAT, text gathered into chunks (RFC 3030 §2).
        case chunking(pending: ByteBuffer)
        /// BDAT after a refused chunk: nothing more is sent (RFC 3030 §2).
        case chunkRefused
    }

    private struct Transaction: Sendable {
        var envelope: SMTPEnvelope
        var mailReply: SMTPReply?
        var recipientReplies: [SMTPReply?]
        var messageReply: SMTPReply?
        var lmtpReplies: [SMTPReply] = []
        var transfer: Transfer

        var acceptedCount: Int { recipientReplies.filter { $0?.isPositiveCompletion == true }.count }
        var anyAccepted: Bool { mailReply?.isPositiveCompletion == true && acceptedCount > 0 }
        var usesChunking: Bool {
            switch transfer {
            case .data: false
            case .chunking, .chunkRefused: true
            }
        }

        var result: SMTPTransactionResult {
            SMTPTransactionResult(
                mailReply: mailReply ?? SMTPReply(451, .temporarySystemError, "no reply to MAIL"),
                recipientReplies: recipientReplies, messageReply: messageReply, lmtpReplies: lmtpReplies)
        }
    }

    /// A call that came while an RSET was still being answered, carried out once it is.
    private enum Deferred: Sendable {
        case transaction(SMTPEnvelope, Transfer)
        case quit
    }

    /// The configuration the session runs with.
    public let configuration: Configuration
    /// What the server advertised in its last EHLO/LHLO reply (empty after HELO).
    public private(set) var capabilities = SMTPCapabilities(greeting: "")
    /// Whether TLS is active.
    public private(set) var isTLSActive: Bool
    /// Whether AUTH succeeded.
    public private(set) var isAuthenticated = false
    /// Octets received after STARTTLS's 220 and before TLS was established, all discarded: a
    /// server (or a man in the middle) that sends any is misbehaving (RFC 3207 §4.2).
    public private(set) var discardedPlaintextOctets = 0

    private var state = State.notStarted
    private var expected: [Expected] = []
    private var parser: SMTPReplyParser
    private var text = ReplyTextSanitizer()
    private var queue: [Action] = []
    private var transaction: Transaction?
    private var deferred: Deferred?

    /// A machine for one session.
    public init(configuration: Configuration) {
        self.configuration = configuration
        self.isTLSActive = configuration.tlsActive
        self.parser = SMTPReplyParser(limits: configuration.limits)
    }

    /// The stage whose reply the machine waits for, if any: its RFC 5321 §4.5.3.2 timeout applies.
    public var awaitedReply: SMTPClientStage? {
        guard state == .waiting || state == .sendingText, let first = expected.first else { return nil }
        return first.stage
    }

    /// The stage the session is in: the reply awaited, or the step the driver owes.
    public var stage: SMTPClientStage {
        switch state {
        case .notStarted: .greeting
        case .waiting: expected.first?.stage ?? .quit
        case .tlsHandshake: .tlsHandshake
        case .authDecision, .authChallenge: .authentication
        case .ready: .mail
        case .sendingText: .messageText
        case .closed: .quit
        }
    }

    /// Whether the session has ended.
    public var isClosed: Bool { state == .closed }

    /// Whether the session is ready for ``send(_:)`` or ``quit()`` without waiting.
    public var isReady: Bool { state == .ready }

    // MARK: - Events in

    /// The connection is open: wait for the greeting.
    ///
    /// - Throws: ``SMTPClientCallError/Kind-swift.struct/wrongState`` when the session has started.
    public mutating func start() throws(SMTPClientCallError) {
        guard state == .notStarted else { throw wrongState("start()") }
        expected = [.greeting]
        state = .waiting
    }

    /// Adds bytes received from the server. Bytes that arrive during the TLS handshake are
    /// discarded (RFC 3207 §4.2), and so are bytes after the session closed.
    public mutating func receive(_ bytes: ByteBuffer) {
        switch state {
        case .closed:
            return
        case .tlsHandshake:
            discardedPlaintextOctets += bytes.readableBytes
        case .notStarted, .waiting, .authDecision, .authChallenge, .ready, .sendingText:
            parser.append(text.sanitize(bytes))
        }
    }

    /// The next action, or `nil` when the machine needs more bytes or a call from the caller.
    public mutating func next() -> Action? {
        while queue.isEmpty, state != .closed, state != .tlsHandshake {
            let reply: SMTPReply?
            do {
                reply = try parser.next()
            } catch {
                fail(.protocolViolation, reply: nil, "server sent a malformed reply: \(error.message)", politely: false)
                break
            }
            guard let reply else { break }
            handle(reply)
        }
        return queue.isEmpty ? nil : queue.removeFirst()
    }

    /// The connection was lost: the session fails (a no-op once it has ended).
    public mutating func connectionClosed() {
        guard state != .closed else { return }
        fail(.connectionLost, reply: nil, "connection closed during \(stage)", politely: false)
    }

    /// The driver's timer for ``awaitedReply`` (or for writing message text) fired: the session
    /// fails without QUIT (RFC 5321 §4.5.3.2: the server is not answering). A no-op once it has ended.
    public mutating func timedOut() {
        guard state != .closed else { return }
        fail(.timedOut, reply: nil, "no progress within the \(stage) timeout", politely: false)
    }

    // MARK: - Calls from the driver

    /// TLS is up: say EHLO again (RFC 3207 §4.2); nothing received before counts.
    public mutating func tlsEstablished() throws(SMTPClientCallError) {
        guard state == .tlsHandshake else { throw wrongState("tlsEstablished()") }
        isTLSActive = true
        capabilities = SMTPCapabilities(greeting: "")
        purgeInput()
        sendGreeting()
    }

    /// The TLS handshake failed: the session cannot go on.
    public mutating func tlsFailed(_ reason: String) throws(SMTPClientCallError) {
        guard state == .tlsHandshake else { throw wrongState("tlsFailed(_:)") }
        fail(.tlsFailed, reply: nil, "TLS handshake failed: \(reason)", politely: false)
    }

    /// Starts AUTH with `mechanism` (one the server offered); the initial response, when given, is
    /// sent with the command (RFC 4954 §4).
    public mutating func startAuthentication(mechanism: String, initialResponse: [UInt8]?) throws(SMTPClientCallError) {
        guard state == .authDecision else { throw wrongState("startAuthentication(mechanism:initialResponse:)") }
        expected = [.auth]
        state = .waiting
        queue.append(.send(.auth(mechanism: mechanism, initialResponse: initialResponse)))
    }

    /// Goes on without AUTH.
    public mutating func skipAuthentication() throws(SMTPClientCallError) {
        guard state == .authDecision else { throw wrongState("skipAuthentication()") }
        becomeReady()
    }

    /// Answers a 334 challenge.
    public mutating func authenticationResponse(_ response: [UInt8]) throws(SMTPClientCallError) {
        guard state == .authChallenge else { throw wrongState("authenticationResponse(_:)") }
        var line = ByteBuffer()
        line.writeString(Base64.encode(response))
        line.writeStaticString("\r\n")
        expected = [.auth]
        state = .waiting
        queue.append(.sendText(line))
    }

    /// Cancels the AUTH exchange (`*`, RFC 4954 §4); the server answers 501 and the session fails.
    public mutating func cancelAuthentication() throws(SMTPClientCallError) {
        guard state == .authChallenge else { throw wrongState("cancelAuthentication()") }
        expected = [.auth]
        state = .waiting
        queue.append(.sendText(ByteBuffer(string: "*\r\n")))
    }

    /// Starts a transaction. With PIPELINING, MAIL, every RCPT and (unless BDAT is used) DATA go
    /// out as one group (RFC 2920 §3.1).
    ///
    /// It may be called right after ``Action/transactionComplete(_:)``: when the machine is still
    /// resetting the failed transaction, it sends the new one once RSET is answered.
    ///
    /// - Returns: what was changed in the parameters to fit the server (see the type's overview).
    /// - Throws: ``SMTPClientCallError``: `wrongState` outside the ready state (and for a second
    ///   transaction while one waits for RSET), `invalidEnvelope` without recipients,
    ///   `messageTooLarge` and `extensionNotOffered` for what the server cannot take, with the
    ///   reply to report for every recipient. Nothing is sent then.
    @discardableResult
    public mutating func send(_ envelope: SMTPEnvelope) throws(SMTPClientCallError) -> ParameterAdjustments {
        let resetting = state == .waiting && expected == [.reset]
        guard state == .ready || (resetting && deferred == nil) else {
            throw wrongState(resetting ? "a second send(_:) while RSET is answered" : "send(_:)")
        }
        guard !envelope.recipients.isEmpty else {
            throw SMTPClientCallError(.invalidEnvelope, "a transaction needs at least one recipient (RFC 5321 §3.3)")
        }
        let (prepared, transfer, adjustments) = try prepare(envelope)
        if resetting {
            deferred = .transaction(prepared, transfer)
        } else {
            begin(prepared, transfer: transfer)
        }
        return adjustments
    }

    /// Message text after ``Action/sendMessage``: any chunking of the message is fine. For DATA it
    /// is dot-stuffed and its line ends made CRLF (RFC 5321 §4.5.2); for BDAT it goes as it is.
    public mutating func messageText(_ bytes: ByteBuffer) throws(SMTPClientCallError) {
        guard state == .sendingText, var current = transaction else { throw wrongState("messageText(_:)") }
        switch current.transfer {
        case .data(var encoder):
            var output = ByteBuffer()
            output.reserveCapacity(bytes.readableBytes + bytes.readableBytes / 64 + 8)
            encoder.encode(bytes, into: &output)
            current.transfer = .data(encoder)
            transaction = current
            queue.append(.sendText(output))
        case .chunking(var pending):
            var bytes = bytes
            // One BDAT per call would make tiny chunks; gather up to the chunk size.
            while bytes.readableBytes > 0 {
                let room = configuration.chunkSize - pending.readableBytes
                var slice = bytes.readSlice(length: min(room, bytes.readableBytes))!
                pending.writeBuffer(&slice)
                if pending.readableBytes >= configuration.chunkSize {
                    queue.append(.send(.bdat(size: pending.readableBytes, last: false)))
                    queue.append(.sendText(pending))
                    expected.append(.chunk)
                    pending = ByteBuffer()
                }
            }
            current.transfer = .chunking(pending: pending)
            transaction = current
        case .chunkRefused:
            throw wrongState("messageText(_:) after a refused chunk")
        }
    }

    /// Ends the message text: the final `.` (DATA) or BDAT LAST.
    public mutating func endMessage() throws(SMTPClientCallError) {
        guard state == .sendingText, var current = transaction else { throw wrongState("endMessage()") }
        switch current.transfer {
        case .data(var encoder):
            var output = ByteBuffer()
            encoder.finish(into: &output)
            current.transfer = .data(encoder)
            queue.append(.sendText(output))
            expected = [.dataTermination]
        case .chunking(let pending):
            queue.append(.send(.bdat(size: pending.readableBytes, last: true)))
            if pending.readableBytes > 0 { queue.append(.sendText(pending)) }
            current.transfer = .chunking(pending: ByteBuffer())
            expected.append(.dataTermination)
        case .chunkRefused:
            throw wrongState("endMessage() after a refused chunk")
        }
        transaction = current
        state = .waiting
    }

    /// Sends RSET on a ready session (to check that an idle connection still works before it is
    /// used again); the session is ready again once it is answered, without a new
    /// ``Action/ready(_:)``. ``send(_:)`` and ``quit()`` may follow at once.
    public mutating func reset() throws(SMTPClientCallError) {
        guard state == .ready else { throw wrongState("reset()") }
        queue.append(.send(.reset))
        expected = [.reset]
        state = .waiting
    }

    /// Ends the session: QUIT when the session is ready (or once a pending RSET is answered);
    /// otherwise — in the middle of a transaction or an exchange — the connection is closed
    /// without QUIT.
    ///
    /// - Throws: ``SMTPClientCallError/Kind-swift.struct/wrongState`` when the session has ended,
    ///   or when a transaction waits for RSET.
    public mutating func quit() throws(SMTPClientCallError) {
        switch state {
        case .closed:
            throw wrongState("quit()")
        case .ready:
            queue.append(.send(.quit))
            expected = [.quit]
            state = .waiting
        case .waiting where expected == [.reset]:
            guard deferred == nil else { throw wrongState("quit() while a transaction waits for RSET") }
            deferred = .quit
        case .notStarted, .waiting, .tlsHandshake, .authDecision, .authChallenge, .sendingText:
            transaction = nil
            expected = []
            state = .closed
            queue.append(.close)
        }
    }

    // MARK: - Transactions

    private func prepare(_ envelope: SMTPEnvelope) throws(SMTPClientCallError) -> (SMTPEnvelope, Transfer, ParameterAdjustments) {
        var envelope = envelope
        var adjustments: ParameterAdjustments = []
        let offers = capabilities

        // RFC 1870 §6.1: a declared size beyond the server's limit fails at once.
        if offers.contains(.size) {
            if let size = envelope.parameters.size, let limit = offers.maximumSize, size > limit {
                throw SMTPClientCallError(
                    .messageTooLarge, "the message of \(size) octets exceeds the server's SIZE \(limit)",
                    reply: SMTPReply(552, .messageTooBig, "Message size \(size) exceeds the server's limit of \(limit) octets (RFC 1870)"))
            }
        } else if envelope.parameters.size != nil {
            envelope.parameters.size = nil
            adjustments.insert(.sizeDropped)
        }

        // RFC 3030 §3: BINARYMIME needs BINARYMIME and CHUNKING; RFC 6152 §3: 8-bit text needs 8BITMIME.
        let transfer: Transfer
        switch envelope.parameters.body {
        case .binaryMIME?:
            guard offers.contains(.binaryMIME), offers.contains(.chunking) else {
                let missing = offers.contains(.chunking) ? "BINARYMIME" : "CHUNKING"
                throw SMTPClientCallError(
                    .extensionNotOffered, "a BINARYMIME message needs BINARYMIME and CHUNKING; the server does not offer \(missing)",
                    reply: SMTPReply(554, .conversionNotSupported, "Binary message content needs BINARYMIME and CHUNKING, which the server does not offer (RFC 3030)"))
            }
            transfer = .chunking(pending: ByteBuffer())
        case .eightBitMIME?:
            guard offers.contains(.eightBitMIME) else {
                throw SMTPClientCallError(
                    .extensionNotOffered, "an 8BITMIME message needs 8BITMIME, which the server does not offer",
                    reply: SMTPReply(554, .conversionNotSupported, "8-bit message content needs 8BITMIME, which the server does not offer (RFC 6152)"))
            }
            transfer = Self.textTransfer(chunking: configuration.prefersChunking && offers.contains(.chunking))
        case let body:
            if body != nil, !offers.contains(.eightBitMIME) {
                envelope.parameters.body = nil
                adjustments.insert(.bodyDropped)
            }
            transfer = Self.textTransfer(chunking: configuration.prefersChunking && offers.contains(.chunking))
        }

        // RFC 6531 §3.2, §3.4: a UTF-8 address needs SMTPUTF8, and then the parameter is sent.
        let needsUTF8 = !(envelope.reversePath.mailbox?.isASCII ?? true) || envelope.recipients.contains { !$0.path.isASCII }
        if needsUTF8 {
            guard offers.contains(.smtpUTF8) else {
                throw SMTPClientCallError(
                    .extensionNotOffered, "a UTF-8 address needs SMTPUTF8, which the server does not offer",
                    reply: SMTPReply(553, .nonASCIIAddressNotPermitted, "UTF-8 addresses need SMTPUTF8, which the server does not offer (RFC 6531)"))
            }
            if !envelope.parameters.smtpUTF8 {
                envelope.parameters.smtpUTF8 = true
                adjustments.insert(.smtpUTF8Added)
            }
        } else if envelope.parameters.smtpUTF8, !offers.contains(.smtpUTF8) {
            envelope.parameters.smtpUTF8 = false
            adjustments.insert(.smtpUTF8Dropped)
        }

        // RFC 8689 §4.2.1: a message that requires TLS goes only to a server that offers REQUIRETLS.
        if envelope.parameters.requireTLS, !offers.contains(.requireTLS) {
            throw SMTPClientCallError(
                .extensionNotOffered, "the message requires TLS all the way (REQUIRETLS) and the server does not offer REQUIRETLS",
                reply: SMTPReply(550, .requireTLSNeeded, "REQUIRETLS support required (RFC 8689)"))
        }

        // RFC 3461 §5.2.2: DSN parameters go only to a server that offers DSN.
        if !offers.contains(.dsn) {
            var dropped = envelope.parameters.dsnReturn != nil || envelope.parameters.envelopeID != nil
            envelope.parameters.dsnReturn = nil
            envelope.parameters.envelopeID = nil
            for index in envelope.recipients.indices {
                if envelope.recipients[index].parameters.notify != nil || envelope.recipients[index].parameters.originalRecipient != nil {
                    dropped = true
                }
                envelope.recipients[index].parameters.notify = nil
                envelope.recipients[index].parameters.originalRecipient = nil
            }
            if dropped { adjustments.insert(.dsnDropped) }
        }

        // RFC 4954 §5: AUTH= only to a server that offers AUTH.
        if envelope.parameters.authenticatedSender != nil, !offers.contains(.auth) {
            envelope.parameters.authenticatedSender = nil
            adjustments.insert(.authDropped)
        }
        return (envelope, transfer, adjustments)
    }

    private static func textTransfer(chunking: Bool) -> Transfer {
        chunking ? .chunking(pending: ByteBuffer()) : .data(SMTPDataEncoder())
    }

    private mutating func begin(_ envelope: SMTPEnvelope, transfer: Transfer) {
        let current = Transaction(
            envelope: envelope, recipientReplies: Array(repeating: nil, count: envelope.recipients.count), transfer: transfer)
        transaction = current
        state = .waiting
        queue.append(.send(.mail(envelope.reversePath, envelope.parameters)))
        expected = [.mail]
        if capabilities.contains(.pipelining) {
            for (index, recipient) in envelope.recipients.enumerated() {
                queue.append(.send(.recipient(recipient.path, recipient.parameters)))
                expected.append(.recipient(index))
            }
            if !current.usesChunking {
                queue.append(.send(.data))
                expected.append(.dataInitiation)
            }
        }
    }

    // MARK: - Replies

    private mutating func handle(_ reply: SMTPReply) {
        guard state == .waiting || state == .sendingText, !expected.isEmpty else {
            if reply.code == 421 {
                return fail(.serviceClosing, reply: reply, "server closed the session", politely: false)
            }
            if state == .sendingText {
                // A server that answers in the middle of DATA's text (552 too big, 554 refused)
                // has refused the message; it reads no further, so the session cannot go on.
                return fail(.refused, reply: reply, "server refused the message before the end of its text", politely: false)
            }
            return fail(.protocolViolation, reply: reply, "unexpected reply during \(stage)", politely: false)
        }
        let awaited = expected.removeFirst()
        // RFC 5321 §3.8: 421 ends the session, whatever it answers (QUIT's own reply aside).
        if reply.code == 421, awaited != .quit {
            return fail(.serviceClosing, reply: reply, "server closed the session at \(awaited.stage)", politely: false, at: awaited.stage)
        }
        switch awaited {
        case .greeting:
            guard reply.code == 220 else {
                return fail(.refused, reply: reply, "server refused the session at greeting", politely: true, at: awaited.stage)
            }
            sendGreeting()
        case .ehlo:
            if reply.isPositiveCompletion {
                capabilities = SMTPCapabilities(ehloReply: reply)
                afterGreeting()
            } else if reply.isPermanentFailure, configuration.dialect == .smtp {
                // RFC 5321 §3.2: fall back to HELO when EHLO is not understood.
                queue.append(.send(.helo(configuration.hostname)))
                expected = [.helo]
            } else {
                fail(.refused, reply: reply, "server refused \(configuration.dialect == .lmtp ? "LHLO" : "EHLO")", politely: true, at: awaited.stage)
            }
        case .helo:
            guard reply.isPositiveCompletion else {
                return fail(.refused, reply: reply, "server refused HELO", politely: true, at: awaited.stage)
            }
            capabilities = SMTPCapabilities(greeting: reply.lines.first ?? "")
            afterGreeting()
        case .startTLS:
            if reply.code == 220 {
                // RFC 3207 §4.2: nothing that came with or after the 220 may be read as a reply.
                purgeInput()
                state = .tlsHandshake
                queue.append(.startTLS)
            } else if configuration.tlsPolicy == .required {
                fail(.tlsUnavailable, reply: reply, "server refused STARTTLS and TLS is required", politely: true, at: awaited.stage)
            } else {
                afterTLS()
            }
        case .auth:
            if reply.code == 334 {
                let encoded = (reply.lines.first ?? "").trimmingCharacters(in: " ")
                guard let challenge = Base64.decode(encoded) else {
                    return fail(.protocolViolation, reply: reply, "AUTH challenge is not base64", politely: false, at: awaited.stage)
                }
                state = .authChallenge
                queue.append(.authenticationChallenge(challenge))
            } else if reply.code == 235 {
                isAuthenticated = true
                becomeReady()
            } else {
                fail(.authenticationFailed, reply: reply, "authentication failed", politely: true, at: awaited.stage)
            }
        case .mail:
            transaction?.mailReply = reply
            guard let current = transaction else { return }
            if !reply.isPositiveCompletion {
                // Pipelined RCPTs and DATA will be refused too; their replies end the transaction.
                if expected.isEmpty { finishTransaction(resetting: true) }
            } else if !capabilities.contains(.pipelining) {
                sendRecipient(0, of: current)
            }
        case .recipient(let index):
            transaction?.recipientReplies[index] = reply
            guard let current = transaction else { return }
            if !capabilities.contains(.pipelining), current.mailReply?.isPositiveCompletion == true,
               index + 1 < current.envelope.recipients.count {
                return sendRecipient(index + 1, of: current)
            }
            // With DATA pipelined, its reply is still to come and decides.
            guard expected.isEmpty else { return }
            if current.anyAccepted {
                if current.usesChunking {
                    state = .sendingText
                    queue.append(.sendMessage)
                } else {
                    queue.append(.send(.data))
                    expected = [.dataInitiation]
                }
            } else {
                finishTransaction(resetting: true)
            }
        case .dataInitiation:
            guard let current = transaction else { return }
            if reply.code == 354, current.anyAccepted {
                state = .sendingText
                queue.append(.sendMessage)
            } else if reply.code == 354 {
                // A pipelined DATA the server took although nothing before it was accepted: end
                // the empty message at once so the stream stays in step, and forget its reply.
                transaction?.messageReply = SMTPReply(554, .invalidCommand, "No valid recipients")
                queue.append(.sendText(ByteBuffer(string: ".\r\n")))
                expected = [.dataTermination]
            } else {
                if current.anyAccepted || current.messageReply == nil { transaction?.messageReply = reply }
                finishTransaction(resetting: true)
            }
        case .chunk:
            guard let current = transaction else { return }
            if !reply.isPositiveCompletion, current.messageReply == nil {
                // RFC 3030 §2: a refused chunk fails the transaction; no further chunk may follow.
                transaction?.messageReply = reply
                transaction?.transfer = .chunkRefused
                if state == .sendingText { state = .waiting }
                queue.append(.abandonMessage(reply))
            }
            if state == .waiting, expected.isEmpty, transaction?.messageReply != nil {
                finishTransaction(resetting: true)
            }
        case .dataTermination:
            guard let current = transaction else { return }
            if configuration.dialect == .lmtp, current.messageReply == nil {
                // RFC 2033 §4.2: one reply per accepted recipient.
                transaction?.lmtpReplies.append(reply)
                if current.lmtpReplies.count + 1 < current.acceptedCount {
                    expected = [.dataTermination]
                    return
                }
                transaction?.messageReply = current.lmtpReplies.first ?? reply
                return finishTransaction(resetting: false)
            }
            let failedEarlier = current.messageReply != nil
            if !failedEarlier { transaction?.messageReply = reply }
            finishTransaction(resetting: failedEarlier)
        case .reset:
            guard reply.isPositiveCompletion else {
                return fail(.refused, reply: reply, "server refused RSET", politely: true, at: awaited.stage)
            }
            becomeReady(announce: false)
            switch deferred {
            case .transaction(let envelope, let transfer)?:
                deferred = nil
                begin(envelope, transfer: transfer)
            case .quit?:
                deferred = nil
                queue.append(.send(.quit))
                expected = [.quit]
                state = .waiting
            case nil:
                break
            }
        case .quit:
            state = .closed
            queue.append(.close)
        }
    }

    private mutating func sendRecipient(_ index: Int, of current: Transaction) {
        let recipient = current.envelope.recipients[index]
        queue.append(.send(.recipient(recipient.path, recipient.parameters)))
        expected = [.recipient(index)]
    }

    private mutating func sendGreeting() {
        switch configuration.dialect {
        case .smtp: queue.append(.send(.ehlo(configuration.hostname)))
        case .lmtp: queue.append(.send(.lhlo(configuration.hostname)))
        }
        expected = [.ehlo]
        state = .waiting
    }

    private mutating func afterGreeting() {
        if !isTLSActive, configuration.tlsPolicy != .never {
            if capabilities.contains(.startTLS) {
                queue.append(.send(.startTLS))
                expected = [.startTLS]
                return
            }
            if configuration.tlsPolicy == .required {
                return fail(.tlsUnavailable, reply: nil, "server does not offer STARTTLS and TLS is required", politely: true, at: .startTLS)
            }
        }
        afterTLS()
    }

    private mutating func afterTLS() {
        if configuration.wantsAuthentication, !isAuthenticated, capabilities.contains(.auth) {
            state = .authDecision
            queue.append(.authenticate(offered: capabilities.authMechanisms))
            return
        }
        becomeReady()
    }

    private mutating func becomeReady(announce: Bool = true) {
        state = .ready
        expected = []
        if announce { queue.append(.ready(capabilities)) }
    }

    private mutating func finishTransaction(resetting: Bool) {
        guard let current = transaction else { return }
        transaction = nil
        queue.append(.transactionComplete(current.result))
        if resetting {
            queue.append(.send(.reset))
            expected = [.reset]
            state = .waiting
        } else {
            becomeReady(announce: false)
        }
    }

    /// Forgets every byte received and not yet read as a reply.
    private mutating func purgeInput() {
        discardedPlaintextOctets += parser.bufferedByteCount + text.bufferedByteCount
        parser = SMTPReplyParser(limits: configuration.limits)
        text = ReplyTextSanitizer()
    }

    private func wrongState(_ call: String) -> SMTPClientCallError {
        let situation: String
        switch state {
        case .notStarted: situation = "the session has not started"
        case .waiting: situation = "the machine waits for the reply to \(expected.first?.stage.description ?? "a command")"
        case .tlsHandshake: situation = "the TLS handshake is in progress"
        case .authDecision: situation = "the machine waits for the AUTH decision"
        case .authChallenge: situation = "the machine waits for the response to an AUTH challenge"
        case .ready: situation = "the session is ready and no exchange is in progress"
        case .sendingText: situation = "message text is being sent"
        case .closed: situation = "the session has ended"
        }
        return SMTPClientCallError(.wrongState, "\(call) is not allowed now: \(situation)")
    }

    private mutating func fail(
        _ kind: SMTPClientSessionError.Kind, reply: SMTPReply?, _ message: String, politely: Bool,
        at failedStage: SMTPClientStage? = nil
    ) {
        let failedStage = failedStage ?? stage
        var cut: SMTPTransactionResult?
        if var current = transaction {
            if reply?.code == 421, let reply {
                // The 421 answers everything still open.
                if current.mailReply == nil { current.mailReply = reply }
                for index in current.recipientReplies.indices where current.recipientReplies[index] == nil {
                    current.recipientReplies[index] = reply
                }
                if current.anyAccepted, current.messageReply == nil { current.messageReply = reply }
            }
            cut = current.result
        }
        transaction = nil
        deferred = nil
        queue.append(.failed(SMTPClientSessionError(kind, stage: failedStage, reply: reply, message, transaction: cut)))
        if politely, reply.map({ $0.code != 421 }) ?? true {
            queue.append(.send(.quit))
        }
        queue.append(.close)
        state = .closed
        expected = []
    }
}

extension EnhancedStatusCode {
    /// 5.6.3 Conversion required but not supported (RFC 3463 §3.7).
    static let conversionNotSupported = EnhancedStatusCode(5, 6, 3)!
    /// 5.6.7 Non-ASCII addresses not permitted for that sender/recipient (RFC 6531 §3.5).
    static let nonASCIIAddressNotPermitted = EnhancedStatusCode(5, 6, 7)!
    /// 5.7.30 REQUIRETLS support required (RFC 8689 §5).
    static let requireTLSNeeded = EnhancedStatusCode(5, 7, 30)!
}

/// Replaces what is not UTF-8 in a server's reply stream with U+FFFD, so that a reply with a
/// Latin-1 or broken text still parses and keeps its code (RFC 5321 §4.2: clients act on the
/// code, the text is for people). Line structure is unchanged: CR and LF are never part of a
/// multi-octet sequence. An incomplete sequence at the end of a read is held until the next.
struct ReplyTextSanitizer: Sendable, Hashable {
    private var held: [UInt8] = []

    var bufferedByteCount: Int { held.count }

    mutating func sanitize(_ bytes: ByteBuffer) -> ByteBuffer {
        if held.isEmpty, bytes.readableBytesView.allSatisfy({ $0 < 0x80 }) { return bytes }
        var input = held
        input.append(contentsOf: bytes.readableBytesView)
        held.removeAll()
        var output = ByteBuffer()
        output.reserveCapacity(input.count + 8)
        var index = 0
        while index < input.count {
            let lead = input[index]
            if lead < 0x80 {
                output.writeInteger(lead)
                index += 1
                continue
            }
            let length: Int
            var low: UInt8 = 0x80, high: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F
            default: length = 0
            }
            guard length > 0 else {
                output.writeBytes(Self.replacement)
                index += 1
                continue
            }
            // The longest valid prefix of the sequence (Unicode §3.9, "maximal subpart").
            var valid = 1
            while valid < length, index + valid < input.count {
                let byte = input[index + valid]
                let (min, max) = valid == 1 ? (low, high) : (UInt8(0x80), UInt8(0xBF))
                guard byte >= min, byte <= max else { break }
                valid += 1
            }
            if valid == length {
                output.writeBytes(input[index..<(index + length)])
            } else if index + valid == input.count {
                held = Array(input[index...])
            } else {
                output.writeBytes(Self.replacement)
            }
            index += valid
        }
        return output
    }

    private static let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var text = Substring(self)
        while text.first == set { text.removeFirst() }
        while text.last == set { text.removeLast() }
        return String(text)
    }
}

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
/// driver's; ``awaitedReply`` says which one applies.
public struct SMTPClientStateMachine: Sendable {
    /// How the client uses STARTTLS.
    public enum TLSPolicy: Hashable, Sendable {
        /// Never start TLS.
        case never
        /// Start TLS when the server offers it; go on without it otherwise.
        case opportunistic
        /// Start TLS or fail the session.
        case required
    }

    /// What the client does.
    public struct Configuration: Hashable, Sendable {
        /// The name sent with EHLO/HELO/LHLO.
        public var hostname: String
        /// SMTP or LMTP.
        public var dialect: SMTPServerConfiguration.Dialect
        /// When to STARTTLS.
        public var tlsPolicy: TLSPolicy
        /// Whether TLS is already active (implicit TLS on port 465, RFC 8314).
        public var tlsActive: Bool
        /// Whether to offer the caller an AUTH step (``Action/authenticate(offered:)``).
        public var wantsAuthentication: Bool
        /// Whether to use BDAT when the server offers CHUNKING.
        public var prefersChunking: Bool
        /// Limits on reply lines.
        public var limits: SMTPLimits

        public init(
            hostname: String,
            dialect: SMTPServerConfiguration.Dialect = .smtp,
            tlsPolicy: TLSPolicy = .opportunistic,
            tlsActive: Bool = false,
            wantsAuthentication: Bool = false,
            prefersChunking: Bool = false,
            limits: SMTPLimits = .default
        ) {
            self.hostname = hostname
            self.dialect = dialect
            self.tlsPolicy = tlsPolicy
            self.tlsActive = tlsActive
            self.wantsAuthentication = wantsAuthentication
            self.prefersChunking = prefersChunking
            self.limits = limits
        }
    }

    /// What the caller must do next.
    public enum Action: Hashable, Sendable {
        /// Write this command.
        case send(SMTPCommand)
        /// Write these bytes as they are (message text, already dot-stuffed or chunk-framed).
        case sendText(ByteBuffer)
        /// The server said 220 to STARTTLS: flush, start TLS, then call ``tlsEstablished()`` or
        /// ``tlsFailed(_:)``.
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
        /// A transaction ended (accepted, partly or not at all); the session is ready again.
        case transactionComplete(SMTPTransactionResult)
        /// The session failed; ``close`` follows (after a QUIT when the server can still take one).
        case failed(SMTPClientSessionError)
        /// Close the connection.
        case close
    }

    /// Which reply the machine waits for, so the driver can apply RFC 5321 §4.5.3.2's timeouts.
    public enum AwaitedReply: Hashable, Sendable {
        /// The 220 greeting: 5 minutes.
        case greeting
        /// EHLO, HELO, STARTTLS, AUTH, RSET, NOOP: 5 minutes.
        case command
        /// MAIL: 5 minutes.
        case mail
        /// RCPT: 5 minutes.
        case recipient
        /// DATA's 354: 2 minutes.
        case dataInitiation
        /// The reply after the final dot (or LAST chunk): 10 minutes.
        case dataTermination
        /// QUIT's 221.
        case quit

        /// The RFC 5321 §4.5.3.2 minimum.
        public var timeout: Duration {
            switch self {
            case .greeting, .command, .mail, .recipient, .quit: .seconds(300)
            case .dataInitiation: .seconds(120)
            case .dataTermination: .seconds(600)
            }
        }
    }

    private enum Expected: Hashable, Sendable {
        case greeting, ehlo, helo, startTLS, auth, mail, recipient(Int)
        /// DATA's 354.
        case dataInitiation
        /// A BDAT chunk that is not the last.
        case chunk
        /// The reply (LMTP: the replies) after the final dot or the LAST chunk.
        case dataTermination
        case reset, quit
    }

    private enum Phase: Hashable, Sendable {
        case notStarted
        /// Waiting for replies (``expected`` says to what).
        case waiting
        /// Waiting for the driver to finish the TLS handshake.
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

    private struct Progress: Hashable, Sendable {
        var envelope: SMTPEnvelope
        var mailReply: SMTPReply?
        var recipientReplies: [SMTPReply?]
        var messageReply: SMTPReply?
        var lmtpReplies: [SMTPReply] = []
        var usesChunking: Bool

        var acceptedCount: Int { recipientReplies.filter { $0?.isPositiveCompletion == true }.count }
    }

    /// The configuration the session runs with.
    public let configuration: Configuration
    /// What the server advertised in its last EHLO/LHLO reply (empty after HELO).
    public private(set) var capabilities = SMTPCapabilities(greeting: "")
    /// Whether TLS is active.
    public private(set) var isTLSActive: Bool
    /// Whether AUTH succeeded.
    public private(set) var isAuthenticated = false

    private var phase = Phase.notStarted
    private var expected: [Expected] = []
    private var parser: SMTPReplyParser
    private var queue: [Action] = []
    private var progress: Progress?
    private var encoder = SMTPDataEncoder()
    private var pendingChunk: ByteBuffer?
    private var usedHELO = false
    /// A transaction or QUIT asked for while an RSET was still being answered.
    private var deferred: Deferred?

    private enum Deferred: Hashable, Sendable {
        case transaction(SMTPEnvelope)
        case quit
    }

    public init(configuration: Configuration) {
        self.configuration = configuration
        self.isTLSActive = configuration.tlsActive
        self.parser = SMTPReplyParser(limits: configuration.limits)
    }

    /// The reply the machine is waiting for, if any.
    public var awaitedReply: AwaitedReply? {
        guard phase == .waiting, let first = expected.first else { return nil }
        switch first {
        case .greeting: return .greeting
        case .ehlo, .helo, .startTLS, .auth, .reset: return .command
        case .mail: return .mail
        case .recipient: return .recipient
        case .dataInitiation: return .dataInitiation
        case .chunk, .dataTermination: return .dataTermination
        case .quit: return .quit
        }
    }

    /// Whether the session has ended.
    public var isClosed: Bool { phase == .closed }

    // MARK: - Events in

    /// The connection is open: wait for the greeting.
    public mutating func start() {
        guard phase == .notStarted else { return }
        expected = [.greeting]
        phase = .waiting
    }

    /// Adds bytes received from the server.
    public mutating func receive(_ bytes: ByteBuffer) {
        guard phase != .closed else { return }
        parser.append(bytes)
    }

    /// The next action, or `nil` when the machine needs more bytes or a call from the caller.
    public mutating func next() -> Action? {
        while queue.isEmpty, phase != .closed {
            let reply: SMTPReply?
            do {
                reply = try parser.next()
            } catch {
                fail(SMTPClientSessionError(.protocolViolation, reply: nil, "server sent a malformed reply: \(error.message)"), politely: false)
                break
            }
            guard let reply else { break }
            handle(reply)
        }
        return queue.isEmpty ? nil : queue.removeFirst()
    }

    /// The connection was lost (or a timeout fired): the session fails.
    public mutating func connectionClosed() {
        guard phase != .closed else { return }
        let stage = expected.first.map { "\($0)" } ?? "\(phase)"
        fail(SMTPClientSessionError(.connectionLost, reply: nil, "connection closed while waiting for \(stage)"), politely: false)
    }

    // MARK: - Calls from the driver

    /// TLS is up: say EHLO again (RFC 3207 §4.2).
    public mutating func tlsEstablished() {
        guard phase == .tlsHandshake else { return }
        isTLSActive = true
        capabilities = SMTPCapabilities(greeting: "")
        sendGreeting()
    }

    /// The TLS handshake failed: the session cannot go on.
    public mutating func tlsFailed(_ reason: String) {
        guard phase == .tlsHandshake else { return }
        fail(SMTPClientSessionError(.tlsFailed, reply: nil, "TLS handshake failed: \(reason)"), politely: false)
    }

    /// Starts AUTH with `mechanism` (one the server offered).
    public mutating func startAuthentication(mechanism: String, initialResponse: [UInt8]?) {
        guard phase == .authDecision else { return }
        expected = [.auth]
        phase = .waiting
        queue.append(.send(.auth(mechanism: mechanism, initialResponse: initialResponse)))
    }

    /// Goes on without AUTH.
    public mutating func skipAuthentication() {
        guard phase == .authDecision else { return }
        becomeReady()
    }

    /// Answers a 334 challenge.
    public mutating func authenticationResponse(_ response: [UInt8]) {
        guard phase == .authChallenge else { return }
        var line = ByteBuffer()
        line.writeString(Base64.encode(response))
        line.writeStaticString("\r\n")
        expected = [.auth]
        phase = .waiting
        queue.append(.sendText(line))
    }

    /// Cancels the AUTH exchange (`*`, RFC 4954 §4); the server answers 501 and the session fails.
    public mutating func cancelAuthentication() {
        guard phase == .authChallenge else { return }
        expected = [.auth]
        phase = .waiting
        queue.append(.sendText(ByteBuffer(string: "*\r\n")))
    }

    /// Starts a transaction. With PIPELINING, MAIL, every RCPT and (unless BDAT is used) DATA go
    /// out as one group (RFC 2920 §3.1).
    ///
    /// It may be called right after ``Action/transactionComplete(_:)``: when the machine is still
    /// resetting the failed transaction, it sends the new one once RSET is answered.
    public mutating func send(_ envelope: SMTPEnvelope) {
        guard !envelope.recipients.isEmpty else { return }
        if phase == .waiting, expected == [.reset], deferred == nil {
            deferred = .transaction(envelope)
            return
        }
        guard phase == .ready else { return }
        let chunking = configuration.prefersChunking && capabilities.contains(.chunking)
            || envelope.parameters.body == .binaryMIME
        var envelope = envelope
        if !capabilities.contains(.size) { envelope.parameters.size = nil }
        progress = Progress(
            envelope: envelope,
            recipientReplies: Array(repeating: nil, count: envelope.recipients.count),
            usesChunking: chunking)
        encoder = SMTPDataEncoder()
        phase = .waiting
        queue.append(.send(.mail(envelope.reversePath, envelope.parameters)))
        expected = [.mail]
        if capabilities.contains(.pipelining) {
            for (index, recipient) in envelope.recipients.enumerated() {
                queue.append(.send(.recipient(recipient.path, recipient.parameters)))
                expected.append(.recipient(index))
            }
            if !chunking {
                queue.append(.send(.data))
                expected.append(.dataInitiation)
            }
        }
    }

    /// Message text after ``Action/sendMessage``: any chunking of the message is fine.
    public mutating func messageText(_ text: ByteBuffer) {
        guard phase == .sendingText, let current = progress else { return }
        if current.usesChunking {
            // One BDAT per call would make tiny chunks; gather until a sensible size.
            var pending = pendingChunk ?? ByteBuffer()
            var text = text
            pending.writeBuffer(&text)
            if pending.readableBytes >= 64 * 1024 {
                queue.append(.send(.bdat(size: pending.readableBytes, last: false)))
                queue.append(.sendText(pending))
                expected.append(.chunk)
                pendingChunk = nil
            } else {
                pendingChunk = pending
            }
        } else {
            var output = ByteBuffer()
            encoder.encode(text, into: &output)
            queue.append(.sendText(output))
        }
    }

    /// Ends the message text.
    public mutating func endMessage() {
        guard phase == .sendingText, let current = progress else { return }
        if current.usesChunking {
            let last = pendingChunk ?? ByteBuffer()
            pendingChunk = nil
            queue.append(.send(.bdat(size: last.readableBytes, last: true)))
            if last.readableBytes > 0 { queue.append(.sendText(last)) }
            expected.append(.dataTermination)
        } else {
            var output = ByteBuffer()
            encoder.finish(into: &output)
            queue.append(.sendText(output))
            expected = [.dataTermination]
        }
        phase = .waiting
    }

    /// Ends the session with QUIT.
    public mutating func quit() {
        if phase == .waiting, expected == [.reset] {
            deferred = .quit
            return
        }
        guard phase == .ready else {
            if phase != .closed { phase = .closed; queue.append(.close) }
            return
        }
        queue.append(.send(.quit))
        expected = [.quit]
        phase = .waiting
    }

    // MARK: - Replies

    private mutating func handle(_ reply: SMTPReply) {
        guard phase == .waiting || phase == .sendingText, !expected.isEmpty else {
            fail(SMTPClientSessionError(.protocolViolation, reply: reply, "unexpected reply \(reply)"), politely: false)
            return
        }
        let awaited = expected.removeFirst()
        switch awaited {
        case .greeting:
            guard reply.code == 220 else {
                return fail(SMTPClientSessionError(.refused, reply: reply, "server refused the session at greeting"), politely: true)
            }
            sendGreeting()
        case .ehlo:
            if reply.isPositiveCompletion {
                capabilities = SMTPCapabilities(ehloReply: reply)
                afterGreeting()
            } else if reply.isPermanentFailure, configuration.dialect == .smtp, !usedHELO {
                // RFC 5321 §3.2: fall back to HELO when EHLO is not understood.
                usedHELO = true
                queue.append(.send(.helo(configuration.hostname)))
                expected = [.helo]
            } else {
                fail(SMTPClientSessionError(.refused, reply: reply, "server refused \(configuration.dialect == .lmtp ? "LHLO" : "EHLO")"), politely: true)
            }
        case .helo:
            guard reply.isPositiveCompletion else {
                return fail(SMTPClientSessionError(.refused, reply: reply, "server refused HELO"), politely: true)
            }
            capabilities = SMTPCapabilities(greeting: reply.lines.first ?? "")
            afterGreeting()
        case .startTLS:
            if reply.code == 220 {
                phase = .tlsHandshake
                queue.append(.startTLS)
            } else if configuration.tlsPolicy == .required {
                fail(SMTPClientSessionError(.tlsUnavailable, reply: reply, "server refused STARTTLS and TLS is required"), politely: true)
            } else {
                afterTLS()
            }
        case .auth:
            if reply.code == 334 {
                let text = reply.lines.first ?? ""
                guard let challenge = Base64.decode(text.trimmingCharacters(in: " ")) else {
                    return fail(SMTPClientSessionError(.protocolViolation, reply: reply, "AUTH challenge is not base64"), politely: false)
                }
                phase = .authChallenge
                queue.append(.authenticationChallenge(challenge))
            } else if reply.code == 235 {
                isAuthenticated = true
                becomeReady()
            } else {
                fail(SMTPClientSessionError(.authenticationFailed, reply: reply, "authentication failed"), politely: true)
            }
        case .mail:
            progress?.mailReply = reply
            if !reply.isPositiveCompletion {
                // Pipelined RCPTs and DATA will be refused too; their replies end the transaction.
                if expected.isEmpty { finishTransaction(resetting: true) }
            } else if !capabilities.contains(.pipelining), let current = progress {
                queue.append(.send(.recipient(current.envelope.recipients[0].path, current.envelope.recipients[0].parameters)))
                expected = [.recipient(0)]
            }
        case .recipient(let index):
            progress?.recipientReplies[index] = reply
            guard let current = progress else { return }
            if !capabilities.contains(.pipelining), current.mailReply?.isPositiveCompletion == true {
                let next = index + 1
                if next < current.envelope.recipients.count {
                    queue.append(.send(.recipient(current.envelope.recipients[next].path, current.envelope.recipients[next].parameters)))
                    expected = [.recipient(next)]
                    return
                }
            }
            // With DATA pipelined, its reply is still to come and decides.
            guard expected.isEmpty else { return }
            if current.mailReply?.isPositiveCompletion == true, current.acceptedCount > 0 {
                if current.usesChunking {
                    phase = .sendingText
                    queue.append(.sendMessage)
                } else {
                    queue.append(.send(.data))
                    expected = [.dataInitiation]
                }
            } else {
                finishTransaction(resetting: true)
            }
        case .dataInitiation:
            guard let current = progress else { return }
            let anyAccepted = current.mailReply?.isPositiveCompletion == true && current.acceptedCount > 0
            if reply.code == 354, anyAccepted {
                phase = .sendingText
                queue.append(.sendMessage)
            } else if reply.code == 354 {
                // A pipelined DATA the server took although nothing before it was accepted: end
                // the empty message at once so the stream stays in step, and forget its reply.
                progress?.messageReply = SMTPReply(554, .invalidCommand, "No valid recipients")
                queue.append(.sendText(ByteBuffer(string: ".\r\n")))
                expected = [.dataTermination]
            } else {
                if anyAccepted || current.messageReply == nil { progress?.messageReply = reply }
                finishTransaction(resetting: true)
            }
        case .chunk:
            if !reply.isPositiveCompletion, progress?.messageReply == nil {
                progress?.messageReply = reply
            }
        case .dataTermination:
            guard let current = progress else { return }
            if configuration.dialect == .lmtp, current.messageReply == nil {
                // RFC 2033 §4.2: one reply per accepted recipient.
                progress?.lmtpReplies.append(reply)
                if current.lmtpReplies.count + 1 < current.acceptedCount {
                    expected = [.dataTermination]
                    return
                }
                let first = current.lmtpReplies.first ?? reply
                progress?.messageReply = first
                finishTransaction(resetting: false)
                return
            }
            let failedEarlier = current.messageReply != nil
            if !failedEarlier { progress?.messageReply = reply }
            finishTransaction(resetting: failedEarlier)
        case .reset:
            guard reply.isPositiveCompletion else {
                return fail(SMTPClientSessionError(.refused, reply: reply, "server refused RSET"), politely: true)
            }
            becomeReady(announce: false)
            switch deferred {
            case .transaction(let envelope)?:
                deferred = nil
                send(envelope)
            case .quit?:
                deferred = nil
                quit()
            case nil:
                break
            }
        case .quit:
            phase = .closed
            queue.append(.close)
        }
    }

    private mutating func sendGreeting() {
        switch configuration.dialect {
        case .smtp:
            queue.append(.send(.ehlo(configuration.hostname)))
            expected = [.ehlo]
        case .lmtp:
            queue.append(.send(.lhlo(configuration.hostname)))
            expected = [.ehlo]
        }
        phase = .waiting
    }

    private mutating func afterGreeting() {
        if !isTLSActive, configuration.tlsPolicy != .never {
            if capabilities.contains(.startTLS) {
                queue.append(.send(.startTLS))
                expected = [.startTLS]
                return
            }
            if configuration.tlsPolicy == .required {
                return fail(SMTPClientSessionError(.tlsUnavailable, reply: nil, "server does not offer STARTTLS and TLS is required"), politely: true)
            }
        }
        afterTLS()
    }

    private mutating func afterTLS() {
        if configuration.wantsAuthentication, !isAuthenticated, capabilities.contains(.auth) {
            phase = .authDecision
            queue.append(.authenticate(offered: capabilities.authMechanisms))
            return
        }
        becomeReady()
    }

    private mutating func becomeReady(announce: Bool = true) {
        phase = .ready
        expected = []
        if announce { queue.append(.ready(capabilities)) }
    }

    private mutating func finishTransaction(resetting: Bool) {
        guard let current = progress else { return }
        let result = SMTPTransactionResult(
            mailReply: current.mailReply ?? SMTPReply(451, .temporarySystemError, "no reply to MAIL"),
            recipientReplies: current.recipientReplies,
            messageReply: current.messageReply,
            lmtpReplies: current.lmtpReplies)
        progress = nil
        queue.append(.transactionComplete(result))
        if resetting {
            queue.append(.send(.reset))
            expected = [.reset]
            phase = .waiting
        } else {
            becomeReady(announce: false)
        }
    }

    private mutating func fail(_ error: SMTPClientSessionError, politely: Bool) {
        progress = nil
        queue.append(.failed(error))
        if politely, error.reply.map({ $0.code != 421 }) ?? true {
            queue.append(.send(.quit))
        }
        queue.append(.close)
        phase = .closed
        expected = []
    }
}

/// Why a client session could not go on, with the server's reply when there was one.
public struct SMTPClientSessionError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// The server refused the session (greeting, EHLO/HELO, RSET).
        public static let refused = Kind("refused")
        /// TLS was required but not offered or refused.
        public static let tlsUnavailable = Kind("TLS unavailable")
        /// The TLS handshake failed.
        public static let tlsFailed = Kind("TLS failed")
        /// AUTH failed.
        public static let authenticationFailed = Kind("authentication failed")
        /// The server broke the protocol (a malformed or unexpected reply).
        public static let protocolViolation = Kind("protocol violation")
        /// The connection went away.
        public static let connectionLost = Kind("connection lost")

        public var description: String { name }
    }

    public let kind: Kind
    /// The server's reply, when the failure came as one.
    public let reply: SMTPReply?
    /// What happened.
    public let message: String

    public init(_ kind: Kind, reply: SMTPReply?, _ message: String) {
        self.kind = kind
        self.reply = reply
        self.message = message
    }

    /// Whether trying again later may help: a 4yz reply or no reply at all.
    public var isTemporary: Bool { reply.map { !$0.isPermanentFailure } ?? true }

    public var description: String { reply.map { "\(message): \($0)" } ?? message }
}

extension String {
    func trimmingCharacters(in set: Character) -> String {
        var text = Substring(self)
        while text.first == set { text.removeFirst() }
        while text.last == set { text.removeLast() }
        return String(text)
    }
}

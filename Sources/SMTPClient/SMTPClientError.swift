public import SMTPProtocol

/// Why sending failed: what went wrong, at which stage, with which server, and what the server
/// answered (RFC 5321 §4.2), so that a log line or a delivery status notification can say so.
///
/// Per-recipient answers are not errors: a refused recipient is a ``SMTPRecipientResult`` in an
/// ``SMTPSendResult``. This error is thrown when the attempt as a whole failed — no server could
/// be reached, TLS or AUTH could not be had, the session broke off, a timer fired. When it broke
/// off in the middle of a transaction, ``partialResult`` holds what the server had said by then,
/// so that a recipient it had already refused for good is not retried.
///
/// ```swift
/// do {
///     let result = try await SMTPClient.send(message, from: sender, to: recipients, via: destination)
/// } catch {
///     print(error.stage, error.reply?.code ?? 0, error.isTemporary)   // RCPT 421 true
/// }
/// ```
public struct SMTPClientError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// A DNS lookup (MX, A, AAAA, TLSA) failed or found nothing to connect to.
        public static let lookupFailed = Kind("lookup failed")
        /// The domain does not exist (NXDOMAIN, RFC 8020): there is nowhere to deliver.
        public static let noSuchDomain = Kind("no such domain")
        /// The domain accepts no mail: a null MX (RFC 7505 §3).
        public static let nullMX = Kind("null MX")
        /// The best mail exchanger of the domain is this host (RFC 5321 §5.1): delivering would
        /// loop.
        public static let mailLoops = Kind("mail loops back")
        /// No connection could be opened (refused, unreachable, timed out).
        public static let connectionFailed = Kind("connection failed")
        /// The server refused the session: greeting, EHLO/HELO or RSET.
        public static let refused = Kind("refused")
        /// The server is closing the session (421, RFC 5321 §3.8).
        public static let serviceClosing = Kind("service closing")
        /// TLS is required and the server does not offer STARTTLS or refused it (RFC 3207 §4.1).
        public static let tlsUnavailable = Kind("TLS unavailable")
        /// The TLS handshake or the certificate verification failed.
        public static let tlsFailed = Kind("TLS failed")
        /// The TLS settings cannot be used (a CA file or client certificate that does not load).
        public static let tlsConfiguration = Kind("TLS configuration")
        /// Credentials were given but the server offers no mechanism they may use (or no AUTH).
        public static let authenticationUnavailable = Kind("authentication unavailable")
        /// AUTH failed (RFC 4954 §6), or the server did not prove itself (SCRAM, DIGEST-MD5).
        public static let authenticationFailed = Kind("authentication failed")
        /// The server broke the protocol: a malformed or unexpected reply.
        public static let protocolViolation = Kind("protocol violation")
        /// The connection went away.
        public static let connectionLost = Kind("connection lost")
        /// A stage took longer than its timeout (RFC 5321 §4.5.3.2).
        public static let timedOut = Kind("timed out")
        /// Reading the message text failed (the body's sequence threw); the message was not sent.
        public static let messageSource = Kind("message source failed")
        /// The request cannot be carried out: no recipient, a connection that is closed or has
        /// carried its limit of messages.
        public static let invalidRequest = Kind("invalid request")
        /// The task was cancelled; the connection was closed.
        public static let cancelled = Kind("cancelled")

        /// The kind's name.
        public var description: String { name }
    }

    /// Where in the attempt it went wrong: before the session (``lookup``, ``connect``), or in a
    /// stage of it (RFC 5321 §4.5.3.2's).
    public struct Stage: Hashable, Sendable, CustomStringConvertible {
        /// The stage of the session, when the failure happened in one.
        public let session: SMTPClientStage?
        private let name: String

        private init(session: SMTPClientStage?, name: String) {
            self.session = session
            self.name = name
        }

        /// A stage of the session.
        public init(_ stage: SMTPClientStage) {
            self.init(session: stage, name: stage.description)
        }

        /// DNS: MX, A/AAAA, TLSA.
        public static let lookup = Stage(session: nil, name: "lookup")
        /// Opening the connection.
        public static let connect = Stage(session: nil, name: "connect")
        /// The 220 greeting.
        public static let greeting = Stage(.greeting)
        /// EHLO/HELO/LHLO.
        public static let hello = Stage(.hello)
        /// STARTTLS.
        public static let startTLS = Stage(.startTLS)
        /// The TLS handshake.
        public static let tlsHandshake = Stage(.tlsHandshake)
        /// AUTH.
        public static let authentication = Stage(.authentication)
        /// MAIL FROM.
        public static let mail = Stage(.mail)
        /// RCPT TO.
        public static let recipient = Stage(.recipient)
        /// DATA and its 354.
        public static let dataInitiation = Stage(.dataInitiation)
        /// Writing the message text.
        public static let messageText = Stage(.messageText)
        /// A BDAT chunk's reply.
        public static let chunk = Stage(.chunk)
        /// The reply after the final dot or BDAT LAST.
        public static let dataTermination = Stage(.dataTermination)
        /// RSET.
        public static let reset = Stage(.reset)
        /// QUIT.
        public static let quit = Stage(.quit)

        /// `lookup`, `connect`, or the session stage's command (`MAIL`, `RCPT`, `end of data`).
        public var description: String { name }
    }

    /// What went wrong.
    public let kind: Kind
    /// Where.
    public let stage: Stage
    /// The server's reply, when the failure came as one.
    public let reply: SMTPReply?
    /// The server it happened with (`mx1.example.org[192.0.2.1]:25`), when one was chosen.
    public let server: String?
    /// What happened, for an administrator: the cause and, for a fallback through several
    /// servers, what each one did.
    public let message: String
    /// The answers received before a session broke off in the middle of a transaction; recipients
    /// without an answer appear as temporary failures at the stage that broke.
    public let partialResult: SMTPSendResult?

    /// Makes an error.
    public init(
        _ kind: Kind, stage: Stage, reply: SMTPReply? = nil, server: String? = nil, _ message: String,
        partialResult: SMTPSendResult? = nil
    ) {
        self.kind = kind
        self.stage = stage
        self.reply = reply
        self.server = server
        self.message = message
        self.partialResult = partialResult
    }

    /// Whether trying again later may succeed: a 4yz reply, or a failure without a reply that a
    /// later attempt may not meet (a lost connection, a timeout, a DNS server that did not answer).
    /// Permanent: a 5yz reply, a null MX, a domain that does not exist, a request that cannot work.
    public var isTemporary: Bool {
        if let reply { return !reply.isPermanentFailure }
        return !permanentWithoutReply
    }

    private var permanentWithoutReply: Bool {
        kind == .nullMX || kind == .noSuchDomain || kind == .mailLoops || kind == .invalidRequest || kind == .tlsConfiguration
            || kind == .authenticationUnavailable
    }

    /// `stage: kind with server: message: reply`.
    public var description: String {
        var text = "\(stage): \(kind)"
        if let server { text += " with \(server)" }
        text += ": \(message)"
        if let reply { text += " (server said: \(reply))" }
        return text
    }
}

/// Why a client session could not go on: what went wrong, in which stage, and the server's reply
/// when there was one (RFC 5321 §4.2, §3.8).
///
/// ``SMTPClientStateMachine`` reports it with ``SMTPClientStateMachine/Action/failed(_:)``. When the
/// session failed in the middle of a transaction, ``transaction`` holds what the server had
/// answered so far, so that a recipient the server had already refused for good is not retried.
public struct SMTPClientSessionError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What went wrong.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// The server refused the session: the greeting, EHLO/HELO, or RSET was not accepted.
        public static let refused = Kind("refused")
        /// The server is closing the session (a 421 reply, RFC 5321 §3.8).
        public static let serviceClosing = Kind("service closing")
        /// TLS was required but the server does not offer STARTTLS or refused it (RFC 3207 §4.1).
        public static let tlsUnavailable = Kind("TLS unavailable")
        /// The TLS handshake failed.
        public static let tlsFailed = Kind("TLS failed")
        /// AUTH failed (RFC 4954 §6).
        public static let authenticationFailed = Kind("authentication failed")
        /// The server broke the protocol: a malformed reply, a reply nobody asked for.
        public static let protocolViolation = Kind("protocol violation")
        /// The connection went away.
        public static let connectionLost = Kind("connection lost")
        /// No reply came within the stage's time (RFC 5321 §4.5.3.2).
        public static let timedOut = Kind("timed out")

        /// The kind's name.
        public var description: String { name }
    }

    /// What went wrong.
    public let kind: Kind
    /// The stage the session was in.
    public let stage: SMTPClientStage
    /// The server's reply, when the failure came as one.
    public let reply: SMTPReply?
    /// What happened, for logs and delivery status notifications.
    public let message: String
    /// The transaction the failure cut short: every reply received until then, `nil` where none
    /// came. `nil` when no transaction was in progress.
    public let transaction: SMTPTransactionResult?

    /// Makes an error.
    public init(
        _ kind: Kind, stage: SMTPClientStage, reply: SMTPReply?, _ message: String,
        transaction: SMTPTransactionResult? = nil
    ) {
        self.kind = kind
        self.stage = stage
        self.reply = reply
        self.message = message
        self.transaction = transaction
    }

    /// Whether trying again later may help: a 4yz reply, or no reply at all (RFC 5321 §4.2.1).
    public var isTemporary: Bool { reply.map { !$0.isPermanentFailure } ?? true }

    /// `message: reply`, or the message alone.
    public var description: String { reply.map { "\(message): \($0)" } ?? message }
}

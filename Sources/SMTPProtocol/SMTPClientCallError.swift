/// Why ``SMTPClientStateMachine`` refused a call from its driver: a call made in the wrong state,
/// or a transaction the server cannot take as it was asked for.
///
/// A refused call changes nothing: the machine stays where it was and sends nothing. For a
/// transaction refused before MAIL (a message larger than the server's SIZE, an extension the
/// message needs and the server does not offer), ``reply`` is the reply the client gives in the
/// server's stead — what a delivery status notification reports for each recipient (RFC 3464
/// §2.3.6 `Diagnostic-Code`), with the enhanced status code RFC 3463 and the extension's RFC name.
public struct SMTPClientCallError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What was wrong with the call.
    public struct Kind: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// The call does not fit the session's state (``SMTPClientStateMachine/send(_:)`` before
        /// the session is ready, message text outside a message, TLS news without STARTTLS).
        public static let wrongState = Kind("wrong state")
        /// The envelope has no recipient (RFC 5321 §3.3 needs at least one RCPT).
        public static let invalidEnvelope = Kind("invalid envelope")
        /// The message needs an extension the server did not advertise: BINARYMIME and CHUNKING
        /// (RFC 3030 §3), 8BITMIME (RFC 6152 §3), SMTPUTF8 for a UTF-8 address (RFC 6531 §3.2),
        /// REQUIRETLS (RFC 8689 §4.2.1).
        public static let extensionNotOffered = Kind("extension not offered")
        /// The message's declared size exceeds the server's SIZE (RFC 1870 §6.1).
        public static let messageTooLarge = Kind("message too large")

        /// The kind's name.
        public var description: String { name }
    }

    /// What was wrong with the call.
    public let kind: Kind
    /// What was refused and why.
    public let message: String
    /// For a refused transaction, the reply the client reports for every recipient (permanent:
    /// sending the same message to the same server again cannot succeed).
    public let reply: SMTPReply?

    /// Makes an error.
    public init(_ kind: Kind, _ message: String, reply: SMTPReply? = nil) {
        self.kind = kind
        self.message = message
        self.reply = reply
    }

    /// The message.
    public var description: String { message }
}

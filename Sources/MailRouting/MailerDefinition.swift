/// How a mailer delivers: the protocol it speaks and, for network mailers, the port.
///
/// Sendmail defines its mailers in `MAILER()` with arguments such as `TCP $h 587`; SwiftMTA keeps
/// what matters of them here. The defaults are Sendmail's: esmtp, smtp, smtp8 and dsmtp on port 25,
/// and `relay` on port 25 unless RELAY_MAILER_ARGS says otherwise (the howto's `TCP $h 587`).
public struct MailerDefinition: Hashable, Sendable {
    /// What the mailer speaks.
    public enum Transport: String, Hashable, Sendable {
        /// SMTP with EHLO (extensions).
        case esmtp
        /// SMTP with HELO only.
        case smtp
        /// LMTP (RFC 2033).
        case lmtp
        /// Local delivery (a mailbox on this host).
        case local
        /// Refusal: the address gets an error.
        case error
        /// Accept and drop.
        case discard
    }

    /// What the mailer speaks.
    public var transport: Transport
    /// The TCP port for network mailers.
    public var port: Int?

    /// A mailer speaking `transport`, connecting to `port` when it is a network mailer (`nil` for
    /// local, error and discard). The port is not checked against the transport or for its range.
    public init(transport: Transport, port: Int? = nil) {
        self.transport = transport
        self.port = port
    }

    /// Sendmail's standard mailers, with the `relay` mailer on `relayPort` speaking `relayTransport`.
    public static func standard(relayPort: Int = 25, relayTransport: Transport = .esmtp) -> [Mailer: MailerDefinition] {
        [
            .esmtp: MailerDefinition(transport: .esmtp, port: 25),
            .smtp: MailerDefinition(transport: .smtp, port: 25),
            .smtp8: MailerDefinition(transport: .esmtp, port: 25),
            .dsmtp: MailerDefinition(transport: .esmtp, port: 25),
            .relay: MailerDefinition(transport: relayTransport, port: relayPort),
            .lmtp: MailerDefinition(transport: .lmtp, port: 24),
            .local: MailerDefinition(transport: .local),
            .error: MailerDefinition(transport: .error),
            .discard: MailerDefinition(transport: .discard),
        ]
    }
}

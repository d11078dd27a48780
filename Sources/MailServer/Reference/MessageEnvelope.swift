import MailRouting
import SMTPProtocol

/// What the reference server knows of a message besides its text: the SMTP envelope (RFC 5321
/// §2.3.1) and where the message came from.
struct MessageEnvelope: Sendable {
    /// An accepted recipient and its parameters (DSN's NOTIFY and ORCPT).
    struct Recipient: Sendable {
        var path: ForwardPath
        var parameters: RecipientParameters
        /// Where MailRouting routed it when RCPT was answered: the queue runner's first attempt
        /// uses it instead of routing again.
        var routing: RoutingDecision? = nil
    }

    var sender: ReversePath
    var mailParameters: MailParameters
    var recipients: [Recipient]
    /// The client's address.
    var clientAddress: String
    /// The client's confirmed host name (``ClientNameLookup``), if any.
    var clientHostName: String? = nil
    /// The HELO/EHLO argument.
    var helo: String?
    /// The authenticated identity, if any.
    var authenticatedUser: String?
    /// The protocol as the `Received:` header names it (`ESMTPSA`).
    var protocolName: String
    /// The TLS version and cipher (`TLSv1.3 TLS_AES_256_GCM_SHA384`) when the session used TLS.
    var tls: String?
    /// The octets of the text received.
    var size: Int
}

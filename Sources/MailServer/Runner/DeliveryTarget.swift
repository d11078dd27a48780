import MailRouting
import SMTPClient
import SMTPProtocol

/// Where one recipient of a queued message goes, once MailRouting has decided: a network session
/// (esmtp, smtp, relay, lmtp), a local mailbox, nowhere (discard), or a failure.
enum DeliveryTarget: Sendable {
    /// A session with a server; recipients with the same ``SMTPRoute/key`` share one transaction.
    case smtp(SMTPRoute)
    /// The mailbox of a local user.
    case local(user: String, address: String)
    /// Accepted and dropped (the discard mailer).
    case discard(mailer: String)
    /// Not deliverable: a temporary (4yz) or permanent (5yz) failure with its reply.
    case fail(SMTPReply)
}

/// A recipient's way to a server.
struct SMTPRoute: Sendable {
    /// Recipients with the same key go in one transaction on one cached session.
    var key: String
    var destination: SMTPDestination
    /// The recipient as the next hop gets it (RCPT TO).
    var path: ForwardPath
    /// The mailer's name, for the log (`mailer=esmtp`).
    var mailer: String
    /// Whether sender addresses are masqueraded on the way (network mailers other than lmtp).
    var masquerades: Bool
    /// Whether the next hop is a final delivery agent (LMTP): NOTIFY=SUCCESS gets `delivered`.
    var isFinalDelivery: Bool
}

/// One message in the spool as listed: its id, envelope, the state of each recipient, and the size
/// of its text. The text itself is read with ``MailQueue/body(of:)``.
public struct QueuedMessage: Hashable, Sendable {
    /// The queue id.
    public let id: QueueID
    /// The envelope as accepted.
    public let envelope: QueueEnvelope
    /// One status per recipient of ``envelope``, in the same order.
    public let recipients: [QueueRecipientStatus]
    /// The size of the message text in octets, as stored (RFC 5322 text with CRLF line ends,
    /// without SMTP's dot-stuffing).
    public let size: Int

    /// Whether every recipient is final: the runner may remove the message once its DSNs are sent.
    public var isFinished: Bool { recipients.allSatisfy(\.isFinal) }

    /// The earliest time any recipient may be attempted next; `nil` when all are final.
    public var nextAttempt: QueueTimestamp? { recipients.compactMap(\.nextAttempt).min() }
}

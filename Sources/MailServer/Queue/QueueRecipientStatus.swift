/// Where one recipient of a queued message stands: what the queue runner has done for it so far.
/// It is kept in the journal beside the envelope, and every change is journaled and flushed like
/// the message itself, so that a restart resumes exactly where delivery stood.
///
/// The fields are what a delivery status notification needs (RFC 3464 §2.3): the Action (from
/// ``disposition``), the Status code and Diagnostic-Code (``reply``), the Remote-MTA
/// (``remoteMTA``), the Last-Attempt-Date and the Will-Retry-Until (from ``nextAttempt``).
public struct QueueRecipientStatus: Hashable, Sendable {
    /// What is to happen next for the recipient.
    public enum Disposition: Hashable, Sendable {
        /// Not attempted yet.
        case pending
        /// Attempted and failed temporarily (RFC 5321 §4.2.1, 4yz); try again at `nextAttempt`.
        case deferred(nextAttempt: QueueTimestamp)
        /// Delivered (RFC 3464 §2.3.3 Action: delivered, relayed or expanded).
        case delivered
        /// Failed for good (5yz, or the queue return time passed); a bounce is owed or was sent.
        case failed
    }

    /// What is to happen next.
    public var disposition: Disposition
    /// How many delivery attempts were made.
    public var attempts: Int
    /// When the last attempt was made.
    public var lastAttempt: QueueTimestamp?
    /// The last reply or local diagnostic (`550 5.1.1 <u@example.com>: user unknown`), for the logs
    /// and the DSN's Diagnostic-Code.
    public var reply: String?
    /// The host that gave ``reply`` (RFC 3464 §2.3.5 Remote-MTA).
    public var remoteMTA: String?
    /// Whether the delay warning (queuewarn, RFC 3464 Action: delayed) was sent for this recipient.
    public var delayNotified: Bool
    /// Whether the DSN owed for the final disposition (a bounce, or NOTIFY=SUCCESS) was sent.
    public var finalNotified: Bool

    /// A status from its parts; the default is ``pending``.
    public init(
        disposition: Disposition = .pending, attempts: Int = 0, lastAttempt: QueueTimestamp? = nil,
        reply: String? = nil, remoteMTA: String? = nil, delayNotified: Bool = false, finalNotified: Bool = false
    ) {
        self.disposition = disposition
        self.attempts = attempts
        self.lastAttempt = lastAttempt
        self.reply = reply
        self.remoteMTA = remoteMTA
        self.delayNotified = delayNotified
        self.finalNotified = finalNotified
    }

    /// A recipient not attempted yet.
    public static let pending = QueueRecipientStatus()

    /// Whether nothing more will be attempted (delivered or failed).
    public var isFinal: Bool {
        switch disposition {
        case .pending, .deferred: false
        case .delivered, .failed: true
        }
    }

    /// When the recipient may be attempted next: the epoch (at once) when it is pending, `nil`
    /// when it is final.
    public var nextAttempt: QueueTimestamp? {
        switch disposition {
        case .pending: QueueTimestamp(millisecondsSince1970: 0)
        case .deferred(let next): next
        case .delivered, .failed: nil
        }
    }
}

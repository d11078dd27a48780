public import SMTPProtocol

/// Why the spool could not do what was asked, naming the path or the message concerned.
///
/// ``reply`` is what an SMTP server answers a client whose message could not be stored:
/// `452 4.3.1` (RFC 5321 §4.2.2 "insufficient system storage", RFC 3463 §3.4 X.3.1 "mail
/// system full") for space and for I/O errors alike — a temporary failure, so the client keeps
/// the message and tries again; nothing of it stays in the spool.
public struct MailQueueError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure.
    public enum Kind: Hashable, Sendable {
        /// The spool's file system is full (ENOSPC, EDQUOT): the message was not stored.
        case insufficientStorage
        /// A read, write or flush failed (EIO and the like): the message was not stored, or the
        /// record was not written.
        case ioError
        /// The spool directory cannot be used at all (missing and not creatable, not writable,
        /// not a directory): a start-up error.
        case unusableSpool
        /// Another process has the spool open.
        case spoolInUse
        /// No message with that queue id is in the spool.
        case notFound
        /// The stored message is damaged (a checksum does not match).
        case damaged
        /// The writer was used after commit or abort, or the envelope cannot be stored.
        case invalidUse
        /// The spool was closed.
        case closed
    }

    /// The kind of failure.
    public let kind: Kind
    /// What failed, with the path or queue id.
    public let message: String

    /// An error of `kind`, saying what failed.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// Whether trying again later may succeed.
    public var isTemporary: Bool {
        switch kind {
        case .insufficientStorage, .ioError, .spoolInUse, .closed: true
        case .unusableSpool, .notFound, .damaged, .invalidUse: false
        }
    }

    /// The reply for the client whose message this error refused: `452 4.3.1` (RFC 5321 §4.2.2,
    /// RFC 3463 §3.4). The text never includes paths or system error strings.
    public var reply: SMTPReply {
        SMTPReply(452, EnhancedStatusCode(4, 3, 1), "Insufficient system storage, try again later")
    }

    /// The message, with the path or queue id.
    public var description: String { message }
}

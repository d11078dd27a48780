public import SMTPProtocol

/// What became of one recipient of a message: accepted, or refused for now or for good, with the
/// reply that decided it (RFC 5321 §4.2: its code, enhanced status code and text) and the stage
/// that gave it.
///
/// With SMTP, an accepted recipient is one whose RCPT and the message's final reply were positive;
/// with LMTP, its own reply after the message (RFC 2033 §4.2).
public struct SMTPRecipientResult: Hashable, Sendable, CustomStringConvertible {
    /// The three outcomes of RFC 5321 §4.2.1's reply classes.
    public enum Status: Hashable, Sendable, CustomStringConvertible {
        /// 2yz: the server took responsibility for the message for this recipient.
        case accepted
        /// 4yz, or no answer: try again later.
        case temporaryFailure
        /// 5yz: do not try again unchanged.
        case permanentFailure

        /// `accepted`, `temporary failure`, `permanent failure`.
        public var description: String {
            switch self {
            case .accepted: "accepted"
            case .temporaryFailure: "temporary failure"
            case .permanentFailure: "permanent failure"
            }
        }
    }

    /// The recipient, as sent in RCPT TO.
    public let recipient: ForwardPath
    /// Accepted, temporary or permanent.
    public let status: Status
    /// The reply that decided: the server's, or — when ``isClientDecision`` — the client's own
    /// (a message the server cannot take as asked, a connection that broke before an answer).
    public let reply: SMTPReply
    /// The stage the deciding reply answered: MAIL, RCPT, DATA, a BDAT chunk, or the end of data.
    public let stage: SMTPClientError.Stage
    /// Whether the client decided without an answer from the server.
    public let isClientDecision: Bool

    /// A result.
    public init(recipient: ForwardPath, reply: SMTPReply, stage: SMTPClientError.Stage, isClientDecision: Bool = false) {
        self.recipient = recipient
        self.reply = reply
        self.stage = stage
        self.isClientDecision = isClientDecision
        if reply.isPositiveCompletion {
            status = .accepted
        } else if reply.isPermanentFailure {
            status = .permanentFailure
        } else {
            status = .temporaryFailure
        }
    }

    /// Whether the server accepted the message for this recipient.
    public var isAccepted: Bool { status == .accepted }

    /// `<bob@example.org>: permanent failure at RCPT: 550 5.1.1 User unknown`.
    public var description: String {
        "\(recipient): \(status) at \(stage): \(reply)\(isClientDecision ? " (decided by the client)" : "")"
    }
}

/// What the server said about one message: the reply to MAIL, to each RCPT, to DATA (or the
/// chunks), and the final reply — or, with LMTP, one final reply per accepted recipient.
public struct SMTPTransactionResult: Hashable, Sendable {
    /// The reply to MAIL FROM.
    public var mailReply: SMTPReply
    /// The reply to each RCPT, in envelope order; missing entries (MAIL failed, so RCPT was not
    /// sent or its reply not awaited) are `nil`.
    public var recipientReplies: [SMTPReply?]
    /// The reply that ended the message: DATA's final reply, the last BDAT's, a refused DATA or
    /// chunk, or `nil` when no message text was sent. For LMTP, the first recipient's.
    public var messageReply: SMTPReply?
    /// LMTP only: one final reply per accepted recipient, in the order accepted (RFC 2033 §4.2).
    public var lmtpReplies: [SMTPReply]

    /// A result from the replies, each the property of the same name. `recipientReplies` should
    /// hold one entry per envelope recipient; ``outcome(forRecipientAt:)`` treats an index past its
    /// end as a missing entry.
    public init(mailReply: SMTPReply, recipientReplies: [SMTPReply?], messageReply: SMTPReply?, lmtpReplies: [SMTPReply] = []) {
        self.mailReply = mailReply
        self.recipientReplies = recipientReplies
        self.messageReply = messageReply
        self.lmtpReplies = lmtpReplies
    }

    /// The reply that decided the fate of the recipient at `index` in the envelope: MAIL's when it
    /// failed, the RCPT reply when it failed, otherwise the message's final reply (LMTP: this
    /// recipient's own).
    public func outcome(forRecipientAt index: Int) -> SMTPReply {
        guard mailReply.isPositiveCompletion else { return mailReply }
        guard recipientReplies.indices.contains(index), let recipientReply = recipientReplies[index] else { return mailReply }
        guard recipientReply.isPositiveCompletion else { return recipientReply }
        if !lmtpReplies.isEmpty {
            let position = recipientReplies[..<index].filter { $0?.isPositiveCompletion == true }.count
            if position < lmtpReplies.count { return lmtpReplies[position] }
        }
        return messageReply ?? recipientReply
    }

    /// Whether the message was accepted for at least one recipient.
    public var deliveredToAny: Bool {
        recipientReplies.indices.contains { outcome(forRecipientAt: $0).isPositiveCompletion }
    }
}

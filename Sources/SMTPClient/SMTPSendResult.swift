public import SMTPProtocol

/// What the server said about a message: one ``SMTPRecipientResult`` per recipient, in envelope
/// order, the reply that ended the message (it often carries the server's queue ID), and who
/// answered.
///
/// ```swift
/// let result = try await SMTPClient.send(message, from: sender, to: recipients, via: destination)
/// for refused in result.recipients where !refused.isAccepted {
///     print(refused.recipient, refused.reply.code, refused.reply.enhancedCode as Any, refused.reply.lines)
/// }
/// ```
public struct SMTPSendResult: Hashable, Sendable, CustomStringConvertible {
    /// Each recipient's outcome, in envelope order.
    public let recipients: [SMTPRecipientResult]
    /// The reply after the final dot (or BDAT LAST); `nil` when no message text was sent.
    public let messageReply: SMTPReply?
    /// The server that answered.
    public let server: SMTPServerInfo
    /// Whether DSN parameters (RET, ENVID, NOTIFY, ORCPT) were left out because the server does
    /// not offer DSN: the sender then gets no notification from beyond this hop, and a relaying MTA
    /// owes a "relayed" DSN to every accepted recipient that asked for NOTIFY=SUCCESS
    /// (RFC 3461 §5.2.2).
    public let droppedDSNParameters: Bool

    /// A result.
    public init(recipients: [SMTPRecipientResult], messageReply: SMTPReply?, server: SMTPServerInfo, droppedDSNParameters: Bool = false) {
        self.recipients = recipients
        self.messageReply = messageReply
        self.server = server
        self.droppedDSNParameters = droppedDSNParameters
    }

    /// Whether every recipient was accepted.
    public var allAccepted: Bool { recipients.allSatisfy(\.isAccepted) }
    /// The recipients accepted.
    public var accepted: [SMTPRecipientResult] { recipients.filter(\.isAccepted) }
    /// The recipients refused for now.
    public var temporaryFailures: [SMTPRecipientResult] { recipients.filter { $0.status == .temporaryFailure } }
    /// The recipients refused for good.
    public var permanentFailures: [SMTPRecipientResult] { recipients.filter { $0.status == .permanentFailure } }

    /// `2 of 3 recipients accepted by mx.example.org[192.0.2.1]:25`, then one line per refusal.
    public var description: String {
        var lines = ["\(accepted.count) of \(recipients.count) recipients accepted by \(server)"]
        lines += recipients.filter { !$0.isAccepted }.map(\.description)
        return lines.joined(separator: "\n")
    }
}

public import SMTPProtocol

/// Why a delivery attempt failed, with the server's reply when it gave one.
///
/// The SMTP client itself arrives with its own issue (DESIGN.md, SMTPClient); this type fixes the
/// shape its errors take: a reply from the server decides whether the failure is temporary (4yz)
/// or permanent (5yz); a failure without a reply (no connection, a timeout) is temporary.
public struct SMTPClientError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The server's reply, when the failure came as one.
    public let reply: SMTPReply?
    /// What failed, for logs and delivery status notifications.
    public let message: String

    public init(reply: SMTPReply?, message: String) {
        self.reply = reply
        self.message = message
    }

    /// Whether trying again later may succeed: a 4yz reply, or no reply at all.
    public var isTemporary: Bool {
        guard let reply else { return true }
        return !reply.isPermanentFailure
    }

    public var description: String {
        reply.map { "\(message): \($0)" } ?? message
    }
}

public import SMTPProtocol

/// An error that carries the SMTP reply to send, for backends that refuse by throwing (as
/// go-smtp's `SMTPError` does): thrown from any ``SMTPSession`` or ``SMTPMessageReceiver``
/// method, the client gets ``reply``.
///
/// Any other error a backend throws reaches the client only as a generic temporary failure
/// (`451 4.3.0 Requested action aborted: local error in processing`, RFC 5321 §4.2.3), never with
/// its text: an internal error's description is for the log, not for the peer.
public struct SMTPRefusal: Error, Hashable, Sendable, CustomStringConvertible {
    /// The reply (4yz or 5yz).
    public let reply: SMTPReply

    /// A refusal with `reply`.
    public init(_ reply: SMTPReply) {
        self.reply = reply
    }

    public var description: String { "refused: \(reply)" }
}

public import NIOCore
public import SMTPProtocol

/// Where one message's text goes as it arrives (after DATA or BDAT), piece by piece, so that no
/// message has to be held in memory whole.
///
/// The server calls ``append(_:)`` for each piece — the text as RFC 5321 §4.5.2 defines it,
/// dot-unstuffed, CRLF line ends, with the server's `Received:` header first — then
/// ``finish()`` once the client has ended the message, or ``abort()`` when the transaction ends
/// without one (RSET, a lost connection, an oversized message).
///
/// An error thrown by ``append(_:)`` does not interrupt the client: the rest of the message is
/// read and dropped, and the message is refused at its end (with the ``SMTPRefusal``'s reply, or
/// `451 4.3.0`).
public protocol SMTPMessageReceiver {
    /// Stores the next piece of the message text.
    mutating func append(_ text: ByteBuffer) async throws

    /// The whole message has arrived: accept it (RFC 5321 §4.1.1.4: a 250 reply means the server
    /// has taken responsibility for it) or refuse it.
    mutating func finish() async throws -> SMTPDecision

    /// LMTP (RFC 2033 §4.2): one decision per accepted recipient, in order. The default gives
    /// every recipient the decision of ``finish()``.
    mutating func finish(recipients: [ForwardPath]) async throws -> [SMTPDecision]

    /// The message will not be finished: drop what was stored.
    mutating func abort() async
}

extension SMTPMessageReceiver {
    public mutating func finish(recipients: [ForwardPath]) async throws -> [SMTPDecision] {
        let decision = try await finish()
        return Array(repeating: decision, count: max(recipients.count, 1))
    }
}

/// One line of an SMTP dialogue as the client saw it, for a verbose view such as Sendmail's
/// `sendmail -v` (`>>> MAIL From:<…>`, then the server's `250 2.1.0 Ok`): a command the client
/// sent (RFC 5321 §4.1) or a reply line it received (RFC 5321 §4.2).
///
/// Secrets never appear: an AUTH command shows its mechanism only, and the SASL exchange that
/// follows it (RFC 4954 §4) and the message text are not shown.
public struct SMTPClientTranscriptLine: Hashable, Sendable, CustomStringConvertible {
    /// Which way the line went.
    public enum Direction: Hashable, Sendable {
        /// A command the client wrote.
        case sent
        /// A reply line the server wrote.
        case received
    }

    /// Which way the line went.
    public let direction: Direction
    /// The line without its CRLF.
    public let text: String
    /// The server, as `host[address]:port`.
    public let server: String

    /// A transcript line.
    public init(direction: Direction, text: String, server: String) {
        self.direction = direction
        self.text = text
        self.server = server
    }

    /// `>>> EHLO client.example` for a command, the reply line as it came for a reply.
    public var description: String {
        switch direction {
        case .sent: ">>> \(text)"
        case .received: text
        }
    }
}

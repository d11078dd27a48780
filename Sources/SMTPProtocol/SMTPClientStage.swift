/// A stage of a client session: what the client was doing, or which reply it was waiting for,
/// when something happened — a reply arrived, a timer fired, the connection went away.
///
/// ``SMTPClientStateMachine`` reports the stage it waits in (``SMTPClientStateMachine/awaitedReply``)
/// so that its driver applies the right timeout, and names the stage in every
/// ``SMTPClientSessionError``. Each stage's ``minimumTimeout`` is the one RFC 5321 §4.5.3.2 sets
/// (or, for the stages it does not name, the five minutes it gives commands in general).
public enum SMTPClientStage: Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// Waiting for the server's 220 greeting (RFC 5321 §4.5.3.2.1: 5 minutes).
    case greeting
    /// EHLO, HELO or LHLO and its reply (RFC 5321 §4.1.1.1, RFC 2033 §4.1).
    case hello
    /// STARTTLS and its 220 (RFC 3207 §4).
    case startTLS
    /// The TLS handshake after STARTTLS's 220, run by the driver (RFC 3207 §4.2).
    case tlsHandshake
    /// The AUTH exchange (RFC 4954 §4).
    case authentication
    /// MAIL FROM and its reply (RFC 5321 §4.5.3.2.2: 5 minutes).
    case mail
    /// RCPT TO and its reply (RFC 5321 §4.5.3.2.3: 5 minutes).
    case recipient
    /// DATA and its 354 (RFC 5321 §4.5.3.2.4: 2 minutes).
    case dataInitiation
    /// Sending the message text (RFC 5321 §4.5.3.2.5: 3 minutes for each block written).
    case messageText
    /// A BDAT chunk other than the last and its reply (RFC 3030 §2; the final reply's 10 minutes).
    case chunk
    /// The reply after the final `.` or BDAT LAST (RFC 5321 §4.5.3.2.6: 10 minutes); with LMTP,
    /// the replies, one per accepted recipient (RFC 2033 §4.2).
    case dataTermination
    /// RSET and its reply (RFC 5321 §4.1.1.5).
    case reset
    /// QUIT and its 221 (RFC 5321 §4.1.1.10).
    case quit

    /// The least time a client waits in this stage, as RFC 5321 §4.5.3.2 sets it.
    public var minimumTimeout: Duration {
        switch self {
        case .greeting, .hello, .startTLS, .tlsHandshake, .authentication, .mail, .recipient, .reset, .quit:
            .seconds(300)
        case .dataInitiation: .seconds(120)
        case .messageText: .seconds(180)
        case .chunk, .dataTermination: .seconds(600)
        }
    }

    /// The command (or step) the stage is named after: `MAIL`, `RCPT`, `end of data`.
    public var description: String {
        switch self {
        case .greeting: "greeting"
        case .hello: "EHLO"
        case .startTLS: "STARTTLS"
        case .tlsHandshake: "TLS handshake"
        case .authentication: "AUTH"
        case .mail: "MAIL"
        case .recipient: "RCPT"
        case .dataInitiation: "DATA"
        case .messageText: "message text"
        case .chunk: "BDAT"
        case .dataTermination: "end of data"
        case .reset: "RSET"
        case .quit: "QUIT"
        }
    }
}

import MailTLS
import Metrics
import SMTPProtocol

/// How an SMTP session ended, for `swiftmta_sessions_total`.
enum SessionOutcome: String, Sendable {
    /// The client sent QUIT and got 221.
    case quit
    /// The client closed the connection (or it broke) without QUIT.
    case disconnected
    /// The client was silent past the command timeout (RFC 5321 §4.5.3.2): 421 4.4.2.
    case timeout
    /// Refused at connect (the backend's 554 or 421, before or instead of the greeting).
    case refused
    /// The server was shutting down: 421 4.3.2 at the next command (RFC 5321 §3.8).
    case shutdown
    /// The server closed it for the client's behaviour (421: too many errors, a smuggling attempt).
    case closed
    /// STARTTLS or implicit TLS failed.
    case tlsFailed = "tls_failed"
    /// An internal error ended it.
    case error
}

/// The session's side of the server's metrics (the names and labels are ``MetricsCatalogue``'s).
enum SessionMetrics {
    static func ended(_ listener: ServerConfiguration.Listener, _ outcome: SessionOutcome) {
        Counter(label: MetricsCatalogue.sessions, dimensions: [("listener", "\(listener.mode)"), ("outcome", outcome.rawValue)]).increment()
    }

    /// A TLS handshake: `facts` when it succeeded, `nil` when it failed.
    static func handshake(_ listener: ServerConfiguration.Listener, _ facts: TLSSessionFacts?) {
        let version = facts.map { "\($0.protocolVersion)" } ?? "none"
        Counter(label: MetricsCatalogue.tlsHandshakes, dimensions: [
            ("listener", "\(listener.mode)"), ("version", version), ("result", facts == nil ? "failed" : "ok"),
        ]).increment()
    }

    /// A refusal of MAIL, RCPT or the message, labelled by its RFC 3463 enhanced status code
    /// (`5.7.1`), or its reply code when it has none.
    static func refused(stage: String, _ reply: SMTPReply) {
        let status = reply.enhancedCode.map { "\($0)" } ?? "\(reply.code)"
        Counter(label: MetricsCatalogue.messagesRejected, dimensions: [("stage", stage), ("status", status)]).increment()
    }

    /// The gauge of sessions open on `listener`.
    static func open(_ listener: ServerConfiguration.Listener) -> Meter {
        Meter(label: MetricsCatalogue.sessionsOpen, dimensions: [("listener", "\(listener.mode)")])
    }
}

import SMTPProtocol

/// The replies the server itself sends, besides those of SMTPProtocol's catalogue, each with its
/// RFC 3463 enhanced code.
enum ServerReplies {
    private static func code(_ a: Int, _ b: Int, _ c: Int) -> EnhancedStatusCode {
        EnhancedStatusCode(a, b, c)!
    }

    /// RFC 5321 §4.2.3's text for 451: what a backend's internal error becomes.
    static let localError = SMTPReply(451, .temporarySystemError, "Requested action aborted: local error in processing")
    /// A session's default answer to DATA.
    static let noMessages = SMTPReply(554, code(5, 3, 3), "This server does not accept messages")
    /// VRFY under `novrfy` (Sendmail's text).
    static let cannotVerify = SMTPReply(252, code(2, 5, 2), "Cannot VRFY user; try RCPT to attempt delivery")
    /// EXPN under `noexpn` (Sendmail's text).
    static let expandRefused = SMTPReply(502, code(5, 7, 0), "Sorry, we do not allow this operation")
    /// MAIL before AUTH on a submission listener (RFC 4954 §6, RFC 6409 §4.3).
    static let authenticationRequired = SMTPReply(530, code(5, 7, 0), "Authentication required")
    /// A failing credential store or SASL backend (RFC 4954 §6).
    static let temporaryAuthenticationFailure = SMTPReply(454, .temporarySecurityError, "Temporary authentication failure")
    /// A malformed SASL message (RFC 4954 §4).
    static let malformedAuthentication = SMTPReply(501, .syntaxError, "Malformed authentication exchange")
    /// A mechanism the backend cannot run after all (RFC 4954 §4).
    static let mechanismUnavailable = SMTPReply(504, .invalidArguments, "Unrecognized authentication type")
    /// STARTTLS with plaintext after it that the TLS upgrade caught (RFC 3207 §5; Postfix's text).
    static let pipeliningAfterSTARTTLS = SMTPReply(554, code(5, 5, 1), "Error: improper command pipelining after STARTTLS")
    /// The TLS context could not start a handshake.
    static let tlsUnavailable = SMTPReply(454, .temporarySecurityError, "TLS not available due to temporary reason")
    /// ETRN when the queue cannot be started on demand.
    static let cannotQueue = SMTPReply(458, code(4, 3, 0), "Unable to queue messages")
    /// HELP with no help file.
    static let helpNotAvailable = SMTPReply(502, code(5, 3, 0), "HELP not implemented")

    /// Too many connections on a listener or from one client (RFC 5321 §3.8; Postfix's wording).
    static func tooManyConnections(host: String, fromClient: Bool) -> SMTPReply {
        SMTPReply(421, .temporarySecurityError, "\(host) Error: too many connections" + (fromClient ? " from your address" : "") + ", try again later")
    }

    /// The server is shutting down (RFC 5321 §3.8).
    static func shuttingDown(host: String) -> SMTPReply {
        SMTPReply(421, code(4, 3, 2), "\(host) Service shutting down, closing connection")
    }

    /// A backend that throws an error at connect time.
    static func unavailable(host: String) -> SMTPReply {
        SMTPReply(421, .temporarySystemError, "\(host) Service not available, closing connection")
    }
}

/// The standard replies (RFC 5321 §4.2.2, §4.2.3; RFC 3463; RFC 4954; RFC 3207), with the
/// enhanced status code each takes, so that servers and policy say the same thing the same way.
///
/// What a client sent is echoed short: at most ``echoLimit`` characters, so that no reply line
/// outgrows RFC 5321 §4.5.3.1.5.
extension SMTPReply {
    /// The most characters of a client's text (a path, a keyword) a reply repeats.
    package static let echoLimit = 256

    /// `text` as a reply repeats it: at most `limit` characters, with `...` when cut.
    package static func echo(_ text: String, limit: Int = echoLimit) -> String {
        guard text.unicodeScalars.count > limit else { return text }
        return String(String.UnicodeScalarView(text.unicodeScalars.prefix(limit))) + "..."
    }

    /// 220: the greeting (RFC 5321 §4.2).
    public static func serviceReady(host: String, text: String) -> SMTPReply {
        SMTPReply(220, "\(host) \(text)")
    }

    /// 221 2.0.0: the answer to QUIT.
    public static func closing(host: String) -> SMTPReply {
        SMTPReply(221, .success, "\(host) closing connection")
    }

    /// 421 4.x.x: the server ends the session (timeout, error limit, shutdown).
    public static func serviceClosing(host: String, _ reason: String, code: EnhancedStatusCode = .temporarySystemError) -> SMTPReply {
        SMTPReply(421, code, "\(host) \(reason)")
    }

    /// 250 2.0.0 OK.
    public static let ok = SMTPReply(250, .success, "OK")

    /// 250 2.1.0: MAIL accepted.
    public static func senderOK(_ path: ReversePath) -> SMTPReply {
        SMTPReply(250, .senderOK, "Sender \(echo(path.description)) OK")
    }

    /// 250 2.1.5: RCPT accepted.
    public static func recipientOK(_ path: ForwardPath) -> SMTPReply {
        SMTPReply(250, .recipientOK, "Recipient \(echo(path.description)) OK")
    }

    /// 354: send the message text.
    public static let startMailInput = SMTPReply(354, "Enter mail, end with \".\" on a line by itself")

    /// 250 2.0.0: the message is stored (and, with a queue ID, says under which).
    public static func messageAccepted(queueID: String? = nil) -> SMTPReply {
        SMTPReply(250, .success, queueID.map { "\($0) Message accepted for delivery" } ?? "Message accepted for delivery")
    }

    /// 503 5.5.1: a command out of order.
    public static func badSequence(_ text: String = "Bad sequence of commands") -> SMTPReply {
        SMTPReply(503, .invalidCommand, text)
    }

    /// 502 5.5.1: a command this server does not offer.
    public static func notImplemented(_ text: String = "Command not implemented") -> SMTPReply {
        SMTPReply(502, .invalidCommand, text)
    }

    /// 555 5.5.4: a MAIL or RCPT parameter not advertised (RFC 5321 §4.1.1.11).
    public static func unsupportedParameter(_ keyword: String) -> SMTPReply {
        SMTPReply(555, .invalidArguments, "Unsupported parameter \(echo(keyword, limit: 64))")
    }

    /// 552 5.3.4: the message is larger than the server takes (RFC 1870 §6).
    public static func messageTooBig(limit: Int) -> SMTPReply {
        SMTPReply(552, .messageTooBig, "Message size exceeds fixed maximum message size (\(limit) octets)")
    }

    /// 452 4.5.3: one recipient too many (RFC 5321 §4.5.3.1.10).
    public static let tooManyRecipients = SMTPReply(452, EnhancedStatusCode(4, 5, 3)!, "Too many recipients")

    /// 550 5.7.1: the closed relay (Sendmail's wording).
    public static let relayingDenied = SMTPReply(550, .deliveryNotAuthorized, "Relaying denied")

    /// 550 5.1.1: no such mailbox here.
    public static let userUnknown = SMTPReply(550, .badDestinationMailbox, "User unknown")

    /// 235 2.7.0: AUTH succeeded (RFC 4954 §6).
    public static let authenticationSucceeded = SMTPReply(235, .authenticationSucceeded, "Authentication successful")

    /// 535 5.7.8: AUTH failed (RFC 4954 §6).
    public static let authenticationFailed = SMTPReply(535, .invalidCredentials, "Authentication credentials invalid")

    /// 454 4.7.0: TLS not available now (RFC 3207 §4).
    public static let tlsNotAvailable = SMTPReply(454, .temporarySecurityError, "TLS not available")

    /// 220 2.0.0: go ahead with the TLS handshake (RFC 3207 §4).
    public static let readyToStartTLS = SMTPReply(220, .success, "Ready to start TLS")

    /// 500 5.5.2: a command line over the limit.
    public static let lineTooLong = SMTPReply(500, .syntaxError, "Line too long")
}

/// Every size and count limit of the SMTP language, in one place, each with the RFC that sets it.
///
/// Exceeding a limit gives a reply with an enhanced status code, never unbounded memory. Servers and
/// clients take a value of this type; ``default`` holds the RFC minimums and SwiftMTA's defaults.
public struct SMTPLimits: Hashable, Sendable {
    /// Longest command line, in octets, including the final CRLF. RFC 5321 §4.5.3.1.4: 512.
    /// (RFC 1870 and others add parameters; servers may raise this to allow them.)
    public var commandLineLength: Int
    /// Longest line of message text, in octets, including the final CRLF. RFC 5321 §4.5.3.1.6: 1000.
    public var textLineLength: Int
    /// Longest line of an AUTH exchange (a base64 client response), CRLF included. RFC 4954 §4:
    /// at least 12288 octets must be accepted.
    public var authLineLength: Int

    /// Longest reply line, in octets, including the final CRLF. RFC 5321 §4.5.3.1.5: 512.
    public var replyLineLength: Int
    /// Most lines in one multi-line reply accepted by a client before it gives up. Not set by an RFC;
    /// it bounds memory when a peer never ends a reply.
    public var replyLines: Int
    /// Most recipients in one transaction. RFC 5321 §4.5.3.1.8 requires at least 100 to be accepted.
    public var recipients: Int
    /// Largest message accepted, in octets (advertised with SIZE, RFC 1870). SwiftMTA's default: 50 MiB.
    public var messageSize: Int
    /// Commands that fail with a 5xx reply before the server closes the session. Not set by an RFC;
    /// Sendmail's `confBAD_RCPT_THROTTLE` and Postfix's `smtpd_hard_error_limit` (20) do the same.
    public var errorsBeforeDisconnect: Int

    public init(
        commandLineLength: Int = 512,
        textLineLength: Int = 1000,
        authLineLength: Int = 12288,
        replyLineLength: Int = 512,
        replyLines: Int = 100,
        recipients: Int = 100,
        messageSize: Int = 50 * 1024 * 1024,
        errorsBeforeDisconnect: Int = 20
    ) {
        self.commandLineLength = commandLineLength
        self.textLineLength = textLineLength
        self.authLineLength = authLineLength
        self.replyLineLength = replyLineLength
        self.replyLines = replyLines
        self.recipients = recipients
        self.messageSize = messageSize
        self.errorsBeforeDisconnect = errorsBeforeDisconnect
    }

    /// The RFC minimums and SwiftMTA's defaults.
    public static let `default` = SMTPLimits()
}

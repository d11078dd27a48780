/// Every size and count limit of the SMTP language, in one place, each with the RFC that sets it.
///
/// Exceeding a limit gives a reply with an enhanced status code, never unbounded memory. Servers and
/// clients take a value of this type; ``default`` holds the RFC minimums and SwiftMTA's defaults.
public struct SMTPLimits: Hashable, Sendable {
    /// Longest command line, in octets, including the final CRLF. RFC 5321 §4.5.3.1.4: 512.
    ///
    /// A server adds the octets the extensions it offers may put on a MAIL or RCPT line: SIZE 26
    /// (RFC 1870 §3), AUTH= 500 (RFC 4954 §3, §5), SMTPUTF8 10 (RFC 6531 §3.1), RET and ENVID 110 and
    /// NOTIFY and ORCPT 500 (RFC 3461 §4), BODY= 16 and REQUIRETLS 11 (their keywords' length);
    /// every other command keeps this limit.
    public var commandLineLength: Int
    /// Longest line of message text, in octets, including the final CRLF. RFC 5321 §4.5.3.1.6: 1000.
    ///
    /// One rule for DATA and BDAT: a message with a longer line is refused (554 5.6.0) however
    /// it arrives, because it could not be relayed with DATA later. A BDAT line ends at LF; a
    /// message sent with BODY=BINARYMIME (RFC 3030 §3) has no lines, and no line limit.
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
    /// LMTP's per-recipient replies after the message (RFC 2033 §4.2) do not count.
    public var errorsBeforeDisconnect: Int
    /// How long a server waits for the client's next command or AUTH response. RFC 5321
    /// §4.5.3.2.7: at least 5 minutes.
    public var commandTimeout: Duration
    /// How long a server waits for more message text (DATA's lines, BDAT's octets). RFC 5321
    /// §4.5.3.2.5 gives the client 3 minutes per block; the server waits at least as long as for a
    /// command (5 minutes), as Postfix's `smtpd_timeout` does.
    public var messageTextTimeout: Duration

    /// Limits, each the property of the same name; the defaults are those of ``default``. Nothing
    /// is checked: a value below an RFC minimum is used as given.
    public init(
        commandLineLength: Int = 512,
        textLineLength: Int = 1000,
        authLineLength: Int = 12288,
        replyLineLength: Int = 512,
        replyLines: Int = 100,
        recipients: Int = 100,
        messageSize: Int = 50 * 1024 * 1024,
        errorsBeforeDisconnect: Int = 20,
        commandTimeout: Duration = .seconds(300),
        messageTextTimeout: Duration = .seconds(300)
    ) {
        self.commandLineLength = commandLineLength
        self.textLineLength = textLineLength
        self.authLineLength = authLineLength
        self.replyLineLength = replyLineLength
        self.replyLines = replyLines
        self.recipients = recipients
        self.messageSize = messageSize
        self.errorsBeforeDisconnect = errorsBeforeDisconnect
        self.commandTimeout = commandTimeout
        self.messageTextTimeout = messageTextTimeout
    }

    /// The RFC minimums and SwiftMTA's defaults.
    public static let `default` = SMTPLimits()
}

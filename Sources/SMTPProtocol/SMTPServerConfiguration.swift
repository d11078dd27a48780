/// What a server session is allowed to offer, and how strict it is.
///
/// The state machine builds its EHLO reply from this and from what it knows of the session (TLS
/// active or not): STARTTLS only while TLS is available and not yet active, the AUTH mechanisms for
/// the current TLS state, REQUIRETLS only under TLS (RFC 8689 §4).
public struct SMTPServerConfiguration: Hashable, Sendable {
    /// Which dialect the session speaks.
    public enum Dialect: Hashable, Sendable {
        /// SMTP (RFC 5321), for port 25, Submission (587, RFC 6409) and implicit TLS (465, RFC 8314).
        case smtp
        /// LMTP (RFC 2033): LHLO instead of HELO/EHLO, one reply per recipient after the message.
        case lmtp
    }

    /// The host's name, first word of the greeting and of the EHLO reply (Sendmail's `$j`).
    public var hostname: String
    /// The greeting text after the host name (Sendmail's `confSMTP_LOGIN_MSG` without `$j`).
    public var greetingText: String
    /// SMTP or LMTP.
    public var dialect: Dialect
    /// Limits on lines, recipients, size and errors.
    public var limits: SMTPLimits
    /// Extensions to advertise, besides SIZE (always, from ``SMTPLimits/messageSize``), STARTTLS
    /// and AUTH (decided by the fields below). Defaults: PIPELINING, 8BITMIME, ENHANCEDSTATUSCODES,
    /// SMTPUTF8, DSN, CHUNKING.
    public var extensions: Set<EHLOKeyword>
    /// Whether STARTTLS can be offered (a certificate is configured).
    public var startTLSAvailable: Bool
    /// SASL mechanisms offered before TLS (Sendmail's AUTH_OPTIONS `p` leaves out the plaintext ones).
    public var authMechanismsWithoutTLS: [String]
    /// SASL mechanisms offered once TLS is active.
    public var authMechanismsWithTLS: [String]
    /// Whether MAIL needs a HELO/EHLO first (Sendmail's PrivacyOptions `needmailhelo`, part of
    /// `goaway`). RFC 5321 §4.1.4 has clients send it; most servers insist.
    public var requireHello: Bool
    /// Whether the machine tells the caller about each HELO/EHLO so policy can refuse it. When off,
    /// a well-formed HELO/EHLO is accepted without asking.
    public var checkHello: Bool
    /// HELP's text (RFC 5321 §4.1.1.8) by lower-cased topic, `""` for HELP without an argument:
    /// the lines of the 214 reply. A topic not listed gets 504 5.3.0. Empty (the default): every
    /// HELP gets a 214 pointing at RFC 5321.
    public var helpTopics: [String: [String]]

    /// A configuration for `hostname` (not checked); every other parameter is the property of the
    /// same name. The defaults offer no STARTTLS and no AUTH, and require HELO/EHLO before MAIL.
    public init(
        hostname: String,
        greetingText: String = "ESMTP SwiftMTA ready",
        dialect: Dialect = .smtp,
        limits: SMTPLimits = .default,
        extensions: Set<EHLOKeyword> = [.pipelining, .eightBitMIME, .enhancedStatusCodes, .smtpUTF8, .dsn, .chunking],
        startTLSAvailable: Bool = false,
        authMechanismsWithoutTLS: [String] = [],
        authMechanismsWithTLS: [String] = [],
        requireHello: Bool = true,
        checkHello: Bool = false,
        helpTopics: [String: [String]] = [:]
    ) {
        self.hostname = hostname
        self.greetingText = greetingText
        self.dialect = dialect
        self.limits = limits
        self.extensions = extensions
        self.startTLSAvailable = startTLSAvailable
        self.authMechanismsWithoutTLS = authMechanismsWithoutTLS
        self.authMechanismsWithTLS = authMechanismsWithTLS
        self.requireHello = requireHello
        self.checkHello = checkHello
        self.helpTopics = helpTopics
    }
}

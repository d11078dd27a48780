/// The bounds every SASL exchange enforces, so that a hostile peer gets a clear failure instead of
/// unbounded memory or an endless exchange. Each default cites the rule it follows.
public struct SASLLimits: Sendable, Hashable {
    /// The longest client message a server mechanism accepts, in decoded octets.
    ///
    /// Default 9,216: RFC 4954 §4 lets an SMTP server limit an AUTH line to 12,288 octets of
    /// base64, which decodes to 9,216 octets.
    public var maximumMessageLength: Int

    /// The longest single identity or password field, in octets.
    ///
    /// Default 255: RFC 4616 §2 limits each PLAIN field to 255 octets and receivers may refuse longer
    /// ones; the same bound serves LOGIN, CRAM-MD5, DIGEST-MD5 and SCRAM user names.
    public var maximumFieldLength: Int

    /// The most messages a client may send in one exchange before it fails.
    ///
    /// Default 6: no mechanism SwiftMTA runs needs more than three (DIGEST-MD5: response and the
    /// empty acknowledgement of `rspauth`; SCRAM: client-first, client-final and the empty
    /// acknowledgement); six leaves room for a Cyrus plugin that needs more.
    public var maximumSteps: Int

    /// The most PBKDF2 iterations a SCRAM client computes for a server's `i=` (RFC 5802 §5.1),
    /// so that a hostile server cannot make the client spin; a server asking for more fails the
    /// exchange before any work. Default 100,000: about 24 times the 4,096 RFC 7677 §4 asks as a
    /// minimum, and above the counts servers choose by default (4,096 to 15,000). The work runs on
    /// MailAuth's key-derivation pool, never on the caller's thread.
    public var maximumSCRAMIterations: Int

    /// The fewest PBKDF2 iterations a SCRAM client accepts. Default 4,096, the minimum RFC 7677 §4
    /// asks for (and the count RFC 5802 §5.1 calls the minimum for SHA-1).
    public var minimumSCRAMIterations: Int

    /// The default limits.
    public init(
        maximumMessageLength: Int = 9_216,
        maximumFieldLength: Int = 255,
        maximumSteps: Int = 6,
        maximumSCRAMIterations: Int = 100_000,
        minimumSCRAMIterations: Int = 4_096
    ) {
        self.maximumMessageLength = maximumMessageLength
        self.maximumFieldLength = maximumFieldLength
        self.maximumSteps = maximumSteps
        self.maximumSCRAMIterations = maximumSCRAMIterations
        self.minimumSCRAMIterations = minimumSCRAMIterations
    }

    /// The defaults above.
    public static let `default` = SASLLimits()
}

/// How a client protects a connection with TLS: Postfix's `smtp_tls_security_level` in the terms
/// the RFCs use.
///
/// - ``none``: never TLS.
/// - ``opportunistic``: STARTTLS when the server offers it, the certificate not checked
///   (RFC 7435, RFC 3207 §4.1); a failed handshake is retried once without TLS.
/// - ``required``: STARTTLS (or implicit TLS on port 465, RFC 8314 §3.3) or no mail; the
///   certificate must verify against the trusted CAs and name the host (RFC 6125, RFC 8314 §5.1).
///   ``required(verifying:)`` relaxes the check.
/// - ``dane``: RFC 7672. The TLSA records of each MX host (looked up through DNSSEC) decide: usable
///   records make TLS mandatory and authenticated by them; records none of which is usable make
///   TLS mandatory without authentication (RFC 7672 §2.2); no secure records fall back to
///   ``opportunistic``.
///
/// ``implicitTLS`` starts TLS before the greeting (RFC 8314 §3.3); port 465 always does.
public struct SMTPClientTLSPolicy: Hashable, Sendable, CustomStringConvertible {
    /// The level of protection.
    public enum Level: Hashable, Sendable {
        /// No TLS.
        case none
        /// TLS when offered, unauthenticated (RFC 7435).
        case opportunistic
        /// TLS or no delivery, verified as ``SMTPClientTLSPolicy/verification`` says.
        case required
        /// DANE (RFC 7672), opportunistic where the destination publishes no secure TLSA records.
        case dane
    }

    /// How a server's certificate is checked under ``Level/required``.
    public enum Verification: Hashable, Sendable {
        /// The chain verifies against the trusted CAs and the certificate names the host connected
        /// to, or one of `alsoAccepted` (RFC 6125 §6.4: subjectAltName DNS names, no partial
        /// wildcards). The host is the smart host's or the MX record's name; for a destination
        /// given as an address, name the certificate's DNS name in `alsoAccepted`.
        case hostName(alsoAccepted: [String])
        /// The chain verifies against the trusted CAs; any name.
        case certificateAuthority
        /// Encrypted, not authenticated (Postfix's `encrypt` level).
        case encryptOnly
    }

    /// The level of protection.
    public var level: Level
    /// How the certificate is checked under ``Level/required``.
    public var verification: Verification
    /// Whether TLS starts at once, before the greeting (RFC 8314 §3.3). Port 465 always does.
    public var implicitTLS: Bool

    /// A policy.
    public init(level: Level, verification: Verification = .hostName(alsoAccepted: []), implicitTLS: Bool = false) {
        self.level = level
        self.verification = verification
        self.implicitTLS = implicitTLS
    }

    /// No TLS.
    public static let none = SMTPClientTLSPolicy(level: .none)
    /// STARTTLS when offered, unauthenticated.
    public static let opportunistic = SMTPClientTLSPolicy(level: .opportunistic)
    /// STARTTLS or no mail, with the certificate verified against the CAs and the host name.
    public static let required = SMTPClientTLSPolicy(level: .required)
    /// TLS from the first byte (port 465, RFC 8314 §3.3), verified as ``required``.
    public static let implicit = SMTPClientTLSPolicy(level: .required, implicitTLS: true)
    /// DANE (RFC 7672).
    public static let dane = SMTPClientTLSPolicy(level: .dane)

    /// TLS or no mail, the certificate checked as `verification` says.
    public static func required(verifying verification: Verification) -> SMTPClientTLSPolicy {
        SMTPClientTLSPolicy(level: .required, verification: verification)
    }

    /// `none`, `opportunistic`, `required(host name)`, `dane`, with `+implicit`.
    public var description: String {
        let base: String
        switch level {
        case .none: base = "none"
        case .opportunistic: base = "opportunistic"
        case .dane: base = "dane"
        case .required:
            switch verification {
            case .hostName: base = "required(host name)"
            case .certificateAuthority: base = "required(CA)"
            case .encryptOnly: base = "required(encrypt only)"
            }
        }
        return implicitTLS ? base + "+implicit" : base
    }
}

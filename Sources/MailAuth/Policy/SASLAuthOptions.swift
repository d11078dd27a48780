/// Sendmail's `confAUTH_OPTIONS` (`AuthOptions`) flags: which mechanisms a server may offer, by
/// the protections they give (the `SASL_SEC_*` properties of RFC 4422 §3.8's security layers and
/// Cyrus SASL's `sasl_security_properties_t`).
///
/// An open set of flags; ``init(sendmailFlags:)`` reads the letters of a Sendmail configuration.
public struct SASLAuthOptions: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `p`: no mechanism that sends the password in the clear (PLAIN, LOGIN) unless the session is
    /// protected by TLS. The seed's servers set this.
    public static let noPlaintextWithoutTLS = SASLAuthOptions(rawValue: 1 << 0)
    /// `y`: no anonymous mechanism.
    public static let noAnonymous = SASLAuthOptions(rawValue: 1 << 1)
    /// `d`: no mechanism open to an offline dictionary attack on a captured exchange.
    public static let noDictionary = SASLAuthOptions(rawValue: 1 << 2)
    /// `a`: only mechanisms that resist active (man-in-the-middle) attacks.
    public static let noActive = SASLAuthOptions(rawValue: 1 << 3)
    /// `f`: only mechanisms with forward secrecy between sessions.
    public static let forwardSecrecy = SASLAuthOptions(rawValue: 1 << 4)
    /// `m`: only mechanisms with mutual authentication.
    public static let mutualAuthentication = SASLAuthOptions(rawValue: 1 << 5)
    /// `A`: use the `AUTH=` parameter of `MAIL FROM` only when authenticated (the SMTP layer's
    /// business; kept here so that a Sendmail flag string round-trips).
    public static let authParameterOnlyWhenAuthenticated = SASLAuthOptions(rawValue: 1 << 6)
    /// `T`: no temporary error for a failing credential store (the SMTP layer's business).
    public static let noTemporaryErrors = SASLAuthOptions(rawValue: 1 << 7)

    /// Reads Sendmail's letters (`"p"`, `"p,y"`, `"A p"`); separators between them are ignored.
    ///
    /// - Throws: ``SASLError/Kind/configuration`` naming a letter Sendmail does not define.
    public init(sendmailFlags: String) throws(SASLError) {
        var options: SASLAuthOptions = []
        for character in sendmailFlags {
            switch character {
            case "p": options.insert(.noPlaintextWithoutTLS)
            case "y": options.insert(.noAnonymous)
            case "d": options.insert(.noDictionary)
            case "a": options.insert(.noActive)
            case "f": options.insert(.forwardSecrecy)
            case "m": options.insert(.mutualAuthentication)
            case "A": options.insert(.authParameterOnlyWhenAuthenticated)
            case "T": options.insert(.noTemporaryErrors)
            case "c", "u":
                // Sendmail's `c` (client credentials) and `u` (unauthenticated AUTH=): no effect here.
                continue
            case " ", ",", "\t":
                continue
            default:
                throw SASLError(.configuration, "AUTH_OPTIONS flag `\(character)` is not one of A a c d f m p T u y")
            }
        }
        self = options
    }
}

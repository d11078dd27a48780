public import MailAuth

/// What the client authenticates with, in the terms of a Sendmail `AuthInfo:` entry
/// (`FEATURE(authinfo)`): `U:` authorization identity, `I:` authentication identity, `P:` password,
/// `R:` realm, `M:` the mechanisms allowed (RFC 4954, RFC 4422 §3.4).
///
/// The password is a `SASLSecret`: it never appears in a description, a log line or a dump.
///
/// ```swift
/// let credentials = SMTPClientCredentials(user: "alice", password: "secret")
/// let relay = SMTPClientCredentials(
///     user: "relay", password: "secret", authorizationIdentity: "root", mechanisms: [.cramMD5, .digestMD5])
/// ```
///
/// PLAIN and LOGIN send the password as it is: they are used only over TLS unless
/// ``allowsPlaintextWithoutTLS`` says otherwise (Sendmail's `AuthOptions=p` on the other side).
public struct SMTPClientCredentials: Sendable, CustomStringConvertible {
    /// `I:` — whose password this is (the authentication identity, RFC 4422 §2).
    public var authenticationIdentity: String
    /// `P:` — the password; for XOAUTH2, the bearer token.
    public var password: SASLSecret
    /// `U:` — the identity to act as (the authorization identity); `nil` to act as oneself.
    public var authorizationIdentity: String?
    /// `R:` — the realm for DIGEST-MD5 (RFC 2831 §2.1.1); `nil` to take the server's.
    public var realm: String?
    /// `M:` — the mechanisms that may be used, strongest preferred; `nil` for any the client
    /// implements (SCRAM-SHA-256, SCRAM-SHA-1, DIGEST-MD5, CRAM-MD5, PLAIN, LOGIN). EXTERNAL and
    /// XOAUTH2 are used only when listed here.
    public var mechanisms: [SASLMechanismName]?
    /// Whether PLAIN, LOGIN and XOAUTH2 may run on a connection without TLS. Off by default: the
    /// password (or token) would cross the network in the clear.
    public var allowsPlaintextWithoutTLS: Bool

    /// Credentials for a server.
    public init(
        user: String, password: SASLSecret, authorizationIdentity: String? = nil, realm: String? = nil,
        mechanisms: [SASLMechanismName]? = nil, allowsPlaintextWithoutTLS: Bool = false
    ) {
        self.authenticationIdentity = user
        self.password = password
        self.authorizationIdentity = authorizationIdentity
        self.realm = realm
        self.mechanisms = mechanisms
        self.allowsPlaintextWithoutTLS = allowsPlaintextWithoutTLS
    }

    /// An OAuth 2.0 bearer token for XOAUTH2 (Google's and Microsoft's submission servers).
    public static func oauth2(user: String, token: SASLSecret) -> SMTPClientCredentials {
        SMTPClientCredentials(user: user, password: token, mechanisms: [.xoauth2])
    }

    /// EXTERNAL (RFC 4422 Appendix A): the TLS client certificate authenticates
    /// (``SMTPClientConfiguration/tls`` must name one); `authorizationIdentity` to act as another.
    public static func external(authorizationIdentity: String? = nil) -> SMTPClientCredentials {
        SMTPClientCredentials(user: "", password: SASLSecret(""), authorizationIdentity: authorizationIdentity, mechanisms: [.external])
    }

    /// The credentials MailAuth's mechanisms take.
    var sasl: SASLClientCredentials {
        SASLClientCredentials(
            authenticationIdentity: authenticationIdentity, password: password,
            authorizationIdentity: authorizationIdentity, realm: realm)
    }

    /// `I:alice U:root R:realm M:CRAM-MD5 P:<secret>` — never the password.
    public var description: String {
        var parts: [String] = []
        if let authorizationIdentity { parts.append("U:\(authorizationIdentity)") }
        parts.append("I:\(authenticationIdentity)")
        if let realm { parts.append("R:\(realm)") }
        if let mechanisms { parts.append("M:\(mechanisms.map(\.rawValue).joined(separator: " "))") }
        parts.append("P:<secret>")
        return parts.joined(separator: " ")
    }
}

/// What a client authenticates with: the fields of a Sendmail `AuthInfo:` entry (`U:`, `I:`, `P:`,
/// `R:`) or of a Postfix `sasl_passwd` line.
public struct SASLClientCredentials: Sendable, CustomStringConvertible {
    /// The authentication identity (`I:`): whose password this is.
    public var authenticationIdentity: String
    /// The password (`P:`), or for XOAUTH2 the bearer token.
    public var password: SASLSecret
    /// The authorization identity to act as (`U:`); `nil` or empty to act as oneself.
    public var authorizationIdentity: String?
    /// The realm (`R:`) for DIGEST-MD5; `nil` to take the one the server offers.
    public var realm: String?

    /// Credentials for one server.
    public init(
        authenticationIdentity: String, password: SASLSecret, authorizationIdentity: String? = nil,
        realm: String? = nil
    ) {
        self.authenticationIdentity = authenticationIdentity
        self.password = password
        self.authorizationIdentity = authorizationIdentity
        self.realm = realm
    }

    public var description: String {
        var text = authenticationIdentity
        if let authorizationIdentity, !authorizationIdentity.isEmpty { text += " as \(authorizationIdentity)" }
        if let realm { text += " in \(realm)" }
        return text + " (password <secret>)"
    }
}

/// Who a successful SASL exchange authenticated (RFC 4422 §3.4.1, §3.7).
///
/// The authentication identity is the one whose credentials were proved; the authorization identity
/// is the one the client acts as. They are equal unless the client asked for another and the
/// credential verifier allowed it.
public struct SASLAuthentication: Hashable, Sendable, CustomStringConvertible {
    /// The mechanism that ran.
    public let mechanism: SASLMechanismName
    /// The identity whose credentials were verified (RFC 4422 §2, "authentication identity").
    public let authenticationIdentity: String
    /// The identity the client acts as (RFC 4422 §2, "authorization identity"); what an SMTP server
    /// records as the `AUTH=` of the messages it accepts and in `Received:` (RFC 4954 §5).
    public let authorizationIdentity: String

    /// Makes an outcome; identities are user names, never secrets.
    public init(mechanism: SASLMechanismName, authenticationIdentity: String, authorizationIdentity: String) {
        self.mechanism = mechanism
        self.authenticationIdentity = authenticationIdentity
        self.authorizationIdentity = authorizationIdentity
    }

    public var description: String {
        authenticationIdentity == authorizationIdentity
            ? "\(authenticationIdentity) (\(mechanism))"
            : "\(authenticationIdentity) as \(authorizationIdentity) (\(mechanism))"
    }
}

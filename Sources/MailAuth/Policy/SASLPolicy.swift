/// Which mechanisms a server offers in a session and which of them let an authenticated client
/// relay: Sendmail's `confAUTH_MECHANISMS`, `TRUST_AUTH_MECH` and `confAUTH_OPTIONS`.
///
/// ```swift
/// // The seed's server: define(`confAUTH_OPTIONS', `p'), TRUST_AUTH_MECH(`LOGIN PLAIN DIGEST-MD5 CRAM-MD5')
/// let policy = try SASLPolicy(
///     mechanisms: [.login, .plain, .digestMD5, .cramMD5],
///     trustedMechanisms: [.login, .plain, .digestMD5, .cramMD5],
///     options: SASLAuthOptions(sendmailFlags: "p"))
/// policy.offeredMechanisms(available: backend.mechanisms, context: SASLServerContext(isSecure: false))
/// // [DIGEST-MD5, CRAM-MD5]: no plaintext mechanism before STARTTLS
/// ```
public struct SASLPolicy: Sendable {
    /// The mechanisms to offer, in the order the `EHLO` `AUTH` line lists them (RFC 4954 §3);
    /// empty to offer everything the backend has.
    public var mechanisms: [SASLMechanismName]
    /// The mechanisms whose success lets a client relay (`TRUST_AUTH_MECH`).
    public var trustedMechanisms: Set<SASLMechanismName>
    /// The `AuthOptions` flags.
    public var options: SASLAuthOptions

    /// A policy.
    public init(
        mechanisms: [SASLMechanismName] = [], trustedMechanisms: Set<SASLMechanismName> = [],
        options: SASLAuthOptions = [.noPlaintextWithoutTLS]
    ) {
        self.mechanisms = mechanisms
        self.trustedMechanisms = trustedMechanisms
        self.options = options
    }

    /// The mechanisms to advertise in this session: those the policy lists and the backend can run,
    /// minus those the options forbid here (plaintext ones before TLS under `p`), `-PLUS` ones
    /// without channel-binding data, and EXTERNAL without an external identity.
    public func offeredMechanisms(available: [SASLMechanismName], context: SASLServerContext) -> [SASLMechanismName] {
        let candidates = mechanisms.isEmpty ? available : mechanisms.filter { available.contains($0) }
        var seen = Set<SASLMechanismName>()
        return candidates.filter { seen.insert($0).inserted && permits($0, context: context) }
    }

    /// Whether `mechanism` may run in this session (the check an `AUTH` command gets: a mechanism
    /// not offered is refused with `504 5.5.4`, RFC 4954 §4).
    public func permits(_ mechanism: SASLMechanismName, context: SASLServerContext) -> Bool {
        if !mechanisms.isEmpty, !mechanisms.contains(mechanism) { return false }
        let properties = SASLMechanismProperties(of: mechanism)
        var required: SASLMechanismProperties = []
        if options.contains(.noPlaintextWithoutTLS), !context.isSecure { required.insert(.noPlaintext) }
        if options.contains(.noAnonymous) { required.insert(.noAnonymous) }
        if options.contains(.noDictionary) { required.insert(.noDictionary) }
        if options.contains(.noActive) { required.insert(.noActive) }
        if options.contains(.forwardSecrecy) { required.insert(.forwardSecrecy) }
        if options.contains(.mutualAuthentication) { required.insert(.mutualAuthentication) }
        guard properties.isSuperset(of: required) else { return false }
        switch mechanism {
        case .scramSHA1Plus, .scramSHA256Plus:
            return context.channelBinding != nil
        case .external:
            return context.externalIdentity != nil
        default:
            return true
        }
    }

    /// Whether a client that authenticated with `mechanism` may relay (`TRUST_AUTH_MECH`).
    public func isTrusted(_ mechanism: SASLMechanismName) -> Bool {
        trustedMechanisms.contains(mechanism)
    }
}

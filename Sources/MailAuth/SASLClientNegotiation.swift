/// Choosing and making the client mechanism for a server: what an SMTP client does with the
/// `AUTH` line of the server's `EHLO` reply (RFC 4954 §3) and its stored credentials.
public enum SASLClientNegotiation {
    /// MailAuth's preference, strongest first: channel-bound SCRAM, SCRAM, DIGEST-MD5, CRAM-MD5,
    /// then the plaintext mechanisms.
    public static let preference: [SASLMechanismName] = [
        .scramSHA256Plus, .scramSHA1Plus, .scramSHA256, .scramSHA1, .digestMD5, .cramMD5, .plain, .login,
    ]

    /// The mechanism to use: the first of ``preference`` that the server offers and `allowed`
    /// lists (Sendmail's `M:`), leaving out `-PLUS` without channel-binding data and PLAIN and
    /// LOGIN without TLS unless `plaintextWithoutTLS` is set; `nil` when none is left.
    public static func choose(
        offered: [SASLMechanismName], allowed: [SASLMechanismName]? = nil, isSecure: Bool,
        channelBinding: SASLChannelBinding? = nil, plaintextWithoutTLS: Bool = false
    ) -> SASLMechanismName? {
        preference.first { name in
            guard offered.contains(name), allowed?.contains(name) ?? true else { return false }
            switch name {
            case .scramSHA1Plus, .scramSHA256Plus: return channelBinding != nil
            case .plain, .login: return isSecure || plaintextWithoutTLS
            default: return true
            }
        }
    }

    /// The native client mechanism `mechanism` for `credentials` against `host` (DIGEST-MD5's
    /// `digest-uri`). For SCRAM, `offered` tells whether the server advertised the `-PLUS` form,
    /// which decides the channel-binding flag (RFC 5802 §6): with channel-binding data and a server
    /// that offers `-PLUS`, the `-PLUS` form runs even when plain SCRAM was asked for, as RFC 5802
    /// §6 requires. Send the returned mechanism's ``SASLClientMechanism/name`` in the `AUTH`
    /// command.
    ///
    /// - Throws: ``SASLError/Kind/mechanismUnavailable`` for a mechanism MailAuth's client does not
    ///   implement (use ``CyrusSASLClientMechanism`` for libsasl2's), or a `-PLUS` mechanism
    ///   without channel-binding data.
    public static func makeMechanism(
        _ mechanism: SASLMechanismName, credentials: SASLClientCredentials, host: String,
        offered: [SASLMechanismName] = [], channelBinding: SASLChannelBinding? = nil, limits: SASLLimits = .default
    ) throws(SASLError) -> any SASLClientMechanism {
        switch mechanism {
        case .plain:
            return PlainClientMechanism(credentials: credentials)
        case .login:
            return LoginClientMechanism(credentials: credentials)
        case .cramMD5:
            return CRAMMD5ClientMechanism(credentials: credentials)
        case .digestMD5:
            return DigestMD5ClientMechanism(credentials: credentials, host: host)
        case .scramSHA1, .scramSHA256, .scramSHA1Plus, .scramSHA256Plus:
            guard let hashFunction = SCRAMHashFunction(mechanism: mechanism) else {
                throw SASLError(.mechanismUnavailable, "\(mechanism) is not SCRAM", mechanism: mechanism)
            }
            let plus = mechanism == hashFunction.channelBindingMechanism
            if plus, channelBinding == nil {
                throw SASLError(.mechanismUnavailable, "channel binding needs TLS channel-binding data", mechanism: mechanism)
            }
            return SCRAMClientMechanism(
                hashFunction: hashFunction, credentials: credentials, channelBinding: channelBinding,
                serverOffersChannelBinding: plus || offered.contains(hashFunction.channelBindingMechanism), limits: limits)
        case .external:
            return ExternalClientMechanism(authorizationIdentity: credentials.authorizationIdentity ?? "")
        case .xoauth2:
            return XOAuth2ClientMechanism(user: credentials.authenticationIdentity, token: credentials.password)
        default:
            throw SASLError(.mechanismUnavailable, "MailAuth's client does not implement \(mechanism)", mechanism: mechanism)
        }
    }
}

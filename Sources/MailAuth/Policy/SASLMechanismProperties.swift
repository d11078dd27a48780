/// What a mechanism protects against, in Cyrus SASL's terms (`SASL_SEC_NOPLAINTEXT`, …), which
/// ``SASLPolicy`` compares with the ``SASLAuthOptions``.
public struct SASLMechanismProperties: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// The password never crosses the wire in the clear.
    public static let noPlaintext = SASLMechanismProperties(rawValue: 1 << 0)
    /// Not anonymous.
    public static let noAnonymous = SASLMechanismProperties(rawValue: 1 << 1)
    /// A captured exchange does not allow an offline dictionary attack.
    public static let noDictionary = SASLMechanismProperties(rawValue: 1 << 2)
    /// Resists an active attacker.
    public static let noActive = SASLMechanismProperties(rawValue: 1 << 3)
    /// Forward secrecy.
    public static let forwardSecrecy = SASLMechanismProperties(rawValue: 1 << 4)
    /// The server proves itself to the client too.
    public static let mutualAuthentication = SASLMechanismProperties(rawValue: 1 << 5)

    /// The properties of a mechanism, as its RFC and Cyrus SASL's plugin describe it; none for a
    /// mechanism SwiftMTA does not know (so a strict policy leaves it out).
    public init(of mechanism: SASLMechanismName) {
        switch mechanism {
        case .plain, .login, .xoauth2:
            self = [.noAnonymous]
        case .cramMD5:
            self = [.noPlaintext, .noAnonymous]
        case .digestMD5, .scramSHA1, .scramSHA256:
            self = [.noPlaintext, .noAnonymous, .mutualAuthentication]
        case .scramSHA1Plus, .scramSHA256Plus:
            self = [.noPlaintext, .noAnonymous, .mutualAuthentication, .noActive]
        case .external:
            self = [.noPlaintext, .noAnonymous, .noDictionary, .noActive]
        case .gssapi:
            self = [.noPlaintext, .noAnonymous, .noActive, .mutualAuthentication]
        case .anonymous:
            self = [.noPlaintext]
        default:
            self = []
        }
    }
}

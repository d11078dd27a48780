/// MailAuth's own server mechanisms over a ``SASLCredentialVerifier``: PLAIN, LOGIN, CRAM-MD5,
/// DIGEST-MD5, SCRAM-SHA-1, SCRAM-SHA-256 (and their `-PLUS` forms) and EXTERNAL.
///
/// ```swift
/// let users = try SASLPasswordFile(path: "/etc/swiftmta/passwd")
/// let backend = SASLNativeServer(verifier: users, serverName: "mx.example.org")
/// var exchange = try backend.makeMechanism(.scramSHA256, context: SASLServerContext(isSecure: true))
/// let first = try await exchange.start(initialResponse: decodedInitialResponse)
/// ```
public struct SASLNativeServer: SASLServerBackend {
    /// Every mechanism this backend implements, strongest first.
    public static let allMechanisms: [SASLMechanismName] = [
        .scramSHA256Plus, .scramSHA1Plus, .scramSHA256, .scramSHA1, .digestMD5, .cramMD5, .external, .plain, .login,
    ]

    /// The credential store.
    public let verifier: any SASLCredentialVerifier
    /// The server's host name (CRAM-MD5 challenges, DIGEST-MD5 `digest-uri`).
    public let serverName: String
    /// The DIGEST-MD5 realm; the server's name when `nil`.
    public let realm: String?
    /// Further names clients may put in DIGEST-MD5's `digest-uri`.
    public let otherHostNames: [String]
    /// The mechanisms enabled, a subset of ``allMechanisms``.
    public let mechanisms: [SASLMechanismName]
    /// The SCRAM iteration count when keys are derived from a stored password.
    public let scramIterations: Int
    /// The exchange limits.
    public let limits: SASLLimits

    /// A backend over `verifier`.
    public init(
        verifier: any SASLCredentialVerifier, serverName: String, realm: String? = nil, otherHostNames: [String] = [],
        mechanisms: [SASLMechanismName] = SASLNativeServer.allMechanisms, scramIterations: Int = 4_096,
        limits: SASLLimits = .default
    ) {
        self.verifier = verifier
        self.serverName = serverName
        self.realm = realm
        self.otherHostNames = otherHostNames
        self.mechanisms = mechanisms.filter { Self.allMechanisms.contains($0) }
        self.scramIterations = scramIterations
        self.limits = limits
    }

    public func makeMechanism(_ mechanism: SASLMechanismName, context: SASLServerContext) throws(SASLError)
        -> any SASLServerMechanism
    {
        guard mechanisms.contains(mechanism) else {
            throw SASLError(.mechanismUnavailable, "\(mechanism) is not enabled", mechanism: mechanism)
        }
        switch mechanism {
        case .plain:
            return PlainServerMechanism(verifier: verifier, limits: limits)
        case .login:
            return LoginServerMechanism(verifier: verifier, limits: limits)
        case .cramMD5:
            return CRAMMD5ServerMechanism(verifier: verifier, serverName: serverName, limits: limits)
        case .digestMD5:
            return DigestMD5ServerMechanism(
                verifier: verifier, serverName: serverName, realm: realm, otherHostNames: otherHostNames, limits: limits)
        case .scramSHA1, .scramSHA256, .scramSHA1Plus, .scramSHA256Plus:
            return try SCRAMServerMechanism(
                mechanism: mechanism, verifier: verifier, context: context, iterations: scramIterations, limits: limits)
        case .external:
            return try ExternalServerMechanism(verifier: verifier, context: context, limits: limits)
        default:
            throw SASLError(.mechanismUnavailable, "\(mechanism) is not implemented natively", mechanism: mechanism)
        }
    }
}

public import MailAuth

/// How a server runs AUTH (RFC 4954): the SASL backend (MailAuth's native mechanisms over a
/// password file, or the Cyrus SASL bridge), which mechanisms it offers when (`confAUTH_MECHANISMS`,
/// `confAUTH_OPTIONS`, `TRUST_AUTH_MECH`), and how failures are slowed down.
///
/// ```swift
/// let users = try SASLPasswordFile(path: "/etc/swiftmta/passwd")
/// let authentication = ServerAuthentication(
///     backend: SASLNativeServer(verifier: users, serverName: "mx.example.org"),
///     policy: SASLPolicy(mechanisms: [.scramSHA256, .plain, .login], options: [.noPlaintextWithoutTLS]))
/// ```
public struct ServerAuthentication: Sendable {
    /// Runs the exchanges.
    public var backend: any SASLServerBackend
    /// What is offered, and which mechanisms let a client relay.
    public var policy: SASLPolicy
    /// The delay schedule after failures, per client address.
    public var damping: SASLFailureDamping.Configuration

    /// AUTH (RFC 4954) checked by `backend`, offered as `policy` allows, failures slowed by `damping`.
    public init(backend: any SASLServerBackend, policy: SASLPolicy, damping: SASLFailureDamping.Configuration = .init()) {
        self.backend = backend
        self.policy = policy
        self.damping = damping
    }

    /// The mechanism names to advertise (RFC 4954 §3), before or under TLS.
    func offered(secure: Bool) -> [String] {
        policy.offeredMechanisms(available: backend.mechanisms, context: SASLServerContext(isSecure: secure)).map(\.rawValue)
    }
}

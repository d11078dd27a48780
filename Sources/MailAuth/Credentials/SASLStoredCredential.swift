/// One credential a store holds for a user. Which mechanisms it can answer:
///
/// | credential | PLAIN, LOGIN | CRAM-MD5, DIGEST-MD5 | SCRAM-SHA-x |
/// |---|---|---|---|
/// | ``password(_:)`` | yes | yes | yes (keys derived per exchange) |
/// | ``scram(_:)`` | yes (keys derived from the given password) | no | yes, for its hash function |
/// | ``passwordHash(_:)`` | yes | no | no |
///
/// A store may hold several for one user (a PBKDF2 hash and a SCRAM-SHA-256 verifier, say).
public enum SASLStoredCredential: Sendable, CustomStringConvertible {
    /// The password itself. Needed for CRAM-MD5 (RFC 2195) and DIGEST-MD5 (RFC 2831), which both
    /// key their digests with it; keep such a store readable by the server only.
    case password(SASLSecret)
    /// A SCRAM verifier (RFC 5802 §3).
    case scram(SCRAMVerifier)
    /// A salted PBKDF2 hash.
    case passwordHash(SASLPasswordHash)

    public var description: String {
        switch self {
        case .password: "password (<secret>)"
        case .scram(let verifier): verifier.description
        case .passwordHash(let hash): hash.description
        }
    }

    /// Whether `password` matches this credential; runs PBKDF2 on the calling thread for hashes
    /// and verifiers.
    func matches(_ password: SASLSecret) -> Bool {
        switch self {
        case .password(let stored): Bytes.constantTimeEqual(stored.bytes, password.bytes)
        case .scram(let verifier): verifier.matches(password)
        case .passwordHash(let hash): hash.matches(password)
        }
    }
}

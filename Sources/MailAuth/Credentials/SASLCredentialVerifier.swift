import MailSystem

/// Where a server's native mechanisms get the truth about users: the protocol an embedding
/// application implements over its own user store (a map, a database, PAM).
///
/// Two stock implementations come with MailAuth: ``SASLPasswordFile`` (a file of users with salted
/// hashes, SCRAM verifiers or passwords) and ``CyrusSASLServer`` (libsasl2's `sasl_checkpass`,
/// so sasldb2, saslauthd and PAM answer PLAIN and LOGIN).
///
/// Implement ``credentials(for:)`` for a store that can hand out what it keeps; PLAIN and LOGIN
/// then work through the default ``verifyPassword(_:for:)``. Implement
/// ``verifyPassword(_:for:)`` alone for a store that can only say yes or no (PAM, LDAP bind); then
/// only PLAIN and LOGIN work, and challenge-response mechanisms report
/// ``SASLError/Kind/mechanismUnavailable``.
///
/// An error a method throws fails the exchange with ``SASLError/Kind/temporaryFailure`` (SMTP
/// `454 4.7.0`), never as wrong credentials: a broken store is never read as "no such user".
/// Errors must not carry secrets; they are kept in ``SASLError/underlyingError`` for the log.
public protocol SASLCredentialVerifier: Sendable {
    /// What the store keeps for `authenticationIdentity`: `nil` when there is no such user, an
    /// empty array when the store keeps nothing it can hand out.
    func credentials(for authenticationIdentity: String) async throws -> [SASLStoredCredential]?

    /// Whether `password` is right for `authenticationIdentity` (PLAIN, LOGIN). An unknown user is
    /// `false`, exactly like a wrong password — and costs the same, so that the time an answer
    /// takes does not tell which users exist (as SCRAM's decoy salt does not, RFC 5802 §9).
    ///
    /// The default asks ``credentials(for:)`` and compares, running any PBKDF2 on MailAuth's own
    /// threads rather than the caller's. For a user the store does not know it compares against
    /// decoys shaped like the last known user's credentials of the same kind of store (same kinds,
    /// hash functions and iteration counts; random salts and keys), or — before any user was
    /// found — one SCRAM-SHA-256 verifier of 4,096 iterations, what ``SASLPasswordFile/entry(user:password:hashFunctions:iterations:)``
    /// writes.
    func verifyPassword(_ password: SASLSecret, for authenticationIdentity: String) async throws -> Bool

    /// Whether `authenticationIdentity` may act as `authorizationIdentity` (RFC 4422 §3.4.1); asked
    /// only when the two differ. The default allows nobody to act as someone else.
    func mayAuthorize(_ authenticationIdentity: String, as authorizationIdentity: String) async throws -> Bool
}

extension SASLCredentialVerifier {
    public func verifyPassword(_ password: SASLSecret, for authenticationIdentity: String) async throws -> Bool {
        let found = try await credentials(for: authenticationIdentity) ?? []
        // No early return for an unknown user: the same work against decoys, and then `false`.
        let isKnown = !found.isEmpty
        let stored = isKnown ? found : SASLDecoyCredentials.decoys(for: Self.self)
        if isKnown { SASLDecoyCredentials.remember(found, for: Self.self) }
        let needsThread = stored.contains {
            switch $0 {
            case .password: false
            case .scram, .passwordHash: true
            }
        }
        guard needsThread else { return stored.contains { $0.matches(password) } && isKnown }
        let meter = KeyDerivationMeter.current
        let matched = try await WorkerPool.keyDerivation.authenticationWork {
            KeyDerivationMeter.$current.withValue(meter) { stored.contains { $0.matches(password) } }
        }
        return matched && isKnown
    }

    public func mayAuthorize(_ authenticationIdentity: String, as authorizationIdentity: String) async throws -> Bool {
        authenticationIdentity == authorizationIdentity
    }
}

extension SASLCredentialVerifier {
    /// The default for stores that can only check passwords: nothing to hand out.
    public func credentials(for authenticationIdentity: String) async throws -> [SASLStoredCredential]? {
        []
    }
}

/// The verifier calls as mechanisms make them: store errors become temporary failures.
extension SASLCredentialVerifier {
    func lookUp(_ user: String, mechanism: SASLMechanismName) async throws(SASLError) -> [SASLStoredCredential]? {
        do {
            return try await credentials(for: user)
        } catch {
            throw SASLError(.temporaryFailure, "the credential store failed", mechanism: mechanism, underlyingError: error)
        }
    }

    func check(_ password: SASLSecret, user: String, mechanism: SASLMechanismName) async throws(SASLError) {
        let accepted: Bool
        do {
            accepted = try await verifyPassword(password, for: user)
        } catch {
            throw SASLError(.temporaryFailure, "the credential store failed", mechanism: mechanism, underlyingError: error)
        }
        guard accepted else {
            throw SASLError(.authenticationFailed, "wrong password or unknown user", mechanism: mechanism)
        }
    }

    /// The authorization identity to record: `requested` when empty or equal to `user`, or when
    /// the verifier allows it.
    func authorize(_ user: String, as requested: String?, mechanism: SASLMechanismName) async throws(SASLError)
        -> SASLAuthentication
    {
        guard let requested, !requested.isEmpty, requested != user else {
            return SASLAuthentication(mechanism: mechanism, authenticationIdentity: user, authorizationIdentity: user)
        }
        let allowed: Bool
        do {
            allowed = try await mayAuthorize(user, as: requested)
        } catch {
            throw SASLError(.temporaryFailure, "the credential store failed", mechanism: mechanism, underlyingError: error)
        }
        guard allowed else {
            throw SASLError(.authorizationFailed, "\(user) may not act as \(requested)", mechanism: mechanism)
        }
        return SASLAuthentication(mechanism: mechanism, authenticationIdentity: user, authorizationIdentity: requested)
    }
}

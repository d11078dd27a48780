import Synchronization

/// What the default ``SASLCredentialVerifier/verifyPassword(_:for:)`` checks an unknown user's
/// password against, so that "no such user" costs what "wrong password" costs.
///
/// The decoys copy the shape of the last credentials a store of the same type returned for a real
/// user — the kinds, PBKDF2 functions and iteration counts — with random salts and keys, which no
/// password matches (and a match would not count). Before any user was found, one SCRAM-SHA-256
/// verifier of 4,096 iterations stands in: what ``SASLPasswordFile/entry(user:password:hashFunctions:iterations:)``
/// writes.
enum SASLDecoyCredentials {
    private static let shapes = Mutex<[ObjectIdentifier: [SASLStoredCredential]]>([:])

    /// Decoys for a store of type `store`.
    static func decoys(for store: Any.Type) -> [SASLStoredCredential] {
        let shape = shapes.withLock { $0[ObjectIdentifier(store)] }
        return (shape ?? [defaultShape]).map(decoy)
    }

    /// Keeps the shape of `credentials`, which a store of type `store` returned for a real user —
    /// as decoys already, so that no real secret is kept.
    static func remember(_ credentials: [SASLStoredCredential], for store: Any.Type) {
        let shape = credentials.map(decoy)
        shapes.withLock { $0[ObjectIdentifier(store)] = shape }
    }

    private static var defaultShape: SASLStoredCredential {
        decoy(.scram(try! SCRAMVerifier(
            hashFunction: .sha256, iterations: 4_096, salt: [0], storedKey: [UInt8](repeating: 0, count: 32),
            serverKey: [UInt8](repeating: 0, count: 32))))
    }

    /// A credential like `credential` whose secret parts are random.
    private static func decoy(_ credential: SASLStoredCredential) -> SASLStoredCredential {
        switch credential {
        case .password(let password):
            return .password(SASLSecret(bytes: Bytes.random(max(password.bytes.count, 16))))
        case .scram(let verifier):
            let length = verifier.hashFunction.outputLength
            // The parts are valid by construction: the same hash function, a positive count.
            return .scram(try! SCRAMVerifier(
                hashFunction: verifier.hashFunction, iterations: verifier.iterations, salt: Bytes.random(16),
                storedKey: Bytes.random(length), serverKey: Bytes.random(length)))
        case .passwordHash(let hash):
            return .passwordHash(SASLPasswordHash(
                function: hash.function, iterations: hash.iterations, salt: Bytes.random(16), hash: Bytes.random(hash.hash.count)))
        }
    }
}

import MailAuth
import Testing

/// An unknown user costs what a wrong password costs (RFC 5802 §9's concern, for PLAIN and LOGIN):
/// the same PBKDF2 work, counted — not timed — by MailAuth's key-derivation meter.
@Suite("Password checks: unknown users cost what wrong passwords cost")
struct PasswordCostTests {
    /// A store that keeps PBKDF2 hashes, the kind `verifyPassword`'s default serves.
    struct HashStore: SASLCredentialVerifier {
        let users: [String: [SASLStoredCredential]]
        func credentials(for authenticationIdentity: String) async throws -> [SASLStoredCredential]? {
            users[authenticationIdentity]
        }
    }

    static func derivations(_ verifier: some SASLCredentialVerifier, user: String, password: SASLSecret) async throws -> ([String], Bool) {
        let meter = KeyDerivationMeter()
        let accepted = try await KeyDerivationMeter.$current.withValue(meter) {
            try await verifier.verifyPassword(password, for: user)
        }
        return (meter.recorded, accepted)
    }

    @Test("PBKDF2 hashes and SCRAM verifiers: an unknown user runs the same derivations as a wrong password")
    func sameWork() async throws {
        let hash = SASLPasswordHash(password: "wonder land", function: .sha256, iterations: 1_000)
        let verifier = try SCRAMVerifier(password: "wonder land", hashFunction: .sha256, iterations: 2_048)
        for credentials in [[SASLStoredCredential.passwordHash(hash)], [.scram(verifier)], [.passwordHash(hash), .scram(verifier)]] {
            let store = HashStore(users: ["alice": credentials])
            let right = try await Self.derivations(store, user: "alice", password: "wonder land")
            #expect(right.1)
            let wrong = try await Self.derivations(store, user: "alice", password: "guess")
            #expect(!wrong.1)
            let unknown = try await Self.derivations(store, user: "mallory", password: "guess")
            #expect(!unknown.1)
            #expect(!wrong.0.isEmpty, "a wrong password derives keys")
            #expect(unknown.0 == wrong.0, "unknown user: \(unknown.0), wrong password: \(wrong.0)")
        }
    }

    /// A password file behind a type of this test's own, so that no other test's lookups (the
    /// decoys follow the last user found in a store of the same type) run in between.
    struct PrivateFile: SASLCredentialVerifier {
        let file: SASLPasswordFile
        func credentials(for authenticationIdentity: String) async throws -> [SASLStoredCredential]? {
            try await file.credentials(for: authenticationIdentity)
        }
    }

    @Test("a password file: unknown users are refused after the same work, also before any user was found")
    func passwordFile() async throws {
        let entry = try SASLPasswordFile.entry(user: "alice", password: "wonder land", iterations: 2_000)
        let store = PrivateFile(file: try SASLPasswordFile(contents: entry, path: "cost-test"))
        // Before any user was found: one SCRAM-SHA-256 derivation of 4,096 iterations, what
        // SASLPasswordFile.entry writes by default.
        let unknownFirst = try await Self.derivations(store, user: "nobody", password: "guess")
        #expect(!unknownFirst.1)
        #expect(unknownFirst.0 == ["pbkdf2-hmac-SHA-256×4096"], "\(unknownFirst.0)")
        let wrong = try await Self.derivations(store, user: "alice", password: "guess")
        #expect(!wrong.1)
        #expect(wrong.0 == ["pbkdf2-hmac-SHA-256×2000"], "\(wrong.0)")
        // From then on, unknown users cost what alice's wrong password costs.
        let unknown = try await Self.derivations(store, user: "nobody", password: "guess")
        #expect(!unknown.1)
        #expect(unknown.0 == wrong.0)
        // The decoy never matches, whatever the password.
        #expect(!(try await store.verifyPassword("", for: "nobody")))
    }
}

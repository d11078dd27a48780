internal import Crypto
internal import _CryptoExtras

/// A salted, slow password hash for users who authenticate with PLAIN or LOGIN: PBKDF2 with
/// HMAC-SHA-256 or HMAC-SHA-512 (RFC 8018 §5.2), written in the PHC string format
/// `$pbkdf2-sha512$i=210000$<salt>$<hash>` (base64 without padding).
///
/// A hash answers PLAIN and LOGIN only; challenge-response mechanisms need the password itself
/// (CRAM-MD5, DIGEST-MD5) or a ``SCRAMVerifier`` (SCRAM).
public struct SASLPasswordHash: Sendable, CustomStringConvertible {
    /// The PRF under PBKDF2.
    public struct Function: Hashable, Sendable, CustomStringConvertible {
        let identifier: String
        let kdf: KDF.Insecure.PBKDF2.HashFunction
        let length: Int

        /// PBKDF2-HMAC-SHA-256 (`pbkdf2-sha256`).
        public static let sha256 = Function(identifier: "pbkdf2-sha256", kdf: .sha256, length: 32)
        /// PBKDF2-HMAC-SHA-512 (`pbkdf2-sha512`), the default.
        public static let sha512 = Function(identifier: "pbkdf2-sha512", kdf: .sha512, length: 64)

        public var description: String { identifier }

        public static func == (lhs: Self, rhs: Self) -> Bool { lhs.identifier == rhs.identifier }
        public func hash(into hasher: inout Hasher) { hasher.combine(identifier) }
    }

    /// The PRF.
    public let function: Function
    /// The iteration count.
    public let iterations: Int
    /// The salt.
    public let salt: [UInt8]
    /// The derived key.
    public let hash: [UInt8]

    /// Hashes `password` with a fresh 16-octet salt. Runs PBKDF2 on the calling thread.
    ///
    /// - Parameter iterations: 210,000 by default, OWASP's figure for PBKDF2-HMAC-SHA-512.
    public init(password: SASLSecret, function: Function = .sha512, iterations: Int = 210_000) {
        self.function = function
        self.iterations = max(iterations, 1)
        salt = Bytes.random(16)
        hash = Self.derive(password.bytes, salt: salt, iterations: self.iterations, function: function)
    }

    /// A hash from its parts, for a decoy of the same cost as a real one.
    init(function: Function, iterations: Int, salt: [UInt8], hash: [UInt8]) {
        self.function = function
        self.iterations = max(iterations, 1)
        self.salt = salt
        self.hash = hash
    }

    /// Parses the PHC string form. Errors say what is wrong without repeating the text.
    public init(parsing text: String) throws(SASLError) {
        let parts = text.split(separator: "$", omittingEmptySubsequences: false)
        // "", id, "i=N", salt, hash
        guard parts.count == 5, parts[0].isEmpty else {
            throw SASLError(.configuration, "a password hash has the form $pbkdf2-sha512$i=ITERATIONS$SALT$HASH")
        }
        let function: Function
        switch parts[1] {
        case "pbkdf2-sha256": function = .sha256
        case "pbkdf2-sha512": function = .sha512
        default: throw SASLError(.configuration, "unknown password hash scheme (pbkdf2-sha256 and pbkdf2-sha512 are known)")
        }
        guard parts[2].hasPrefix("i="), let iterations = Int(parts[2].dropFirst(2)), iterations > 0,
            iterations <= 100_000_000
        else {
            throw SASLError(.configuration, "the password hash's iteration count is not a positive number")
        }
        guard let salt = Self.decodeUnpadded(parts[3]), !salt.isEmpty, let hash = Self.decodeUnpadded(parts[4]),
            hash.count >= 16
        else {
            throw SASLError(.configuration, "the password hash's salt or hash is not unpadded base64")
        }
        self.function = function
        self.iterations = iterations
        self.salt = salt
        self.hash = hash
    }

    /// The PHC string form, for writing into a credential file.
    public var encoded: String {
        "$\(function.identifier)$i=\(iterations)$\(Self.encodeUnpadded(salt))$\(Self.encodeUnpadded(hash))"
    }

    public var description: String { "\(function.identifier) hash (<secret>)" }

    /// Whether `password` hashes to this hash. Runs PBKDF2 on the calling thread.
    func matches(_ password: SASLSecret) -> Bool {
        let candidate = Self.derive(password.bytes, salt: salt, iterations: iterations, function: function, length: hash.count)
        return Bytes.constantTimeEqual(candidate, hash)
    }

    private static func derive(
        _ password: [UInt8], salt: [UInt8], iterations: Int, function: Function, length: Int? = nil
    ) -> [UInt8] {
        let count = length ?? function.length
        KeyDerivationMeter.current?.record(function.identifier, iterations: iterations)
        guard
            let key = try? KDF.Insecure.PBKDF2.deriveKey(
                from: password, salt: salt, using: function.kdf, outputByteCount: count,
                unsafeUncheckedRounds: iterations)
        else { return [UInt8](repeating: 0, count: count) }
        return key.withUnsafeBytes { Array($0) }
    }

    private static func encodeUnpadded(_ bytes: [UInt8]) -> String {
        var text = Base64.encode(bytes)
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }

    private static func decodeUnpadded(_ text: Substring) -> [UInt8]? {
        var bytes = Array(text.utf8)
        guard !bytes.contains(UInt8(ascii: "=")) else { return nil }
        while bytes.count % 4 != 0 { bytes.append(UInt8(ascii: "=")) }
        return Base64.decode(bytes)
    }
}

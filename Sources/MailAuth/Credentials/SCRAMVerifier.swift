/// What a SCRAM server stores for a user instead of the password (RFC 5802 §3): the salt, the
/// iteration count, `StoredKey` and `ServerKey`.
///
/// With it a server can check a SCRAM exchange and, by deriving the same keys from a given
/// password, a PLAIN or LOGIN password; it cannot answer CRAM-MD5 or DIGEST-MD5. Its text form is
/// RFC 5803's `authPassword` value, which PostgreSQL uses as well:
/// `SCRAM-SHA-256$4096:<salt>$<StoredKey>:<ServerKey>` (base64 fields).
///
/// `StoredKey` and `ServerKey` let an attacker who reads them impersonate the server and try
/// passwords offline, so they are kept out of descriptions like a password.
public struct SCRAMVerifier: Sendable, CustomStringConvertible {
    /// The hash function, which fixes the mechanism (SCRAM-SHA-1 or SCRAM-SHA-256).
    public let hashFunction: SCRAMHashFunction
    /// The PBKDF2 iteration count `i` (RFC 5802 §5.1).
    public let iterations: Int
    /// The salt `s`.
    public let salt: [UInt8]
    /// `StoredKey := H(ClientKey)`.
    public let storedKey: [UInt8]
    /// `ServerKey := HMAC(SaltedPassword, "Server Key")`.
    public let serverKey: [UInt8]

    /// A verifier from its parts; `storedKey` and `serverKey` must be the hash's output length.
    public init(
        hashFunction: SCRAMHashFunction, iterations: Int, salt: [UInt8], storedKey: [UInt8], serverKey: [UInt8]
    ) throws(SASLError) {
        guard iterations > 0 else { throw SASLError(.configuration, "a SCRAM verifier needs at least one iteration") }
        guard !salt.isEmpty else { throw SASLError(.configuration, "a SCRAM verifier needs a salt") }
        guard storedKey.count == hashFunction.outputLength, serverKey.count == hashFunction.outputLength else {
            throw SASLError(
                .configuration, "SCRAM-\(hashFunction) keys must be \(hashFunction.outputLength) octets long")
        }
        self.hashFunction = hashFunction
        self.iterations = iterations
        self.salt = salt
        self.storedKey = storedKey
        self.serverKey = serverKey
    }

    /// Derives the verifier of `password` (RFC 5802 §3). Runs PBKDF2 on the calling thread.
    ///
    /// - Parameters:
    ///   - iterations: 4,096 by default, RFC 7677 §4's minimum and what Cyrus SASL and Dovecot use.
    ///   - salt: 16 random octets by default.
    public init(
        password: SASLSecret, hashFunction: SCRAMHashFunction, iterations: Int = 4_096, salt: [UInt8]? = nil
    ) throws(SASLError) {
        let salt = salt ?? Bytes.random(16)
        let keys = SCRAMKeys(password: password.bytes, salt: salt, iterations: iterations, hashFunction: hashFunction)
        try self.init(
            hashFunction: hashFunction, iterations: iterations, salt: salt, storedKey: keys.storedKey,
            serverKey: keys.serverKey)
    }

    /// Parses RFC 5803's form, `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`.
    /// Errors say what is wrong without repeating the text.
    public init(parsing text: String) throws(SASLError) {
        let parts = text.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 3 else {
            throw SASLError(.configuration, "a SCRAM verifier has the form SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey")
        }
        guard let name = SASLMechanismName(parts[0]), let hashFunction = SCRAMHashFunction(mechanism: name),
            name == hashFunction.mechanism
        else {
            throw SASLError(.configuration, "unknown SCRAM scheme (SCRAM-SHA-1 and SCRAM-SHA-256 are known)")
        }
        let info = parts[1].split(separator: ":", omittingEmptySubsequences: false)
        let value = parts[2].split(separator: ":", omittingEmptySubsequences: false)
        guard info.count == 2, value.count == 2 else {
            throw SASLError(.configuration, "a SCRAM verifier has the form SCRAM-SHA-256$iterations:salt$StoredKey:ServerKey")
        }
        guard let iterations = Int(info[0]), iterations > 0, iterations <= 100_000_000 else {
            throw SASLError(.configuration, "the SCRAM iteration count is not a positive number")
        }
        guard let salt = Base64.decode(Array(info[1].utf8)), let storedKey = Base64.decode(Array(value[0].utf8)),
            let serverKey = Base64.decode(Array(value[1].utf8))
        else {
            throw SASLError(.configuration, "the SCRAM salt or keys are not base64")
        }
        try self.init(
            hashFunction: hashFunction, iterations: iterations, salt: salt, storedKey: storedKey, serverKey: serverKey)
    }

    /// RFC 5803's text form, for writing into a credential file. It is sensitive (see above): do not
    /// log it.
    public var encoded: String {
        "\(hashFunction.mechanism)$\(iterations):\(Base64.encode(salt))$\(Base64.encode(storedKey)):\(Base64.encode(serverKey))"
    }

    public var description: String { "SCRAM-\(hashFunction) verifier (<secret>)" }

    /// Whether `password` is the password this verifier was made from. Runs PBKDF2 on the calling
    /// thread.
    func matches(_ password: SASLSecret) -> Bool {
        let keys = SCRAMKeys(password: password.bytes, salt: salt, iterations: iterations, hashFunction: hashFunction)
        return Bytes.constantTimeEqual(keys.storedKey, storedKey)
    }
}

/// The keys RFC 5802 §3 derives from a password.
struct SCRAMKeys {
    let clientKey: [UInt8]
    let storedKey: [UInt8]
    let serverKey: [UInt8]

    init(password: [UInt8], salt: [UInt8], iterations: Int, hashFunction: SCRAMHashFunction) {
        let salted = hashFunction.saltedPassword(password, salt: salt, iterations: iterations)
        self.init(saltedPassword: salted, hashFunction: hashFunction)
    }

    init(saltedPassword: [UInt8], hashFunction: SCRAMHashFunction) {
        clientKey = hashFunction.hmac(key: saltedPassword, Array("Client Key".utf8))
        storedKey = hashFunction.hash(clientKey)
        serverKey = hashFunction.hmac(key: saltedPassword, Array("Server Key".utf8))
    }
}

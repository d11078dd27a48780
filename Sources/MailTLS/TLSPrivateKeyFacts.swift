internal import COpenSSL

/// What a PEM private key file holds, without the key itself: its algorithm and size, as OpenSSL
/// reports them (`EVP_PKEY_get_bits`). For checks such as "an RSA key of fewer than 2048 bits"
/// (NIST SP 800-131A; OpenSSL's default security level 2 refuses one, RFC 8446 §4.2.3 lists
/// nothing weaker) before a configuration is used.
///
/// ```swift
/// let facts = try TLSPrivateKeyFacts.load(pemFile: "/etc/mail/certs/sendmail.key")
/// if facts.algorithm == "RSA", facts.bits < 2048 { print("\(facts): too small") }
/// ```
public struct TLSPrivateKeyFacts: Sendable, Hashable, CustomStringConvertible {
    /// The algorithm: `RSA`, `EC`, `ED25519`, `RSA-PSS`, … (OpenSSL's key type name).
    public let algorithm: String
    /// The key size in bits (the RSA modulus, the EC group's order).
    public let bits: Int

    /// Reads an unencrypted PEM private key file (as Sendmail's confSERVER_KEY must be) and
    /// frees the key at once; its bytes are wiped from memory as when a context loads it.
    ///
    /// - Throws: ``TLSConfigurationError`` naming the file: unreadable, no PEM private key in it,
    ///   or encrypted.
    public static func load(pemFile path: String) throws(TLSConfigurationError) -> TLSPrivateKeyFacts {
        let key: OpenSSLPrivateKey
        do {
            key = try PEMPrivateKey.load(path, passphrase: nil)
        } catch let error as TLSConfigurationError {
            throw error
        } catch {
            throw TLSConfigurationError(.malformedPEM, path: path, message: "private key file \(path): \(error)")
        }
        let name = EVP_PKEY_get0_type_name(key.pointer).map { String(cString: $0) } ?? "unknown"
        return TLSPrivateKeyFacts(algorithm: name, bits: Int(EVP_PKEY_get_bits(key.pointer)))
    }

    /// `RSA 2048-bit`.
    public var description: String { "\(algorithm) \(bits)-bit" }
}

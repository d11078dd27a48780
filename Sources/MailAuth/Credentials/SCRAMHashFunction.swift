internal import Crypto
internal import _CryptoExtras

/// The hash function a SCRAM mechanism is built on (RFC 5802 §2.2 `H`, `HMAC`, `Hi`).
///
/// An open set; SwiftMTA implements SHA-1 (SCRAM-SHA-1, RFC 5802) and SHA-256 (SCRAM-SHA-256,
/// RFC 7677).
public struct SCRAMHashFunction: Hashable, Sendable, CustomStringConvertible {
    enum Algorithm: Hashable, Sendable {
        case sha1
        case sha256
    }

    let algorithm: Algorithm

    private init(_ algorithm: Algorithm) { self.algorithm = algorithm }

    /// SHA-1, for SCRAM-SHA-1 and SCRAM-SHA-1-PLUS (RFC 5802).
    public static let sha1 = SCRAMHashFunction(.sha1)
    /// SHA-256, for SCRAM-SHA-256 and SCRAM-SHA-256-PLUS (RFC 7677).
    public static let sha256 = SCRAMHashFunction(.sha256)

    /// The mechanism name without channel binding: `SCRAM-SHA-1` or `SCRAM-SHA-256`.
    public var mechanism: SASLMechanismName {
        switch algorithm {
        case .sha1: .scramSHA1
        case .sha256: .scramSHA256
        }
    }

    /// The mechanism name with channel binding: `SCRAM-SHA-1-PLUS` or `SCRAM-SHA-256-PLUS`.
    public var channelBindingMechanism: SASLMechanismName {
        switch algorithm {
        case .sha1: .scramSHA1Plus
        case .sha256: .scramSHA256Plus
        }
    }

    /// The hash function of a SCRAM mechanism name (with or without `-PLUS`), or `nil`.
    public init?(mechanism: SASLMechanismName) {
        switch mechanism {
        case .scramSHA1, .scramSHA1Plus: self = .sha1
        case .scramSHA256, .scramSHA256Plus: self = .sha256
        default: return nil
        }
    }

    public var description: String {
        switch algorithm {
        case .sha1: "SHA-1"
        case .sha256: "SHA-256"
        }
    }

    /// The digest length in octets.
    var outputLength: Int {
        switch algorithm {
        case .sha1: Insecure.SHA1.byteCount
        case .sha256: SHA256.byteCount
        }
    }

    /// RFC 5802 §2.2 `H(str)`.
    func hash(_ data: [UInt8]) -> [UInt8] {
        switch algorithm {
        case .sha1: Array(Insecure.SHA1.hash(data: data))
        case .sha256: Array(SHA256.hash(data: data))
        }
    }

    /// RFC 5802 §2.2 `HMAC(key, str)`.
    func hmac(key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        let key = SymmetricKey(data: key)
        switch algorithm {
        case .sha1: return Array(HMAC<Insecure.SHA1>.authenticationCode(for: data, using: key))
        case .sha256: return Array(HMAC<SHA256>.authenticationCode(for: data, using: key))
        }
    }

    /// RFC 5802 §2.2 `Hi(str, salt, i)`: PBKDF2 with this hash's HMAC and one output block.
    /// Blocks the calling thread for as long as the iterations take.
    func saltedPassword(_ password: [UInt8], salt: [UInt8], iterations: Int) -> [UInt8] {
        KeyDerivationMeter.current?.record("pbkdf2-hmac-\(self)", iterations: max(iterations, 1))
        let function: KDF.Insecure.PBKDF2.HashFunction
        switch algorithm {
        case .sha1: function = .insecureSHA1
        case .sha256: function = .sha256
        }
        // PBKDF2 fails only for parameters SwiftMTA never passes (no output, no rounds).
        guard
            let key = try? KDF.Insecure.PBKDF2.deriveKey(
                from: password, salt: salt, using: function, outputByteCount: outputLength,
                unsafeUncheckedRounds: max(iterations, 1))
        else { return [UInt8](repeating: 0, count: outputLength) }
        return key.withUnsafeBytes { Array($0) }
    }
}

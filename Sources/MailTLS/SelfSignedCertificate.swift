#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
internal import COpenSSL

/// A self-signed certificate and its private key, made through OpenSSL's API, for a server that
/// has no certificate yet (SwiftMTA's embedded default makes one on first start).
///
/// The certificate is X.509 v3 (RFC 5280) with the host names as subjectAltName DNS entries
/// (RFC 6125 §6.4), the first also as the subject CN, a random 128-bit serial number, usable for
/// TLS servers and clients, and signed with SHA-256.
///
/// ```swift
/// let pair = try SelfSignedCertificate.generate(hostNames: ["mx.example.com"])
/// try pair.write(certificateFile: "/var/spool/swiftmta/tls/cert.pem",
///                privateKeyFile: "/var/spool/swiftmta/tls/key.pem")
/// ```
public struct SelfSignedCertificate: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The key algorithm of a generated certificate.
    public enum KeyType: Sendable, Hashable, CustomStringConvertible {
        /// RSA with a modulus of `bits` bits (2048 or more; every peer accepts RSA).
        case rsa(bits: Int)
        /// ECDSA over NIST P-256 (smaller and faster; a few old peers lack it).
        case ecdsaP256

        /// `RSA-2048` or `ECDSA-P256`.
        public var description: String {
            switch self {
            case .rsa(let bits): "RSA-\(bits)"
            case .ecdsaP256: "ECDSA-P256"
            }
        }
    }

    /// The certificate in PEM form.
    public let certificatePEM: String
    /// The unencrypted private key in PKCS#8 PEM form. Never shown in ``description``, a debug
    /// description or `dump()`.
    public var privateKeyPEM: String { privateKey.value }
    /// Where the key is kept: a value whose every description and mirror is `<redacted>`.
    private let privateKey: RedactedText
    /// The certificate's facts (subject, fingerprint, validity).
    public let certificate: TLSCertificate

    /// Generates a key and a self-signed certificate for `hostNames`.
    ///
    /// - Parameters:
    ///   - hostNames: DNS names (or IP addresses) the certificate names; the first is the CN.
    ///   - validity: how long the certificate is valid from now (it is backdated by five minutes
    ///     for peers whose clocks run behind).
    ///   - keyType: RSA 2048 by default.
    /// - Throws: ``TLSConfigurationError`` of kind
    ///   ``TLSConfigurationError/Kind-swift.struct/generationFailed`` for an empty or malformed
    ///   host name, a key size below 2048 bits, or an OpenSSL failure.
    public static func generate(
        hostNames: [String],
        validity: Duration = .seconds(825 * 86_400),
        keyType: KeyType = .rsa(bits: 2048)
    ) throws -> SelfSignedCertificate {
        guard let commonName = hostNames.first else {
            throw TLSConfigurationError(.generationFailed, path: nil, message: "a self-signed certificate needs at least one host name")
        }
        let alternativeNames = try hostNames.map(subjectAlternativeName)
        _ = OpenSSLErrorQueue.drain()

        let key = try makeKey(keyType)
        guard let x509 = X509_new() else { throw failure("cannot allocate a certificate") }
        let certificate = OpenSSLCertificate(taking: x509)

        guard X509_set_version(x509, 2) == 1 else { throw failure("cannot set the certificate version") }
        try setRandomSerial(x509)
        let seconds = validity.components.seconds
        guard seconds > 0 else {
            throw TLSConfigurationError(.generationFailed, path: nil, message: "a certificate's validity must be positive, not \(validity)")
        }
        guard X509_gmtime_adj(X509_getm_notBefore(x509), -300) != nil,
              X509_time_adj_ex(X509_getm_notAfter(x509), Int32(clamping: seconds / 86_400), Int(seconds % 86_400), nil) != nil
        else { throw failure("cannot set the validity period") }
        guard X509_set_pubkey(x509, key.pointer) == 1 else { throw failure("cannot set the public key") }

        guard let name = X509_get_subject_name(x509),
              X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, commonName, -1, -1, 0) == 1,
              X509_set_issuer_name(x509, name) == 1
        else { throw failure("cannot set the subject \(commonName)") }

        try addExtension(x509, NID_basic_constraints, "critical,CA:FALSE")
        try addExtension(x509, NID_key_usage, "critical,digitalSignature,keyEncipherment")
        try addExtension(x509, NID_ext_key_usage, "serverAuth,clientAuth")
        try addExtension(x509, NID_subject_key_identifier, "hash")
        try addExtension(x509, NID_subject_alt_name, alternativeNames.joined(separator: ","))

        guard X509_sign(x509, key.pointer, EVP_sha256()) > 0 else { throw failure("cannot sign the certificate") }

        let certificatePEM = try pem { PEM_write_bio_X509($0, x509) }
        let keyPEM = try pem { PEM_write_bio_PrivateKey($0, key.pointer, nil, nil, 0, nil, nil) }
        return SelfSignedCertificate(
            certificatePEM: certificatePEM, privateKey: RedactedText(keyPEM), certificate: TLSCertificate(certificate))
    }

    /// Writes the certificate (mode 0644) and the key (mode 0600) atomically: each goes to a new
    /// temporary file beside its target, is synced, and is renamed over it, so a reader never sees
    /// half a file and the key is never readable by others, not even for a moment.
    ///
    /// - Throws: ``TLSConfigurationError`` naming the file that cannot be written.
    public func write(certificateFile: String, privateKeyFile: String) throws {
        try Self.writeAtomically(Array(privateKeyPEM.utf8), to: privateKeyFile, mode: 0o600, what: "private key file")
        try Self.writeAtomically(Array(certificatePEM.utf8), to: certificateFile, mode: 0o644, what: "certificate file")
    }

    /// The certificate's subject and fingerprint; never the key.
    public var description: String {
        "SelfSignedCertificate(\(certificate.subject), sha256=\(certificate.sha256Fingerprint), private key <redacted>)"
    }

    /// The same as ``description``; never the key.
    public var debugDescription: String { description }

    // MARK: - Steps

    private static func makeKey(_ keyType: KeyType) throws -> OpenSSLPrivateKey {
        let pointer: OpaquePointer?
        switch keyType {
        case .rsa(let bits):
            guard (2048...16384).contains(bits) else {
                throw TLSConfigurationError(
                    .generationFailed, path: nil, message: "an RSA key of \(bits) bits is refused; use 2048 to 16384")
            }
            pointer = swiftmta_EVP_RSA_gen(UInt32(bits))
        case .ecdsaP256:
            pointer = swiftmta_EVP_EC_gen("P-256")
        }
        guard let pointer else { throw failure("cannot generate a \(keyType) key") }
        return OpenSSLPrivateKey(taking: pointer)
    }

    private static func setRandomSerial(_ x509: OpaquePointer) throws {
        var bytes = [UInt8](repeating: 0, count: 16)
        guard RAND_bytes(&bytes, Int32(bytes.count)) == 1 else { throw failure("cannot draw a random serial number") }
        bytes[0] &= 0x7F  // positive (RFC 5280 §4.1.2.2)
        bytes[0] |= 0x40  // and of full length
        guard let number = BN_bin2bn(bytes, Int32(bytes.count), nil) else { throw failure("cannot make a serial number") }
        defer { BN_free(number) }
        guard BN_to_ASN1_INTEGER(number, X509_get_serialNumber(x509)) != nil else { throw failure("cannot set the serial number") }
    }

    private static func addExtension(_ x509: OpaquePointer, _ nid: Int32, _ value: String) throws {
        var context = X509V3_CTX()
        X509V3_set_ctx(&context, x509, x509, nil, nil, 0)
        guard let ext = X509V3_EXT_conf_nid(nil, &context, nid, value) else {
            throw failure("cannot make the extension \(String(cString: OBJ_nid2sn(nid))) = \(value)")
        }
        defer { X509_EXTENSION_free(ext) }
        guard X509_add_ext(x509, ext, -1) == 1 else { throw failure("cannot add the extension \(String(cString: OBJ_nid2sn(nid)))") }
    }

    /// `DNS:name` or `IP:address`, after checking that the name cannot smuggle another entry.
    private static func subjectAlternativeName(_ name: String) throws -> String {
        let bytes = Array(name.utf8)
        if !bytes.isEmpty, bytes.count <= 253, name.contains(":") == false,
           bytes.allSatisfy({ $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "*")
               || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
               || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0 | 0x20) }) {
            let isAddress = bytes.allSatisfy { $0 == UInt8(ascii: ".") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
            return isAddress ? "IP:\(name)" : "DNS:\(name)"
        }
        if !bytes.isEmpty, bytes.count <= 45, bytes.contains(UInt8(ascii: ":")),
           bytes.allSatisfy({ $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".")
               || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
               || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0 | 0x20) }) {
            return "IP:\(name)"
        }
        throw TLSConfigurationError(
            .generationFailed, path: nil,
            message: "\"\(name)\" is not a host name or IP address a certificate can name")
    }

    private static func pem(_ write: (OpaquePointer) -> Int32) throws -> String {
        guard let bio = BIO_new(BIO_s_mem()) else { throw failure("cannot allocate a buffer") }
        defer { BIO_free(bio) }
        guard write(bio) == 1 else { throw failure("cannot write PEM") }
        var data: UnsafeMutablePointer<CChar>?
        let length = swiftmta_BIO_get_mem_data(bio, &data)
        guard let data, length > 0 else { throw failure("cannot write PEM") }
        return String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
    }

    private static func failure(_ what: String) -> TLSConfigurationError {
        TLSConfigurationError(
            .generationFailed, path: nil,
            message: "self-signed certificate: \(what): \(OpenSSLErrorQueue.drainedReason(fallback: "OpenSSL gave no reason"))")
    }

    private static func writeAtomically(_ bytes: [UInt8], to path: String, mode: mode_t, what: String) throws {
        func error(_ action: String) -> TLSConfigurationError {
            TLSConfigurationError(
                .unreadableFile, path: path, message: "cannot \(action) \(what) \(path): \(String(cString: strerror(errno)))")
        }
        var random = [UInt8](repeating: 0, count: 6)
        _ = RAND_bytes(&random, Int32(random.count))
        let temporary = path + ".tmp-" + random.map { TLSARecord.hexDigits($0) }.joined()
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode)
        guard fd >= 0 else { throw error("create a temporary file for") }
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                let failure = error("write")
                close(fd)
                unlink(temporary)
                throw failure
            }
            written += count
        }
        // The mode given to open() is narrowed by the umask; the key must be exactly 0600.
        guard fchmod(fd, mode) == 0, fsync(fd) == 0 else {
            let failure = error("sync")
            close(fd)
            unlink(temporary)
            throw failure
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let failure = error("rename into place")
            unlink(temporary)
            throw failure
        }
    }
}

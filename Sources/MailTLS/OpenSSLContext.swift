#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
internal import COpenSSL

/// Owns one OpenSSL `SSL_CTX*`, configured from a ``TLSConfiguration`` and never changed afterwards,
/// so that one context serves every connection on every thread.
final class OpenSSLContext: @unchecked Sendable {
    enum Side {
        case server
        case client
    }

    // Immutable after init; OpenSSL allows an SSL_CTX to be shared across threads once configured.
    private let handle: OpenSSLContextHandle
    let side: Side
    /// The leaf certificate's subject, when the configuration has a certificate.
    let certificateSubject: String?
    /// The leaf certificate's expiry, when the configuration has a certificate.
    let certificateNotAfter: String?

    /// The `SSL_CTX*`, alive as long as this object.
    var pointer: OpaquePointer { handle.pointer }

    init(configuration: TLSConfiguration, side: Side) throws {
        _ = OpenSSLErrorQueue.drain()
        // Owned from the first line: when a later step throws, the handle (and with it the
        // context, its certificate, key and trust store) is freed; this object's deinit never runs.
        let handle = try OpenSSLContextHandle(side: side)
        let pointer = handle.pointer
        self.handle = handle
        self.side = side
        swiftmta_SSL_CTX_set_swiftmta_options(pointer)

        try Self.applyProtocolVersions(configuration, to: pointer)
        try Self.applyCiphers(configuration, to: pointer)
        // After the cipher list, which may carry its own `@SECLEVEL=`: the explicit setting wins.
        if let level = configuration.securityLevel {
            guard (0...5).contains(level) else {
                throw TLSConfigurationError(
                    .rejectedSetting, path: nil,
                    message: "TLS security level \(level) is not one of 0 to 5 (see SSL_CTX_set_security_level(3))")
            }
            SSL_CTX_set_security_level(pointer, Int32(level))
        }

        switch (configuration.certificateChainFile, configuration.privateKeyFile) {
        case (let chainFile?, let keyFile?):
            let leaf = try Self.applyCertificate(
                chainFile: chainFile, keyFile: keyFile, passphrase: configuration.privateKeyPassphrase, to: pointer)
            certificateSubject = leaf.subject
            certificateNotAfter = leaf.notAfterText
        case (nil, nil):
            if side == .server {
                throw TLSConfigurationError(
                    .missingSetting, path: nil,
                    message: "a TLS server needs a certificate and a private key; the configuration has neither")
            }
            certificateSubject = nil
            certificateNotAfter = nil
        case (let chainFile?, nil):
            throw TLSConfigurationError(
                .missingSetting, path: chainFile,
                message: "certificate \(chainFile) is configured without its private key file")
        case (nil, let keyFile?):
            throw TLSConfigurationError(
                .missingSetting, path: keyFile,
                message: "private key \(keyFile) is configured without its certificate file")
        }

        let trusted = try Self.applyTrust(configuration, to: pointer)
        SSL_CTX_set_verify_depth(pointer, Int32(max(0, configuration.maximumVerificationDepth)))

        switch side {
        case .server:
            // Resumed sessions must belong to this application; OpenSSL refuses to resume
            // sessions of a peer-verifying server without an id context.
            let contextName = Array("swiftmta".utf8)
            SSL_CTX_set_session_id_context(pointer, contextName, UInt32(contextName.count))
            switch configuration.clientCertificates {
            case .none:
                SSL_CTX_set_verify(pointer, SSL_VERIFY_NONE, nil)
            case .optional:
                // Any certificate is accepted; the verification result is kept for the facts.
                SSL_CTX_set_verify(pointer, SSL_VERIFY_PEER) { _, _ in 1 }
            case .required:
                SSL_CTX_set_verify(pointer, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nil)
            }
            if configuration.clientCertificates != .none {
                // The CA names a client may choose its certificate by (RFC 8446 §4.2.4).
                for certificate in trusted {
                    _ = SSL_CTX_add_client_CA(pointer, certificate.pointer)
                }
                if let directory = configuration.caDirectory {
                    let names = SSL_CTX_get_client_CA_list(pointer)
                    if let names {
                        _ = SSL_add_dir_cert_subjects_to_stack(names, directory)
                    }
                }
                _ = OpenSSLErrorQueue.drain()
            }
        case .client:
            guard SSL_CTX_dane_enable(pointer) > 0 else {
                throw TLSConfigurationError(
                    .rejectedSetting, path: nil,
                    message: "OpenSSL cannot enable DANE: \(OpenSSLErrorQueue.drainedReason(fallback: "unknown reason"))")
            }
        }
    }

    // MARK: - Steps

    private static func applyProtocolVersions(_ configuration: TLSConfiguration, to pointer: OpaquePointer) throws {
        let minimum = configuration.minimumProtocolVersion
        if let maximum = configuration.maximumProtocolVersion, maximum < minimum {
            throw TLSConfigurationError(
                .rejectedSetting, path: nil,
                message: "TLS maximum version \(maximum) is older than the minimum version \(minimum)")
        }
        guard swiftmta_SSL_CTX_set_min_proto_version(pointer, Int32(minimum.wireValue)) == 1 else {
            throw TLSConfigurationError(
                .rejectedSetting, path: nil,
                message: "OpenSSL refuses \(minimum) as the minimum TLS version: \(OpenSSLErrorQueue.drainedReason(fallback: "unsupported"))")
        }
        if let maximum = configuration.maximumProtocolVersion {
            guard swiftmta_SSL_CTX_set_max_proto_version(pointer, Int32(maximum.wireValue)) == 1 else {
                throw TLSConfigurationError(
                    .rejectedSetting, path: nil,
                    message: "OpenSSL refuses \(maximum) as the maximum TLS version: \(OpenSSLErrorQueue.drainedReason(fallback: "unsupported"))")
            }
        }
    }

    private static func applyCiphers(_ configuration: TLSConfiguration, to pointer: OpaquePointer) throws {
        if let list = configuration.cipherList {
            guard SSL_CTX_set_cipher_list(pointer, list) == 1 else {
                throw TLSConfigurationError(
                    .rejectedSetting, path: nil,
                    message: "TLS cipher list \"\(list)\" selects no cipher OpenSSL knows: \(OpenSSLErrorQueue.drainedReason(fallback: "no cipher match"))")
            }
        }
        if let suites = configuration.cipherSuites {
            guard SSL_CTX_set_ciphersuites(pointer, suites) == 1 else {
                throw TLSConfigurationError(
                    .rejectedSetting, path: nil,
                    message: "TLS 1.3 cipher suites \"\(suites)\" are not valid: \(OpenSSLErrorQueue.drainedReason(fallback: "no cipher match"))")
            }
        }
    }

    /// Loads the chain and key, checks the validity period, the security level and that the key
    /// belongs to the certificate. Returns the leaf.
    private static func applyCertificate(
        chainFile: String, keyFile: String, passphrase: String?, to pointer: OpaquePointer
    ) throws -> OpenSSLCertificate {
        let chain = try PEMCertificates.load(chainFile, what: "certificate file")
        let key = try PEMPrivateKey.load(keyFile, passphrase: passphrase)
        let leaf = chain[0]

        if leaf.hasExpired {
            throw TLSConfigurationError(
                .expiredCertificate, path: chainFile,
                message: "certificate \(leaf.subject) in \(chainFile) expired on \(leaf.notAfterText)")
        }
        if leaf.isNotYetValid {
            throw TLSConfigurationError(
                .certificateNotYetValid, path: chainFile,
                message: "certificate \(leaf.subject) in \(chainFile) is not valid before \(leaf.notBeforeText)")
        }

        guard SSL_CTX_use_certificate(pointer, leaf.pointer) == 1 else {
            throw certificateRefused(leaf, position: "certificate", file: chainFile, context: pointer)
        }
        for (index, intermediate) in chain.dropFirst().enumerated() {
            guard swiftmta_SSL_CTX_add1_chain_cert(pointer, intermediate.pointer) == 1 else {
                throw certificateRefused(
                    intermediate, position: "intermediate certificate \(index + 1)", file: chainFile, context: pointer)
            }
        }
        guard SSL_CTX_use_PrivateKey(pointer, key.pointer) == 1, SSL_CTX_check_private_key(pointer) == 1 else {
            _ = OpenSSLErrorQueue.drain()
            throw TLSConfigurationError(
                .keyMismatch, path: keyFile,
                message: "private key \(keyFile) does not match the certificate in \(chainFile)")
        }
        return leaf
    }

    /// The error for a certificate OpenSSL refused to use: a weak key explained with the numbers,
    /// anything else with OpenSSL's reason.
    private static func certificateRefused(
        _ certificate: OpenSSLCertificate, position: String, file: String, context: OpaquePointer
    ) -> TLSConfigurationError {
        let reasonCode = ERR_GET_REASON(ERR_peek_last_error())
        let reason = OpenSSLErrorQueue.drainedReason(fallback: "rejected by OpenSSL")
        let level = Int(SSL_CTX_get_security_level(context))
        switch reasonCode {
        case SSL_R_EE_KEY_TOO_SMALL, SSL_R_CA_KEY_TOO_SMALL:
            let (bits, algorithm) = certificate.publicKeyDescription
            let needed = minimumKeyBits(securityLevel: level)
            return TLSConfigurationError(
                .weakKey, path: file,
                message: "\(position) \(certificate.subject) in \(file) has a \(bits)-bit \(algorithm) key, "
                    + "which OpenSSL security level \(level) refuses (it needs \(needed) bits or more); "
                    + "make a new key of at least 2048 bits, or set the TLS security level to "
                    + "\(max(0, level - 1)) to accept this one at lower strength")
        case SSL_R_CA_MD_TOO_WEAK:
            return TLSConfigurationError(
                .weakKey, path: file,
                message: "\(position) \(certificate.subject) in \(file) is signed with a digest that OpenSSL "
                    + "security level \(level) refuses (SHA-1 or MD5); reissue it with SHA-256, or lower the "
                    + "TLS security level to accept it")
        default:
            return TLSConfigurationError(
                .malformedPEM, path: file,
                message: "\(position) \(certificate.subject) in \(file) is not usable: \(reason)")
        }
    }

    /// The RSA/DH key size a security level asks for (`SSL_CTX_set_security_level(3)`).
    static func minimumKeyBits(securityLevel: Int) -> Int {
        switch securityLevel {
        case ...0: 0
        case 1: 1024
        case 2: 2048
        case 3: 3072
        case 4: 7680
        default: 15360
        }
    }

    /// Loads the trusted CAs. Returns the certificates of `caFile`, for the server's CA name list.
    private static func applyTrust(
        _ configuration: TLSConfiguration, to pointer: OpaquePointer
    ) throws -> [OpenSSLCertificate] {
        var trusted: [OpenSSLCertificate] = []
        guard let store = SSL_CTX_get_cert_store(pointer) else { return [] }
        if let caFile = configuration.caFile {
            trusted = try PEMCertificates.load(caFile, what: "CA file")
            for certificate in trusted {
                guard X509_STORE_add_cert(store, certificate.pointer) == 1 else {
                    // A certificate listed twice is harmless; anything else is not.
                    let reason = OpenSSLErrorQueue.drainedReason(fallback: "rejected by OpenSSL")
                    if reason.contains("already in hash table") { continue }
                    throw TLSConfigurationError(
                        .malformedPEM, path: caFile,
                        message: "CA certificate \(certificate.subject) in \(caFile) is not usable: \(reason)")
                }
            }
        }
        if let directory = configuration.caDirectory {
            var status = stat()
            guard stat(directory, &status) == 0 else {
                let reason = String(cString: strerror(errno))
                throw TLSConfigurationError(
                    .unreadableFile, path: directory, message: "cannot use CA directory \(directory): \(reason)")
            }
            guard (status.st_mode & S_IFMT) == S_IFDIR else {
                throw TLSConfigurationError(
                    .unreadableFile, path: directory, message: "CA directory \(directory) is not a directory")
            }
            guard SSL_CTX_load_verify_dir(pointer, directory) == 1 else {
                throw TLSConfigurationError(
                    .rejectedSetting, path: directory,
                    message: "OpenSSL cannot use CA directory \(directory): \(OpenSSLErrorQueue.drainedReason(fallback: "rejected"))")
            }
        }
        if configuration.trustsSystemCertificates {
            guard SSL_CTX_set_default_verify_paths(pointer) == 1 else {
                throw TLSConfigurationError(
                    .rejectedSetting, path: nil,
                    message: "OpenSSL cannot load the system's CA certificates: \(OpenSSLErrorQueue.drainedReason(fallback: "rejected"))")
            }
        }
        return trusted
    }
}

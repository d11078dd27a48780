internal import COpenSSL

/// A server-side TLS context: the certificate chain and private key a listener presents.
///
/// Built once from PEM files and never changed afterwards, so one context is shared by every
/// connection. The certificate chain file holds the leaf certificate first, then any intermediates;
/// the key file holds the matching private key (PKCS#8 or traditional, optionally encrypted with
/// `passphrase`). Loading checks that the key belongs to the certificate.
///
/// ```swift
/// let context = try TLSServerContext(
///     certificateChainFile: "/etc/mail/certs/sendmail.crt",
///     privateKeyFile: "/etc/mail/certs/sendmail.key")
/// ```
public final class TLSServerContext: @unchecked Sendable {
    // Immutable after init; OpenSSL allows an SSL_CTX to be shared across threads once configured.
    let context: OpaquePointer

    /// The subject of the leaf certificate, in OpenSSL's one-line form (`/CN=mx.example.test`).
    public let certificateSubject: String

    /// Loads the certificate chain and private key.
    ///
    /// - Throws: ``TLSConfigurationError`` naming the file when a file cannot be read, holds no
    ///   valid PEM object, the key is encrypted and `passphrase` is missing or wrong, or the key does
    ///   not match the certificate.
    public init(certificateChainFile: String, privateKeyFile: String, passphrase: String? = nil) throws {
        _ = OpenSSLErrorQueue.drain()
        guard let context = SSL_CTX_new(TLS_server_method()) else {
            throw TLSConfigurationError(
                .rejectedSetting, path: nil,
                message: "cannot create a TLS context: \(OpenSSLErrorQueue.drainedReason(fallback: "out of memory"))")
        }
        self.context = context
        // From here on deinit frees the context if a later step throws.

        let chain = try PEMCertificates.load(certificateChainFile, what: "certificate file")
        defer { chain.forEach { X509_free($0) } }
        let key = try PEMPrivateKey.load(privateKeyFile, passphrase: passphrase)
        defer { EVP_PKEY_free(key) }

        guard SSL_CTX_use_certificate(context, chain[0]) == 1 else {
            throw TLSConfigurationError(
                .malformedPEM, path: certificateChainFile,
                message: "certificate in \(certificateChainFile) is not usable: \(OpenSSLErrorQueue.drainedReason(fallback: "rejected by OpenSSL"))")
        }
        for intermediate in chain.dropFirst() {
            guard swiftmta_SSL_CTX_add1_chain_cert(context, intermediate) == 1 else {
                throw TLSConfigurationError(
                    .malformedPEM, path: certificateChainFile,
                    message: "intermediate certificate in \(certificateChainFile) is not usable: \(OpenSSLErrorQueue.drainedReason(fallback: "rejected by OpenSSL"))")
            }
        }
        guard SSL_CTX_use_PrivateKey(context, key) == 1, SSL_CTX_check_private_key(context) == 1 else {
            _ = OpenSSLErrorQueue.drain()
            throw TLSConfigurationError(
                .keyMismatch, path: privateKeyFile,
                message: "private key \(privateKeyFile) does not match the certificate in \(certificateChainFile)")
        }
        self.certificateSubject = PEMCertificates.subject(of: chain[0])
    }

    deinit {
        SSL_CTX_free(context)
    }
}

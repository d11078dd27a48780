/// A server-side TLS context: the certificate chain and private key a listener presents, the CAs
/// it checks client certificates against, and its protocol and cipher settings.
///
/// Built once from a ``TLSConfiguration`` and never changed afterwards, so one context is shared
/// by every connection (and every thread). Loading checks every file: the certificate chain (leaf
/// first, then intermediates), the key (PKCS#8 or traditional, optionally encrypted), that the key
/// belongs to the certificate, that the certificate is within its validity period and strong
/// enough for the security level, and the CA file and directory.
///
/// ```swift
/// let context = try TLSServerContext(configuration: .server(
///     certificateChainFile: "/etc/mail/certs/sendmail.crt",
///     privateKeyFile: "/etc/mail/certs/sendmail.key"))
/// ```
///
/// Connections use it through ``TLSHandler/init(serverContext:handshakePromise:)`` (implicit TLS,
/// RFC 8314 §3.3) or ``STARTTLS/acceptUpgrade(on:inbound:reply:context:)`` (RFC 3207).
public final class TLSServerContext: Sendable {
    let openSSL: OpenSSLContext
    /// The configuration the context was loaded from.
    public let configuration: TLSConfiguration

    /// The subject of the leaf certificate, in OpenSSL's one-line form (`/CN=mx.example.test`).
    public var certificateSubject: String { openSSL.certificateSubject ?? "" }

    /// When the leaf certificate expires, as OpenSSL prints it (`Nov 21 05:00:23 2031 GMT`).
    public var certificateExpiry: String { openSSL.certificateNotAfter ?? "" }

    /// Loads `configuration`, which must name a certificate chain and a private key.
    ///
    /// - Throws: ``TLSConfigurationError`` naming the file or setting: a file that cannot be read
    ///   or holds no valid PEM object, an encrypted key with a missing or wrong passphrase, a key
    ///   that does not match the certificate, an expired or not yet valid certificate, a key too
    ///   weak for the security level, a cipher list or protocol version OpenSSL refuses.
    public init(configuration: TLSConfiguration) throws {
        self.openSSL = try OpenSSLContext(configuration: configuration, side: .server)
        self.configuration = configuration
    }

    /// Loads a certificate chain and private key with every other setting at its default.
    ///
    /// - Throws: ``TLSConfigurationError`` as ``init(configuration:)`` does.
    public convenience init(certificateChainFile: String, privateKeyFile: String, passphrase: String? = nil) throws {
        try self.init(configuration: .server(
            certificateChainFile: certificateChainFile, privateKeyFile: privateKeyFile, passphrase: passphrase))
    }
}

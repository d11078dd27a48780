/// A client-side TLS context: the CAs a client trusts, the certificate it presents when a server
/// asks for one, and its protocol and cipher settings.
///
/// Built once from a ``TLSConfiguration`` and shared by every connection. What varies per
/// connection — the server name sent as SNI (RFC 6066 §3) and how the server is verified
/// (``TLSPeerVerification``) — is given to each ``TLSHandler``.
///
/// ```swift
/// var configuration = TLSConfiguration.client(caDirectory: "/etc/mail/certs")
/// configuration.certificateChainFile = "/etc/mail/certs/sendmail.crt"   // confCLIENT_CERT
/// configuration.privateKeyFile = "/etc/mail/certs/sendmail.key"         // confCLIENT_KEY
/// let context = try TLSClientContext(configuration: configuration)
/// ```
public final class TLSClientContext: Sendable {
    let openSSL: OpenSSLContext
    /// The configuration the context was loaded from.
    public let configuration: TLSConfiguration

    /// The subject of the client certificate, when the configuration has one.
    public var certificateSubject: String? { openSSL.certificateSubject }

    /// Loads `configuration`; a certificate and key are optional, and checked as a server's are
    /// when present.
    ///
    /// - Throws: ``TLSConfigurationError`` naming the file or setting that cannot be used.
    public init(configuration: TLSConfiguration) throws {
        self.openSSL = try OpenSSLContext(configuration: configuration, side: .client)
        self.configuration = configuration
    }
}

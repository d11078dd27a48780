/// The settings of one side of TLS: its certificate and key, the CAs it trusts, the protocol
/// versions and ciphers it allows, and (for a server) whether it asks clients for a certificate.
///
/// A configuration is plain data; ``TLSServerContext`` and ``TLSClientContext`` load it, checking
/// every file and setting, and report problems as ``TLSConfigurationError``. The names follow
/// Sendmail's: `confSERVER_CERT`/`confCLIENT_CERT` (``certificateChainFile``),
/// `confSERVER_KEY`/`confCLIENT_KEY` (``privateKeyFile``), `confCACERT` (``caFile``),
/// `confCACERT_PATH` (``caDirectory``), `confCIPHER_LIST` (``cipherList``).
///
/// ```swift
/// var configuration = TLSConfiguration.server(
///     certificateChainFile: "/etc/mail/certs/sendmail.crt",
///     privateKeyFile: "/etc/mail/certs/sendmail.key")
/// configuration.caDirectory = "/etc/mail/certs"
/// let context = try TLSServerContext(configuration: configuration)
/// ```
///
/// ## Keys of 1024 bits
///
/// OpenSSL 3 refuses RSA keys shorter than 2048 bits at its default security level (2 on Debian
/// and most distributions), and a key made as old guides show (`openssl genrsa … 1024`) fails to
/// load with a ``TLSConfigurationError/Kind-swift.struct/weakKey`` error that says so. Such a key
/// works when ``securityLevel`` is set to 1, which also accepts other 80-bit-strength algorithms;
/// the better fix is a new 2048-bit key.
public struct TLSConfiguration: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The PEM file with the certificate first and any intermediate certificates after it.
    /// A server needs one; a client presents it when the server asks (RFC 8446 §4.4.2).
    public var certificateChainFile: String?
    /// The PEM file with the private key of the certificate (PKCS#8 or traditional, optionally
    /// encrypted).
    public var privateKeyFile: String?
    /// The passphrase of an encrypted ``privateKeyFile``. Never shown in ``description``, a debug
    /// description, `dump()` or errors.
    public var privateKeyPassphrase: String? {
        get { passphrase?.value }
        set { passphrase = newValue.map(RedactedText.init) }
    }
    /// Where the passphrase is kept: a value whose every description and mirror is `<redacted>`.
    private var passphrase: RedactedText?
    /// A PEM file of trusted CA certificates (`confCACERT`).
    public var caFile: String?
    /// A directory of trusted CA certificates named by subject hash, as `openssl rehash` (or
    /// `c_rehash`) leaves it (`confCACERT_PATH`). Certificates are looked up when needed.
    public var caDirectory: String?
    /// Whether OpenSSL's own trust store (`/etc/ssl/certs` on Debian) is trusted as well.
    public var trustsSystemCertificates: Bool
    /// The oldest protocol version accepted: TLS 1.2 by default (RFC 8996, RFC 8314 §4.1).
    public var minimumProtocolVersion: TLSProtocolVersion
    /// The newest protocol version offered, or `nil` for the newest OpenSSL supports.
    public var maximumProtocolVersion: TLSProtocolVersion?
    /// The TLS 1.2 and older cipher list in OpenSSL syntax (`HIGH:!aNULL:!MD5`), or `nil` for
    /// OpenSSL's default. See `openssl-ciphers(1)`.
    public var cipherList: String?
    /// The TLS 1.3 cipher suites in OpenSSL syntax (`TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256`),
    /// or `nil` for OpenSSL's default.
    public var cipherSuites: String?
    /// OpenSSL's security level (0–5, see `SSL_CTX_set_security_level(3)`), or `nil` for the
    /// library's configured default (2 on Debian). Level 1 is needed for 1024-bit RSA keys.
    public var securityLevel: Int?
    /// Whether a server asks clients for a certificate. Ignored by clients.
    public var clientCertificates: TLSClientCertificatePolicy
    /// How long a handshake may take before the connection is closed (Postfix's
    /// `smtpd_starttls_timeout` is 300 s).
    public var handshakeTimeout: Duration
    /// The longest certificate chain verified, intermediates included (OpenSSL's default is 100).
    public var maximumVerificationDepth: Int

    /// A configuration with every setting at its default and no certificate.
    public init() {
        certificateChainFile = nil
        privateKeyFile = nil
        passphrase = nil
        caFile = nil
        caDirectory = nil
        trustsSystemCertificates = false
        minimumProtocolVersion = .tls1_2
        maximumProtocolVersion = nil
        cipherList = nil
        cipherSuites = nil
        securityLevel = nil
        clientCertificates = .none
        handshakeTimeout = .seconds(300)
        maximumVerificationDepth = 9
    }

    /// A server's configuration: its certificate chain and key, every other setting at its default.
    public static func server(
        certificateChainFile: String, privateKeyFile: String, passphrase: String? = nil
    ) -> TLSConfiguration {
        var configuration = TLSConfiguration()
        configuration.certificateChainFile = certificateChainFile
        configuration.privateKeyFile = privateKeyFile
        configuration.privateKeyPassphrase = passphrase
        return configuration
    }

    /// A client's configuration that trusts the CAs in `caFile` and `caDirectory` (or the system's
    /// when both are `nil`), with no client certificate.
    public static func client(caFile: String? = nil, caDirectory: String? = nil) -> TLSConfiguration {
        var configuration = TLSConfiguration()
        configuration.caFile = caFile
        configuration.caDirectory = caDirectory
        configuration.trustsSystemCertificates = caFile == nil && caDirectory == nil
        return configuration
    }

    /// The settings, one `key=value` per setting that is set; the passphrase shows as `<redacted>`.
    public var description: String {
        var parts: [String] = []
        if let certificateChainFile { parts.append("certificate=\(certificateChainFile)") }
        if let privateKeyFile { parts.append("key=\(privateKeyFile)") }
        if privateKeyPassphrase != nil { parts.append("passphrase=<redacted>") }
        if let caFile { parts.append("ca_file=\(caFile)") }
        if let caDirectory { parts.append("ca_path=\(caDirectory)") }
        if trustsSystemCertificates { parts.append("system_ca=yes") }
        parts.append("min_version=\(minimumProtocolVersion)")
        if let maximumProtocolVersion { parts.append("max_version=\(maximumProtocolVersion)") }
        if let cipherList { parts.append("ciphers=\(cipherList)") }
        if let cipherSuites { parts.append("ciphersuites=\(cipherSuites)") }
        if let securityLevel { parts.append("security_level=\(securityLevel)") }
        parts.append("client_certificates=\(clientCertificates)")
        return "TLSConfiguration(" + parts.joined(separator: ", ") + ")"
    }

    /// The same as ``description``: the passphrase shows as `<redacted>`.
    public var debugDescription: String { description }
}

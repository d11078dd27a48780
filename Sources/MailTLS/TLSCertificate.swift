internal import COpenSSL

/// An X.509 certificate (RFC 5280) as a value: its DER encoding and the facts logs and access
/// rules use.
///
/// ```swift
/// let chain = try TLSCertificate.load(pemFile: "/etc/mail/certs/sendmail.crt")
/// print(chain[0].subject, chain[0].sha256Fingerprint)
/// ```
public struct TLSCertificate: Sendable, Hashable, CustomStringConvertible {
    /// The DER encoding.
    public let der: [UInt8]
    /// The subject in OpenSSL's one-line form, as Sendmail's `${cert_subject}` has it
    /// (`/C=US/O=Example/CN=mx.example.test`).
    public let subject: String
    /// The issuer in the same form (`${cert_issuer}`).
    public let issuer: String
    /// The SHA-256 fingerprint of the DER encoding, as colon-separated upper-case hex
    /// (`AB:CD:…`), the form `openssl x509 -fingerprint -sha256` prints.
    public let sha256Fingerprint: String
    /// The MD5 fingerprint, the form Sendmail's `${cert_md5}` and access-db `CERTMD5` rules use.
    public let md5Fingerprint: String
    /// The start of the validity period as OpenSSL prints it (`Nov 21 05:00:23 2026 GMT`).
    public let notBefore: String
    /// The end of the validity period.
    public let notAfter: String

    init(_ certificate: OpenSSLCertificate) {
        der = certificate.der
        subject = certificate.subject
        issuer = certificate.issuer
        sha256Fingerprint = Self.colonHex(certificate.fingerprint(EVP_sha256()))
        md5Fingerprint = Self.colonHex(certificate.fingerprint(EVP_md5()))
        notBefore = certificate.notBeforeText
        notAfter = certificate.notAfterText
    }

    /// Every certificate in a PEM file, in file order.
    ///
    /// - Throws: ``TLSConfigurationError`` naming the file when it cannot be read or holds no
    ///   valid certificate.
    public static func load(pemFile path: String) throws -> [TLSCertificate] {
        try PEMCertificates.load(path, what: "certificate file").map(TLSCertificate.init)
    }

    /// Every certificate in PEM text, in order.
    ///
    /// - Throws: ``TLSConfigurationError`` when the text holds no valid certificate.
    public static func parse(pem: String) throws -> [TLSCertificate] {
        try PEMCertificates.parse(Array(pem.utf8), origin: "PEM text", what: "certificate text").map(TLSCertificate.init)
    }

    /// The subject, issuer and SHA-256 fingerprint.
    public var description: String {
        "subject=\(subject), issuer=\(issuer), sha256=\(sha256Fingerprint)"
    }

    /// An OpenSSL object holding a copy of the certificate.
    func makeOpenSSLCertificate() throws -> OpenSSLCertificate {
        let pointer = der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var cursor = buffer.baseAddress
            return d2i_X509(nil, &cursor, buffer.count)
        }
        guard let pointer else {
            throw TLSError(.invalidState, "certificate \(subject) no longer parses: \(OpenSSLErrorQueue.drainedReason(fallback: "bad DER"))")
        }
        return OpenSSLCertificate(taking: pointer)
    }

    static func colonHex(_ bytes: [UInt8]) -> String {
        bytes.map { TLSARecord.hexDigits($0).uppercased() }.joined(separator: ":")
    }
}

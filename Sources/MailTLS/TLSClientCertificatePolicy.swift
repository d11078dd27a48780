/// Whether a server asks its clients for a certificate (Sendmail's `confTLS_SRV_OPTIONS` `V` flag
/// and `verify` requirement; TLS 1.3's CertificateRequest, RFC 8446 §4.3.2).
public enum TLSClientCertificatePolicy: Sendable, Hashable, CustomStringConvertible {
    /// No certificate is requested; the facts report the verification as ``TLSVerificationResult/notRequested``.
    case none
    /// A certificate is requested and any is accepted, verified or not: the facts report what
    /// verification found, for access rules to decide (Sendmail's `verify=OK`/`FAIL`/`NO`).
    case optional
    /// A certificate is required and must verify against the configured CAs; the handshake fails
    /// otherwise.
    case required

    /// `none`, `optional` or `required`.
    public var description: String {
        switch self {
        case .none: "none"
        case .optional: "optional"
        case .required: "required"
        }
    }
}

/// What verifying the peer's certificate found, in Sendmail's terms (its `${verify}` macro, logged
/// as `verify=` and written into `Received:` headers).
///
/// Sendmail's `NONE` ("STARTTLS was not performed") has no case here: a connection without TLS has
/// no ``TLSSessionFacts`` at all.
public enum TLSVerificationResult: Sendable, Hashable, CustomStringConvertible {
    /// The certificate verified: against the trusted CAs (and host name, when one was given), or
    /// against a TLSA record (RFC 7672).
    case ok
    /// The peer presented a certificate that did not verify; the reason is OpenSSL's X.509
    /// reason (`self-signed certificate`, `hostname mismatch`, `certificate has expired`).
    case failed(reason: String)
    /// The peer presented no certificate although one was requested (a client of a server with
    /// ``TLSClientCertificatePolicy/optional``).
    case noPeerCertificate
    /// No certificate was requested (a server with ``TLSClientCertificatePolicy/none``).
    case notRequested

    /// Sendmail's value of `${verify}`: `OK`, `FAIL`, `NO` or `NOT`.
    public var sendmailName: String {
        switch self {
        case .ok: "OK"
        case .failed: "FAIL"
        case .noPeerCertificate: "NO"
        case .notRequested: "NOT"
        }
    }

    /// ``sendmailName``, with the reason for `FAIL`: `FAIL (self-signed certificate)`.
    public var description: String {
        switch self {
        case .ok, .noPeerCertificate, .notRequested: sendmailName
        case .failed(let reason): "FAIL (\(reason))"
        }
    }
}

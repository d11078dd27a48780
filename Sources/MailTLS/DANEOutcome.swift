/// What DANE established about a server (RFC 7672 §2.2, §3): it was authenticated by a TLSA record,
/// or none of its records could be used, so the connection is encrypted without authentication.
///
/// A certificate that does not match a usable record is neither: the handshake fails with
/// ``TLSError/Kind-swift.struct/verificationFailed`` (and ``DANEMatcher/match(chain:records:hostNames:)``
/// throws it), and the SMTP client must not deliver to that server (RFC 7672 §2.2).
///
/// ```swift
/// switch facts.dane {
/// case .authenticated(let record)?: log("DANE \(record.usage) matched")
/// case .noUsableRecords?: log("TLS without authentication: no usable TLSA record")
/// case nil: break   // DANE was not asked for
/// }
/// ```
public enum DANEOutcome: Sendable, Hashable, CustomStringConvertible {
    /// A usable record matched the server's chain: the server is authenticated (RFC 7672 §3.1).
    case authenticated(TLSARecord)
    /// The validated TLSA RRset holds no record an SMTP client can use (only PKIX-TA(0) or
    /// PKIX-EE(1) usages, unknown selectors or matching types, digests of the wrong length,
    /// RFC 7672 §3.1.3): TLS is still required, but the server is not authenticated
    /// (RFC 7672 §2.2).
    case noUsableRecords

    /// `authenticated (DANE-EE)` or `no usable TLSA records`.
    public var description: String {
        switch self {
        case .authenticated(let record): "authenticated (\(record.usage))"
        case .noUsableRecords: "no usable TLSA records"
        }
    }

    /// The record that authenticated the server; `nil` for ``noUsableRecords``.
    public var matchedRecord: TLSARecord? {
        switch self {
        case .authenticated(let record): record
        case .noUsableRecords: nil
        }
    }
}

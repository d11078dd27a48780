/// How a client verifies the server it connects to.
///
/// SMTP between MTAs is usually opportunistic (RFC 3207 §4.1, RFC 7435): ``none`` encrypts whatever
/// the certificate says, and the facts still report what verification found, as Sendmail's
/// `verify=` does. Submission to a smart host wants ``certificateAuthorityAndHostName(_:)``
/// (RFC 8314 §5.1, RFC 6125), and a destination with TLSA records wants ``dane(records:hostNames:)``
/// (RFC 7672).
public enum TLSPeerVerification: Sendable, Hashable, CustomStringConvertible {
    /// Encrypt without authenticating; the handshake succeeds whatever the certificate, and the
    /// facts report the verification result (`OK` or `FAIL` with its reason).
    case none
    /// The chain must verify against the trusted CAs; any host name is accepted.
    case certificateAuthority
    /// The chain must verify against the trusted CAs and the certificate must name one of the host
    /// names (subjectAltName DNS entries, or the CN when there are none; no partial wildcards;
    /// RFC 6125 §6.4).
    case certificateAuthorityAndHostName([String])
    /// The chain must match one of the TLSA records (RFC 7672 §3): DANE-EE(3) records match the
    /// server's own certificate or key with no name check; DANE-TA(2) records match a trust anchor
    /// in the chain and the certificate must then name one of `hostNames` (the TLSA base domain
    /// first, RFC 7672 §3.2.2).
    ///
    /// The records must come from a DNSSEC-validated lookup; build this with
    /// ``forTLSARecords(_:isAuthenticated:hostNames:)``, which says when DANE applies at all.
    /// PKIX-TA(0) and PKIX-EE(1) records are unusable in SMTP (RFC 7672 §3.1.3) and skipped. When
    /// no record is usable, the handshake still runs — TLS is required, but the server is not
    /// authenticated (RFC 7672 §2.2) — and ``TLSSessionFacts/dane`` says
    /// ``DANEOutcome/noUsableRecords``; a certificate that matches no usable record fails the
    /// handshake with ``TLSError/Kind-swift.struct/verificationFailed``.
    case dane(records: [TLSARecord], hostNames: [String])

    /// `none`, `ca`, `ca+host(NAMES)` or `dane(N records)`.
    public var description: String {
        switch self {
        case .none: "none"
        case .certificateAuthority: "ca"
        case .certificateAuthorityAndHostName(let names): "ca+host(\(names.joined(separator: ",")))"
        case .dane(let records, _): "dane(\(records.count) records)"
        }
    }
}

extension TLSPeerVerification {
    /// How an SMTP client verifies a server whose TLSA lookup gave `records` (RFC 7672 §2.2), or
    /// `nil` when DANE does not apply to it.
    ///
    /// - `isAuthenticated` is the lookup's AD bit as MailMaps' `DNSAnswer.isAuthenticated` reports
    ///   it (set only when a resolver the deployment trusts validated the answer with DNSSEC).
    ///   Records without it are not usable at all: an attacker on the path could have forged them.
    ///   Then, as when there are no records, the result is `nil`: DANE does not apply, and the
    ///   connection is opportunistic TLS as without DANE.
    /// - Validated records give ``dane(records:hostNames:)``: the server must match a usable
    ///   record, or — when none is usable — TLS is still required but unauthenticated
    ///   (``DANEOutcome/noUsableRecords``).
    ///
    /// ```swift
    /// let answer = try await resolver.tlsa(port: 25, host: mx)          // MailMaps
    /// let records = try answer.records.map { try TLSARecord(rdata: $0) }
    /// let verification = TLSPeerVerification.forTLSARecords(
    ///     records, isAuthenticated: answer.isAuthenticated, hostNames: [mx, domain]) ?? .none
    /// ```
    public static func forTLSARecords(
        _ records: [TLSARecord], isAuthenticated: Bool, hostNames: [String]
    ) -> TLSPeerVerification? {
        guard isAuthenticated, !records.isEmpty else { return nil }
        return .dane(records: records, hostNames: hostNames)
    }
}

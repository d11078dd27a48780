internal import MailMaps
internal import MailTLS
internal import SMTPProtocol

extension SMTPConnector {
    /// RFC 7672 for one host: its TLSA records, looked up only when the names that lead to it were
    /// DNSSEC-authenticated (the MX answer, §2.2.1, and the host's addresses, §2.2.2).
    ///
    /// - Validated records, one or more usable (DANE-TA or DANE-EE, RFC 7672 §3.1.3): TLS is
    ///   required and the certificate must match one (DANE-TA also checks the name: the host, then
    ///   the destination domain, RFC 7672 §3.2.2). A certificate that matches none fails the
    ///   handshake, and the host is skipped.
    /// - Validated records, none usable: TLS is required but not authenticated (RFC 7672 §2.2);
    ///   the session's facts say ``MailTLS/DANEOutcome/noUsableRecords``.
    /// - No validated records (none published, or an answer without the AD bit): opportunistic TLS.
    /// - A lookup that fails: the host is skipped (RFC 7672 §2.1.1: it might be a downgrade).
    func danePlan(for host: Host, addressesSecure: Bool) async throws(SMTPClientError) -> TLSPlan {
        guard host.secureReferral, addressesSecure else { return .opportunistic }
        let answer: DNSAnswer<[UInt8]>
        do {
            answer = try await configuration.resolver.tlsa(port: destination.port, host: host.name)
        } catch {
            throw SMTPClientError(
                .lookupFailed, stage: .lookup,
                "TLSA lookup for _\(destination.port)._tcp.\(host.name) failed, so the host is not used (RFC 7672 §2.1.1): \(error.message)")
        }
        // RDATA shorter than its three fixed fields is no record at all (RFC 6698 §2.1); one that
        // is merely unusable stays, and counts as such.
        let records = answer.records.compactMap { try? TLSARecord(rdata: $0) }
        var names = [host.name]
        if case .mailExchangers(let domain) = destination.target, domain.lowercased() != host.name.lowercased() {
            names.append(domain)
        }
        guard let verification = TLSPeerVerification.forTLSARecords(records, isAuthenticated: answer.isAuthenticated, hostNames: names) else {
            return .opportunistic
        }
        return .required(verification)
    }
}

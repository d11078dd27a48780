internal import MailMaps
internal import MailTLS
internal import SMTPProtocol

extension SMTPConnector {
    /// RFC 7672 for one host: its TLSA records, looked up only when the names that lead to it were
    /// DNSSEC-authenticated (the MX answer, §2.2.1, and the host's addresses, §2.2.2).
    ///
    /// - Secure records, one or more usable (DANE-TA or DANE-EE, RFC 7672 §3.1.3): TLS is required
    ///   and the certificate must match them (DANE-TA also checks the name: the host, then the
    ///   destination domain, RFC 7672 §3.2.2).
    /// - Secure records, none usable: TLS is required but not authenticated (RFC 7672 §2.2).
    /// - No secure records (none published, or an insecure answer): opportunistic TLS.
    /// - A lookup that fails: the host is skipped (RFC 7672 §2.1.1: it might be a downgrade).
    func danePlan(for host: Host, addressesSecure: Bool) async throws(SMTPClientError) -> TLSPlan {
        guard host.secureReferral, addressesSecure else { return .opportunistic }
        let answer: DNSAnswer<MailMaps.TLSARecord>
        do {
            answer = try await configuration.resolver.tlsa(port: destination.port, host: host.name)
        } catch {
            throw SMTPClientError(
                .lookupFailed, stage: .lookup,
                "TLSA lookup for _\(destination.port)._tcp.\(host.name) failed, so the host is not used (RFC 7672 §2.1.1): \(error.message)")
        }
        guard answer.isAuthenticated, !answer.records.isEmpty else { return .opportunistic }
        let records = answer.records.map(Self.tlsRecord)
        let usable = records.filter(\.isUsableForSMTP)
        guard !usable.isEmpty else { return .required(.none) }
        var names = [host.name]
        if case .mailExchangers(let domain) = destination.target, domain.lowercased() != host.name.lowercased() {
            names.append(domain)
        }
        return .required(.dane(records: usable, hostNames: names))
    }

    /// A TLSA record from MailMaps' DNS in MailTLS's form.
    static func tlsRecord(_ record: MailMaps.TLSARecord) -> MailTLS.TLSARecord {
        MailTLS.TLSARecord(
            usage: .init(record.usage), selector: .init(record.selector), matchingType: .init(record.matchingType),
            data: record.data)
    }
}

public import MailMaps
import SMTPProtocol

extension Router {
    /// Masquerading (MASQUERADE_AS): a sender address of this host (class w, or a
    /// MASQUERADE_DOMAIN, or a bare local name) takes the masquerade domain — in headers always,
    /// in the envelope only with masquerade_envelope — unless its user is an EXPOSED_USER.
    ///
    /// - Throws: ``MailMapError`` when local-host-names cannot be read.
    ///
    /// A bare local name that is not masqueraded is qualified with the host name (`$j`), as
    /// Sendmail qualifies unqualified addresses.
    public func masquerade(_ address: RoutingAddress, envelope: Bool) async throws(MailMapError) -> RoutingAddress {
        guard let masqueradeAs = configuration.masqueradeAs, !envelope || configuration.masqueradeEnvelope else {
            return qualified(address)
        }
        let user = address.unquotedLocalPart
        if configuration.exposedUsers.contains(user) { return qualified(address) }
        if let domain = address.domain {
            guard domain.isName else { return address }
            let key = domain.lookupKey
            let masqueraded = try await isLocalHostName(key) || configuration.masqueradeDomains.contains { $0.asciiLowercased == key }
            guard masqueraded else { return address }
        }
        guard let masqueraded = try? MailboxDomain.name(masqueradeAs) else { return address }
        var result = address
        result.domain = masqueraded
        return result
    }

    /// `user` becomes `user@$j`; an address with a domain is returned as it is.
    func qualified(_ address: RoutingAddress) -> RoutingAddress {
        guard address.domain == nil, let hostname = try? MailboxDomain.name(configuration.hostname) else { return address }
        var result = address
        result.domain = hostname
        return result
    }

    /// The credentials for `host` from the authinfo map: `AuthInfo:host`, then `AuthInfo:` with
    /// each parent domain, then `AuthInfo:` alone. The trace shows the keys, never the values.
    ///
    /// - Throws: ``MailMapError`` when the map cannot be read.
    public func authInfo(for host: String) async throws(MailMapError) -> (AuthInfo?, [RoutingStep]) {
        guard let map = tables.authinfo else { return (nil, []) }
        let name = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        let keys = MailMapTag.authInfo.keys(MailMapKeys.domainAndParents(name.asciiLowercased)) + ["AuthInfo:"]
        let search = await map.search(keys)
        let trace = search.probes.map { RoutingStep.lookup($0.redacted) }
        guard let probe = try search.get(), let value = probe.value else { return (nil, trace) }
        do {
            return (try AuthInfo(parsing: value), trace)
        } catch {
            throw MailMapError(.malformed, map: map.spec, message: "\(map.spec): the entry for \(probe.key): \(error.description)")
        }
    }
}

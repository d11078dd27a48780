import MailMaps
public import SMTPProtocol

/// The access checks: Sendmail's check_relay (connect), check_mail (MAIL) and check_rcpt (RCPT)
/// over the access map, class R, AUTH, relay_based_on_MX and DNS block lists.
///
/// Keys are searched most specific first, each tagged then untagged (`Connect:206.10.252.103`,
/// `206.10.252.103`, `Connect:206.10.252`, …), as the access_db feature does. With
/// `delay_checks`, ``checkRecipient(_:sender:client:)`` applies the connect and sender checks
/// after the recipient's own, so that authenticated clients and recipient exceptions come first.
extension Router {
    /// check_relay: the client at connect time. A refusal here ends the session (unless
    /// `delay_checks` defers it to RCPT).
    public func checkConnect(_ client: ClientIdentity) async -> AccessVerdict {
        var trace: [RoutingStep] = []
        do {
            if let verdict = try await clientEntry(client, tag: .connect, trace: &trace) {
                switch verdict.action {
                case .ok, .relay, .discard, .reject:
                    return AccessVerdict(verdict.action, reason: verdict.reason, trace: trace)
                case .pass:
                    break
                }
            }
            for zone in configuration.dnsbl {
                guard let resolver = tables.resolver else { break }
                let listing = try await resolver.dnsbl(client.address, zone: zone.zone)
                let name = MailMapKeys.dnsblName(for: client.address, zone: zone.zone) ?? zone.zone
                trace.append(.lookup(MailMapProbe(map: "dnsbl:\(zone.zone)", key: name, outcome: listing.map { .found($0.addresses.joined(separator: " ")) } ?? .notFound)))
                if listing != nil {
                    let reply = SMTPReply(550, .deliveryNotAuthorized, zone.message(for: client.address))
                    return AccessVerdict(.reject(reply), reason: "dnsbl \(zone.zone)", trace: trace)
                }
            }
        } catch {
            return Self.temporaryFailure(error, trace: trace)
        }
        return AccessVerdict(.pass, reason: "no entry", trace: trace)
    }

    /// check_mail: the envelope sender. `From:` entries for the address, its domain and parents,
    /// and `user@`; `<>` for the null sender.
    public func checkSender(_ sender: ReversePath, client: ClientIdentity) async -> AccessVerdict {
        var trace: [RoutingStep] = []
        guard let access = tables.access else { return AccessVerdict(.pass, reason: "no access map") }
        do {
            let keys: [String]
            if let mailbox = sender.mailbox {
                keys = Self.addressKeys(localPart: mailbox.localPart.quoted, domain: mailbox.domain.lookupKey)
            } else {
                keys = ["<>"]
            }
            if let hit = try await accessSearch(access, keys: keys, tag: .from, rejection: "Access denied", trace: &trace) {
                return AccessVerdict(hit.action, reason: hit.reason, trace: trace)
            }
        } catch {
            return Self.temporaryFailure(error, trace: trace)
        }
        return AccessVerdict(.pass, reason: "no entry", trace: trace)
    }

    /// check_rcpt: may this client send to this recipient? The recipient's own entries
    /// (`blacklist_recipients`), AUTH, then the relay decision; with `delay_checks`, the connect
    /// and sender checks last.
    ///
    /// With `delay_checks`, pass the session's ``checkConnect(_:)`` verdict and the transaction's
    /// ``checkSender(_:client:)`` verdict when they are known, so that a message to many
    /// recipients does not repeat them (and their DNS queries) for each RCPT; when they are `nil`
    /// they are made here.
    public func checkRecipient(
        _ recipient: ForwardPath, sender: ReversePath, client: ClientIdentity,
        connectVerdict: AccessVerdict? = nil, senderVerdict: AccessVerdict? = nil
    ) async -> AccessVerdict {
        var trace: [RoutingStep] = []
        do {
            let address = RoutingAddress(recipient)
            // 1. The recipient's own entries.
            if configuration.blacklistRecipients, let access = tables.access, let domain = address.domainKey {
                let keys = Self.addressKeys(localPart: address.localPart, domain: domain)
                if var hit = try await accessSearch(access, keys: keys, tag: .to, rejection: "Mailbox disabled for this recipient", trace: &trace) {
                    if case .reject(let reply) = hit.action, reply.lines == ["Mailbox disabled for this recipient"] {
                        // Sendmail's REJECT for a recipient: 550 5.2.1.
                        hit.action = .reject(SMTPReply(550, EnhancedStatusCode(5, 2, 1)!, "Mailbox disabled for this recipient"))
                    }
                    switch hit.action {
                    case .reject, .discard:
                        return AccessVerdict(hit.action, reason: hit.reason, trace: trace)
                    case .ok, .relay, .pass:
                        break
                    }
                }
            }
            // 2. A client authenticated with a trusted mechanism may relay, and the delayed checks
            //    do not apply to it.
            if let mechanism = client.authenticationMechanism, configuration.trustedMechanisms.contains(mechanism.uppercased()) {
                trace.append(.rule("authenticated with \(mechanism.uppercased()) (TRUST_AUTH_MECH)"))
                return AccessVerdict(.relay, reason: "AUTH \(mechanism.uppercased())", trace: trace)
            }
            // 3. The relay decision.
            let relay = try await relayDecision(address, client: client, trace: &trace)
            if case .reject = relay.action {
                return AccessVerdict(relay.action, reason: relay.reason, trace: trace)
            }
            // 4. delay_checks: what check_relay and check_mail would have refused.
            if configuration.delayChecks {
                let connect: AccessVerdict
                if let connectVerdict { connect = connectVerdict } else { connect = await checkConnect(client) }
                trace += connect.trace
                if case .reject = connect.action { return AccessVerdict(connect.action, reason: connect.reason, trace: trace) }
                if case .discard = connect.action { return AccessVerdict(.discard, reason: connect.reason, trace: trace) }
                let mail: AccessVerdict
                if let senderVerdict { mail = senderVerdict } else { mail = await checkSender(sender, client: client) }
                trace += mail.trace
                if case .reject = mail.action { return AccessVerdict(mail.action, reason: mail.reason, trace: trace) }
                if case .discard = mail.action { return AccessVerdict(.discard, reason: mail.reason, trace: trace) }
            }
            return AccessVerdict(relay.action, reason: relay.reason, trace: trace)
        } catch {
            return Self.temporaryFailure(error, trace: trace)
        }
    }

    /// Whether the recipient may be relayed to: `.ok` for a local or virtual destination,
    /// `.relay` when something allows relaying, or the 550 5.7.1 refusal.
    private func relayDecision(_ address: RoutingAddress, client: ClientIdentity, trace: inout [RoutingStep]) async throws(MailMapError) -> AccessVerdict {
        let denied = AccessVerdict(.reject(.relayingDenied), reason: "relay check")
        // Routing tricks never open the relay: judge the address they really name.
        var destination = address
        if !address.sourceRoute.isEmpty {
            trace.append(.rule("source route @\(address.sourceRoute.joined(separator: ",@")): judged as relaying"))
            return try await clientMayRelay(client, trace: &trace) ?? denied
        }
        if let domain = destination.domainKey, try await isLocalHostName(domain, trace: &trace) {
            if let unwrapped = Self.unwrapLocalRoute(destination.localPart) {
                trace.append(.rule("\(address) names \(unwrapped.address) (\(unwrapped.how)): judged as relaying"))
                destination = unwrapped.address
                guard let inner = destination.domainKey, try await isLocalHostName(inner, trace: &trace),
                      Self.unwrapLocalRoute(destination.localPart) == nil else {
                    return try await clientMayRelay(client, trace: &trace) ?? denied
                }
            }
            return AccessVerdict(.ok, reason: "local domain \(domain)")
        }
        guard let domain = destination.domainKey else {
            return AccessVerdict(.ok, reason: "local user")
        }
        if configuration.virtualDomains.contains(where: { $0.asciiLowercased == domain }) {
            trace.append(.rule("\(domain) is a virtual domain"))
            return AccessVerdict(.ok, reason: "virtual domain \(domain)")
        }
        // Class R and To: RELAY for the domain and its parents.
        if let relayDomains = tables.relayDomains {
            let search = await relayDomains.search(MailMapKeys.domainAndParents(domain))
            trace += search.probes.map(RoutingStep.lookup)
            if let probe = try search.get() {
                return AccessVerdict(.relay, reason: "relay-domains \(probe.key)")
            }
        }
        if let access = tables.access {
            if let hit = try await accessSearch(access, keys: MailMapKeys.domainAndParents(domain), tag: .to, rejection: "Access denied", trace: &trace),
               case .relay = hit.action {
                return AccessVerdict(.relay, reason: hit.reason)
            }
        }
        if let allowed = try await clientMayRelay(client, trace: &trace) {
            return allowed
        }
        if configuration.relayBasedOnMX, let resolver = tables.resolver {
            let answer = try await resolver.mx(domain)
            for record in answer.records {
                let exchange = record.exchange.hasSuffix(".") ? String(record.exchange.dropLast()) : record.exchange
                trace.append(.lookup(MailMapProbe(map: "dns:mx", key: domain, outcome: .found(record.description))))
                if try await isLocalHostName(exchange, trace: &trace) {
                    return AccessVerdict(.relay, reason: "relay_based_on_MX: \(domain) MX \(exchange)")
                }
            }
            if answer.records.isEmpty {
                trace.append(.lookup(MailMapProbe(map: "dns:mx", key: domain, outcome: .notFound)))
            }
        }
        return denied
    }

    /// RELAY for the client: its address or networks, or its host name or parent domains.
    private func clientMayRelay(_ client: ClientIdentity, trace: inout [RoutingStep]) async throws(MailMapError) -> AccessVerdict? {
        guard let verdict = try await clientEntry(client, tag: .connect, trace: &trace), case .relay = verdict.action else { return nil }
        return verdict
    }

    /// The client's access entry: host name and parents first, then address and networks, each
    /// key tagged then untagged.
    private func clientEntry(_ client: ClientIdentity, tag: MailMapTag, trace: inout [RoutingStep]) async throws(MailMapError) -> AccessVerdict? {
        guard let access = tables.access else { return nil }
        if let name = client.hostName,
           let hit = try await accessSearch(access, keys: MailMapKeys.domainAndParents(name.asciiLowercased), tag: tag, rejection: "Access denied", trace: &trace) {
            return hit
        }
        return try await accessSearch(access, keys: MailMapKeys.addressAndNetworks(client.address), tag: tag, rejection: "Access denied", trace: &trace)
    }

    /// Searches the access map for `keys`, each tagged then untagged; the first entry that is a
    /// verdict decides (`SKIP` ends the search without one).
    private func accessSearch(_ access: any MailMap, keys: [String], tag: MailMapTag, rejection: String, trace: inout [RoutingStep]) async throws(MailMapError) -> AccessVerdict? {
        var remaining = tag.keys(keys, includingUntagged: true)[...]
        while !remaining.isEmpty {
            let search = await access.search(Array(remaining))
            trace += search.probes.map(RoutingStep.lookup)
            guard let probe = try search.get(), let value = probe.value else { return nil }
            if value.trimmingSpaces.uppercased() == "SKIP" {
                trace.append(.rule("SKIP: no decision from \(probe.key)"))
                return nil
            }
            if let action = AccessVerdict.parse(value, rejectionText: rejection) {
                return AccessVerdict(action, reason: "access \(probe.key) \(value)")
            }
            // Not a verdict (another tag's value): go on after this key.
            guard let index = remaining.firstIndex(of: probe.key) else { return nil }
            remaining = remaining[(index + 1)...]
        }
        return nil
    }

    /// The keys Sendmail's access map checks for an address: `user@domain`, the domain and its
    /// parents, then `user@`.
    static func addressKeys(localPart: String, domain: String) -> [String] {
        ["\(localPart)@\(domain)"] + MailMapKeys.domainAndParents(domain) + ["\(localPart)@"]
    }

    static func temporaryFailure(_ error: MailMapError, trace: [RoutingStep]) -> AccessVerdict {
        AccessVerdict(.reject(SMTPReply(451, .temporarySystemError, "Temporary lookup failure")), reason: "table failure: \(error.message)", trace: trace + [.rule("table failure: \(error.message)")])
    }
}

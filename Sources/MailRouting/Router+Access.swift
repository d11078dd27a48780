import MailMaps
public import SMTPProtocol

/// The access checks, as Sendmail 8.17's rulesets make them over the access map, class R, AUTH,
/// relay_based_on_MX and DNS block lists: check_relay (connect), check_mail (MAIL) and
/// check_rcpt (RCPT, with its Rcpt_ok and Relay_ok parts).
///
/// Keys are searched most specific first, each tagged then untagged (`Connect:206.10.252.103`,
/// `206.10.252.103`, `Connect:206.10.252`, …), as the access_db feature does. The whole answers
/// an SMTP session sends are ``answerMail(_:session:)`` and
/// ``answerRecipient(_:sender:mail:session:)``; the checks here are their parts.
extension Router {
    // MARK: - check_relay

    /// check_relay: the client at connect time — `Connect:` entries for its host name and parent
    /// domains, then for its address and networks, then the DNS block lists. Without
    /// `delay_checks` a refusal here refuses every MAIL of the session; with it, it waits for RCPT.
    public func checkConnect(_ client: ClientIdentity) async -> AccessVerdict {
        var trace: [RoutingStep] = []
        do {
            if let verdict = try await clientEntry(client, trace: &trace) {
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

    // MARK: - check_mail

    /// check_mail: the envelope sender, as Sendmail's Basic_check_mail judges it.
    ///
    /// 1. The null sender is always taken (RFC 5321 §4.5.5).
    /// 2. A sender at `localhost`, `[127.0.0.1]`, `[IPv6:::1]` or `localhost.` + this host's domain
    ///    from a client whose name is not this host's: 553 5.5.4.
    /// 3. The sender's domain must resolve (A, AAAA or MX) through the configured resolver, unless
    ///    `accept_unresolvable_domains`: 553 5.1.8 when it does not exist, 451 4.1.8 when DNS fails.
    /// 4. `From:` entries: `user+detail@domain`, `user+*@domain`, `user@domain`, then `user+detail@`,
    ///    `user+*@`, `user@`, then the domain and its parents; an entry overrides step 3.
    /// 5. A sender without a domain from a remote client: 553 5.5.4, unless
    ///    `accept_unqualified_senders` or an entry.
    ///
    /// `sender` is `nil` for the null sender; `client` is `nil` for a local submission.
    public func checkSender(_ sender: RoutingAddress?, client: ClientIdentity?) async -> AccessVerdict {
        var trace: [RoutingStep] = []
        guard let sender else {
            trace.append(.rule("the null sender is always accepted (RFC 5321 §4.5.5)"))
            return AccessVerdict(.pass, reason: "null sender", trace: trace)
        }
        let given = sender.description + (sender.domainIsAbsolute ? "." : "")
        do {
            var address = sender
            address.domainIsAbsolute = false
            // 2. localhost forms need a local client.
            if let domain = address.domainKey, isLocalhostForm(domain) {
                if let client {
                    var local = false
                    if client.nameResolution == .confirmed, let name = client.hostName {
                        local = try await isLocalHostName(name, trace: &trace)
                    }
                    guard local else {
                        trace.append(.rule("\(domain) as the sender's domain needs a client of this host; \(client.hostName ?? "[\(client.address)]") is not one"))
                        return AccessVerdict(.reject(SMTPReply(553, .invalidArguments, "Real domain name required for sender address")), reason: "check_mail localhost", trace: trace)
                    }
                }
                address.domain = hostnameDomain ?? address.domain
            } else if case .ipv4? = address.domain?.kind, try await isLocalHostName(address.domainKey ?? "", trace: &trace) {
                address.domain = hostnameDomain ?? address.domain
            }
            // 3. The domain resolves.
            enum Resolution { case unknown, ok, temporary, permanent }
            var resolution = Resolution.unknown
            if let domain = address.domainKey {
                if domain == configuration.hostname.asciiLowercased {
                    resolution = .ok
                } else if configuration.acceptUnresolvableDomains {
                    trace.append(.rule("accept_unresolvable_domains: \(domain) is not resolved"))
                } else if let resolver = tables.resolver {
                    switch await Self.resolve(address.domain!, resolver: resolver, trace: &trace) {
                    case .some(true): resolution = .ok
                    case .some(false): resolution = .permanent
                    case .none: resolution = .temporary
                    }
                }
            }
            // 4. From: entries.
            if let access = tables.access {
                let keys: [String]
                if let domain = address.domainKey {
                    keys = Self.fullKeys(address.localPart, domain: domain) + Self.userKeys(address.localPart) + MailMapKeys.domainAndParents(domain)
                } else {
                    keys = Self.userKeys(address.localPart)
                }
                if let hit = try await accessSearch(access, keys: keys, tag: .from, trace: &trace) {
                    switch hit.action {
                    case .ok, .relay, .discard, .reject:
                        return AccessVerdict(hit.action, reason: hit.reason, trace: trace)
                    case .pass:
                        break
                    }
                }
            }
            // 5. Unqualified senders.
            if address.domain == nil {
                if client != nil, !configuration.acceptUnqualifiedSenders {
                    return AccessVerdict(.reject(SMTPReply(553, .invalidArguments, "Domain name required for sender address \(given)")), reason: "check_mail unqualified", trace: trace)
                }
                return AccessVerdict(.pass, reason: client == nil ? "local submission" : "accept_unqualified_senders", trace: trace)
            }
            switch resolution {
            case .temporary:
                return AccessVerdict(.reject(SMTPReply(451, EnhancedStatusCode(4, 1, 8)!, "Domain of sender address \(given) does not resolve")), reason: "check_mail resolve", trace: trace)
            case .permanent:
                return AccessVerdict(.reject(SMTPReply(553, EnhancedStatusCode(5, 1, 8)!, "Domain of sender address \(given) does not exist")), reason: "check_mail resolve", trace: trace)
            case .ok, .unknown:
                return AccessVerdict(.pass, reason: "no entry", trace: trace)
            }
        } catch {
            return Self.temporaryFailure(error, trace: trace)
        }
    }

    /// check_mail for an SMTP sender (``ReversePath``).
    public func checkSender(_ sender: ReversePath, client: ClientIdentity?) async -> AccessVerdict {
        await checkSender(sender.mailbox.map { RoutingAddress($0) }, client: client)
    }

    /// This host's name (`$j`) as a domain.
    var hostnameDomain: MailboxDomain? { try? MailboxDomain.name(configuration.hostname) }

    /// Whether a domain names this host the way check_mail refuses from outside: `localhost`,
    /// `localhost.` + this host's domain, `localhost.UUCP`, `[127.0.0.1]`, `[IPv6:::1]`.
    func isLocalhostForm(_ domain: String) -> Bool {
        var forms = ["localhost", "localhost.uucp", "[127.0.0.1]", "[ipv6:::1]", "[ipv6:0:0:0:0:0:0:0:1]"]
        if let dot = configuration.hostname.firstIndex(of: ".") {
            forms.append(("localhost" + configuration.hostname[dot...]).asciiLowercased)
        }
        return forms.contains(domain.asciiLowercased)
    }

    /// Sendmail's `resolve` map (the host map with `-a<OKR> -T<TEMP>`): `true` when the name
    /// has an A, AAAA or MX record (for an address literal: when its reverse name exists),
    /// `false` when it has none, `nil` when DNS failed.
    static func resolve(_ domain: MailboxDomain, resolver: DNSResolver, trace: inout [RoutingStep]) async -> Bool? {
        do {
            switch domain.kind {
            case .ipv4(let address):
                guard let name = MailMapKeys.dnsblName(for: address, zone: "in-addr.arpa") else { return false }
                let answer = try await resolver.ipv4Addresses(name)
                trace.append(.lookup(MailMapProbe(map: "dns:reverse", key: name, outcome: answer.nameExists ? .found("exists") : .notFound)))
                return answer.nameExists
            case .ipv6(let address):
                guard let name = MailMapKeys.dnsblName(for: address, zone: "ip6.arpa") else { return false }
                let answer = try await resolver.ipv4Addresses(name)
                trace.append(.lookup(MailMapProbe(map: "dns:reverse", key: name, outcome: answer.nameExists ? .found("exists") : .notFound)))
                return answer.nameExists
            case .general:
                return false
            case .name:
                let name = domain.lookupKey
                let a = try await resolver.ipv4Addresses(name)
                if let first = a.records.first {
                    trace.append(.lookup(MailMapProbe(map: "dns:a", key: name, outcome: .found(first))))
                    return true
                }
                let aaaa = try await resolver.ipv6Addresses(name)
                if let first = aaaa.records.first {
                    trace.append(.lookup(MailMapProbe(map: "dns:aaaa", key: name, outcome: .found(first))))
                    return true
                }
                let mx = try await resolver.mx(name)
                if let first = mx.records.first {
                    trace.append(.lookup(MailMapProbe(map: "dns:mx", key: name, outcome: .found(first.description))))
                    return true
                }
                trace.append(.lookup(MailMapProbe(map: "dns:a/aaaa/mx", key: name, outcome: .notFound)))
                return false
            }
        } catch {
            trace.append(.rule("DNS failed: \(error.message)"))
            return nil
        }
    }

    // MARK: - check_rcpt

    /// check_rcpt: may this client send to this recipient? Sendmail's Basic_check_rcpt — the
    /// recipient's own `To:` entries (`blacklist_recipients`), AUTH, and whether the recipient
    /// is local or relayable (Rcpt_ok), then whether the client may relay (Relay_ok) — and with
    /// `delay_checks` the sender's and the client's checks after it.
    ///
    /// This is the access part of the RCPT answer only; ``answerRecipient(_:sender:mail:session:)``
    /// adds the recipient's routing and the local-user check.
    ///
    /// - Parameters:
    ///   - connectVerdict: with `delay_checks`, the session's ``checkConnect(_:)`` verdict when
    ///     known (it is made here when `nil`).
    ///   - senderVerdict: with `delay_checks`, the sender's ``checkSender(_:client:)-(RoutingAddress?,_)``
    ///     verdict when known.
    public func checkRecipient(
        _ recipient: RoutingAddress, sender: RoutingAddress?, client: ClientIdentity?,
        connectVerdict: AccessVerdict? = nil, senderVerdict: AccessVerdict? = nil
    ) async -> AccessVerdict {
        var trace: [RoutingStep] = []
        do {
            let parsed = try await parseRecipient(recipient, trace: &trace)
            if parsed.description != recipient.description {
                trace.append(.rule("the relay check judges \(parsed)"))
            }
            // Rcpt_ok.
            let rcpt = try await recipientOK(parsed, client: client, trace: &trace)
            var temporary: AccessVerdict?
            switch rcpt.action {
            case .reject(let reply) where reply.code / 100 == 4 && rcpt.reason == "Rcpt_ok TEMP":
                temporary = rcpt
            case .reject, .discard:
                return AccessVerdict(rcpt.action, reason: rcpt.reason, trace: trace)
            case .relay where rcpt.reason.hasPrefix("AUTH"):
                // $# RELAY: a trusted authentication skips the delayed checks.
                return AccessVerdict(.relay, reason: rcpt.reason, trace: trace)
            case .relay, .ok, .pass:
                break
            }
            var decided = rcpt
            if temporary != nil || rcpt.action == .pass {
                // Relay_ok.
                let relay = try await relayOK(client, trace: &trace)
                switch relay.action {
                case .relay:
                    decided = relay
                case .reject:
                    return AccessVerdict(relay.action, reason: relay.reason, trace: trace)
                case .ok, .pass, .discard:
                    if let temporary { return AccessVerdict(temporary.action, reason: temporary.reason, trace: trace) }
                    let text = configuration.trustedMechanisms.isEmpty ? "Relaying denied" : "Relaying denied. Proper authentication required."
                    return AccessVerdict(.reject(SMTPReply(550, .deliveryNotAuthorized, text)), reason: "relay check", trace: trace)
                }
            }
            // delay_checks: check_mail, then check_relay.
            if configuration.delayChecks {
                let mail: AccessVerdict
                if let senderVerdict { mail = senderVerdict } else { mail = await checkSender(sender.map(delayedSender), client: client) }
                trace += mail.trace
                switch mail.action {
                case .reject, .discard, .ok, .relay:
                    return AccessVerdict(mail.action == .relay ? .ok : mail.action, reason: mail.reason, trace: trace)
                case .pass:
                    break
                }
                if let client {
                    let connect: AccessVerdict
                    if let connectVerdict { connect = connectVerdict } else { connect = await checkConnect(client) }
                    trace += connect.trace
                    switch connect.action {
                    case .reject, .discard:
                        return AccessVerdict(connect.action, reason: connect.reason, trace: trace)
                    case .ok, .relay, .pass:
                        break
                    }
                }
            }
            return AccessVerdict(decided.action == .pass ? .relay : decided.action, reason: decided.reason, trace: trace)
        } catch {
            return Self.temporaryFailure(error, trace: trace)
        }
    }

    /// check_rcpt for an SMTP recipient and sender.
    public func checkRecipient(
        _ recipient: ForwardPath, sender: ReversePath, client: ClientIdentity?,
        connectVerdict: AccessVerdict? = nil, senderVerdict: AccessVerdict? = nil
    ) async -> AccessVerdict {
        await checkRecipient(RoutingAddress(recipient), sender: sender.mailbox.map { RoutingAddress($0) }, client: client,
                             connectVerdict: connectVerdict, senderVerdict: senderVerdict)
    }

    /// With `delay_checks`, check_mail sees the sender as Sendmail has rewritten it (`$f`):
    /// `localhost` and this host's address literals are this host's name.
    func delayedSender(_ sender: RoutingAddress) -> RoutingAddress {
        guard let domain = sender.domainKey, isLocalhostForm(domain) else { return sender }
        var result = sender
        result.domain = hostnameDomain ?? result.domain
        return result
    }

    /// Sendmail's ParseRecipient: the address as canonify and Parse0 leave it (this host's routing
    /// forms unwrapped, quotes off a one-word local part), and a local part that still names
    /// another host (`user%host@relayed.example`) judged in its place when the domain is one this
    /// host relays for (class R, a `To:` RELAY entry, relay_based_on_MX).
    func parseRecipient(_ address: RoutingAddress, trace: inout [RoutingStep]) async throws(MailMapError) -> RoutingAddress {
        var current = try await canonicalAddress(address, trace: &trace)
        for _ in 0...max(0, configuration.maximumRewriting) {
            guard let domain = current.domainKey, let inner = Self.canonify(current.unquotedLocalPart) else { return current }
            var relayed = try await isRelayDomain(domain, trace: &trace)
            if !relayed, let access = tables.access {
                if let hit = try await accessSearch(access, keys: MailMapKeys.domainAndParents(domain), tag: .to, trace: &trace) {
                    guard case .relay = hit.action else { return current }
                    relayed = true
                }
            }
            if !relayed { relayed = try await isServedByMX(domain, trace: &trace) }
            guard relayed else { return current }
            trace.append(.rule("\(domain) is relayed for: \(current.localPart) is judged as \(inner.address)"))
            current = try await canonicalAddress(inner.address, trace: &trace)
        }
        return current
    }

    /// canonify and Parse0: this host's names unwrap a local part that names another address, and
    /// lose the quotes of a one-word local part; a name without a domain likewise. The trailing dot
    /// and any source route go.
    func canonicalAddress(_ address: RoutingAddress, trace: inout [RoutingStep]) async throws(MailMapError) -> RoutingAddress {
        var current = address
        current.sourceRoute = []
        current.domainIsAbsolute = false
        for _ in 0...max(0, configuration.maximumRewriting) {
            if let domain = current.domainKey {
                guard try await isLocalHostName(domain, trace: &trace) else { return current }
            }
            let user = current.unquotedLocalPart
            if let inner = Self.canonify(user) {
                current = inner.address
                continue
            }
            current.localPart = user
            return current
        }
        return current
    }

    /// Class R: relay-domains and the virtual-user domains, each with its subdomains.
    func isRelayDomain(_ domain: String, trace: inout [RoutingStep]) async throws(MailMapError) -> Bool {
        let keys = MailMapKeys.domainAndParents(domain)
        if let virtual = keys.first(where: { key in configuration.virtualDomains.contains { $0.asciiLowercased == key } }) {
            trace.append(.rule("\(domain) is in class R (VIRTUSER_DOMAIN \(virtual))"))
            return true
        }
        guard let relayDomains = tables.relayDomains else { return false }
        let search = await relayDomains.search(keys)
        trace += search.probes.map(RoutingStep.lookup)
        return try search.get() != nil
    }

    /// relay_based_on_MX: whether one of the domain's MX hosts is this host.
    private func isServedByMX(_ domain: String, trace: inout [RoutingStep]) async throws(MailMapError) -> Bool {
        // No DNS for address literals and UUCP host names (Sendmail asks none for them either).
        guard configuration.relayBasedOnMX, let resolver = tables.resolver, !domain.hasPrefix("["), !Self.isUUCP(domain) else { return false }
        let answer = try await resolver.mx(domain)
        for record in answer.records {
            let exchange = record.exchange.hasSuffix(".") ? String(record.exchange.dropLast()) : record.exchange
            trace.append(.lookup(MailMapProbe(map: "dns:mx", key: domain, outcome: .found(record.description))))
            if try await isLocalHostName(exchange, trace: &trace) {
                trace.append(.rule("relay_based_on_MX: \(domain) MX \(exchange)"))
                return true
            }
        }
        if answer.records.isEmpty {
            trace.append(.lookup(MailMapProbe(map: "dns:mx", key: domain, outcome: .notFound)))
        }
        return false
    }

    /// Sendmail's Rcpt_ok: `.reject` or `.discard` from the recipient's own entries, `.relay`
    /// for a trusted AUTH (reason `AUTH …`) or a destination this host takes mail for, `.pass`
    /// when the client must be judged (Relay_ok).
    private func recipientOK(_ address: RoutingAddress, client: ClientIdentity?, trace: inout [RoutingStep]) async throws(MailMapError) -> AccessVerdict {
        let domain = address.domainKey
        let isLocal: Bool
        if let domain { isLocal = try await isLocalHostName(domain, trace: &trace) } else { isLocal = true }
        // The recipient's own entries: user@domain forms, then user@ (for this host's names and
        // bare local names only), then the domain and its parents.
        if configuration.blacklistRecipients, let access = tables.access {
            var keys: [String] = []
            if let domain { keys += Self.fullKeys(address.localPart, domain: domain) }
            if isLocal { keys += Self.userKeys(address.localPart) }
            if let domain { keys += MailMapKeys.domainAndParents(domain) }
            if let hit = try await accessSearch(access, keys: keys, tag: .to, rejection: Self.mailboxDisabled, trace: &trace) {
                switch hit.action {
                case .reject, .discard:
                    return hit
                case .ok, .relay, .pass:
                    trace.append(.rule("\(hit.reason): no refusal for this recipient"))
                }
            }
        }
        if let client, let mechanism = client.authenticationMechanism, configuration.trustedMechanisms.contains(mechanism.uppercased()) {
            trace.append(.rule("authenticated with \(mechanism.uppercased()) (TRUST_AUTH_MECH)"))
            return AccessVerdict(.relay, reason: "AUTH \(mechanism.uppercased())")
        }
        guard let domain else { return AccessVerdict(.ok, reason: "local user") }
        if isLocal { return AccessVerdict(.ok, reason: "local domain \(domain)") }
        if configuration.virtualDomains.contains(where: { $0.asciiLowercased == domain }) {
            return AccessVerdict(.ok, reason: "virtual domain \(domain)")
        }
        if try await isRelayDomain(domain, trace: &trace) { return AccessVerdict(.relay, reason: "class R \(domain)") }
        if let access = tables.access,
           let hit = try await accessSearch(access, keys: MailMapKeys.domainAndParents(domain), tag: .to, trace: &trace),
           case .relay = hit.action {
            return AccessVerdict(.relay, reason: hit.reason)
        }
        do {
            if try await isServedByMX(domain, trace: &trace) { return AccessVerdict(.relay, reason: "relay_based_on_MX \(domain)") }
        } catch {
            trace.append(.rule("MX lookup failed: \(error.message)"))
            return AccessVerdict(.reject(SMTPReply(450, EnhancedStatusCode(4, 4, 0)!, "Can not check MX records for recipient host \(domain)")), reason: "Rcpt_ok TEMP")
        }
        return AccessVerdict(.pass, reason: "not local")
    }

    /// Sendmail's Relay_ok: `.relay` when the client may relay, `.reject` when its name could not
    /// be trusted, `.pass` otherwise.
    ///
    /// A local submission (no client) may relay. Loopback clients are not trusted by their address
    /// or name, as Sendmail trusts them: an access entry `Connect:127.0.0.1 RELAY` does it.
    private func relayOK(_ client: ClientIdentity?, trace: inout [RoutingStep]) async throws(MailMapError) -> AccessVerdict {
        guard let client else {
            trace.append(.rule("a local submission may relay"))
            return AccessVerdict(.relay, reason: "local submission")
        }
        // Sendmail's Relay_ok trusts 127.0.0.1 and ::1, and any client whose address or name is
        // this host's; SwiftMTA does not, for a loopback client: a proxy or a local program on
        // this host would relay for anyone. Only an access entry or class R trusts it.
        let loopback = IPAddressText(client.address)?.isLoopback == true
        if loopback, let parsed = IPAddressText(client.address) {
            trace.append(.rule("loopback client \(client.address) is not trusted to relay by its address or name (Sendmail trusts it; the access entry Connect:\(parsed.accessKey) RELAY would)"))
        }
        let networks = MailMapKeys.addressAndNetworks(client.address)
        if let relayDomains = tables.relayDomains {
            let search = await relayDomains.search(networks)
            trace += search.probes.map(RoutingStep.lookup)
            if let probe = try search.get() { return AccessVerdict(.relay, reason: "relay-domains \(probe.key)") }
        }
        if let access = tables.access,
           let hit = try await accessSearch(access, keys: networks, tag: .connect, trace: &trace), case .relay = hit.action {
            return hit
        }
        let literal = "[\(client.address)]"
        if !loopback, try await isLocalHostName(literal, trace: &trace) { return AccessVerdict(.relay, reason: "\(literal) is this host") }
        let shown = "[\(Self.sendmailAddress(client.address))]"
        switch client.nameResolution {
        case .temporaryFailure:
            return AccessVerdict(.reject(SMTPReply(450, EnhancedStatusCode(4, 4, 0)!, "Relaying temporarily denied. Cannot resolve PTR record for \(Self.sendmailAddress(client.address))")), reason: "client name TEMP")
        case .forged:
            return AccessVerdict(.reject(SMTPReply(550, .deliveryNotAuthorized, "Relaying denied. IP name possibly forged \(shown)")), reason: "client name FORGED")
        case .failed:
            return AccessVerdict(.reject(SMTPReply(550, .deliveryNotAuthorized, "Relaying denied. IP name lookup failed \(shown)")), reason: "client name FAIL")
        case .confirmed:
            break
        }
        guard let name = client.hostName?.asciiLowercased else { return AccessVerdict(.pass, reason: "no client name") }
        let host = name.hasSuffix(".") ? String(name.dropLast()) : name
        if !loopback, try await isLocalHostName(host, trace: &trace) { return AccessVerdict(.relay, reason: "client \(host) is in class w") }
        // A loopback client's name (`localhost` from the host table) no more lets it relay than
        // its address does.
        guard !loopback else { return AccessVerdict(.pass, reason: "client may not relay") }
        if try await isRelayDomain(host, trace: &trace) { return AccessVerdict(.relay, reason: "client \(host) is in class R") }
        if let access = tables.access,
           let hit = try await accessSearch(access, keys: MailMapKeys.domainAndParents(host), tag: .connect, trace: &trace), case .relay = hit.action {
            return hit
        }
        return AccessVerdict(.pass, reason: "client may not relay")
    }

    /// The client's access entry: host name and parents first, then address and networks, each
    /// key tagged then untagged (Sendmail's check_relay).
    private func clientEntry(_ client: ClientIdentity, trace: inout [RoutingStep]) async throws(MailMapError) -> AccessVerdict? {
        guard let access = tables.access else { return nil }
        if let name = client.hostName,
           let hit = try await accessSearch(access, keys: MailMapKeys.domainAndParents(name.asciiLowercased), tag: .connect, trace: &trace) {
            return hit
        }
        return try await accessSearch(access, keys: MailMapKeys.addressAndNetworks(client.address), tag: .connect, trace: &trace)
    }

    static let mailboxDisabled = SMTPReply(550, EnhancedStatusCode(5, 2, 1)!, "Mailbox disabled for this recipient")

    /// Searches the access map for `keys`, each tagged then untagged; the first entry that is a
    /// verdict decides (`SKIP` ends the search without one). `REJECT` refuses with `rejection`.
    private func accessSearch(
        _ access: any MailMap, keys: [String], tag: MailMapTag,
        rejection: SMTPReply = SMTPReply(550, .deliveryNotAuthorized, "Access denied"), trace: inout [RoutingStep]
    ) async throws(MailMapError) -> AccessVerdict? {
        var remaining = tag.keys(keys, includingUntagged: true)[...]
        while !remaining.isEmpty {
            let search = await access.search(Array(remaining))
            trace += search.probes.map(RoutingStep.lookup)
            guard let probe = try search.get(), let value = probe.value else { return nil }
            if value.trimmingSpaces.uppercased() == "SKIP" {
                trace.append(.rule("SKIP: no decision from \(probe.key)"))
                return nil
            }
            if let action = AccessVerdict.parse(value, rejection: rejection) {
                return AccessVerdict(action, reason: "access \(probe.key) \(value)")
            }
            // Not a verdict (another tag's value): go on after this key.
            guard let index = remaining.firstIndex(of: probe.key) else { return nil }
            remaining = remaining[(index + 1)...]
        }
        return nil
    }

    /// Sendmail's LookUpFull keys: `user+detail@domain`, `user+*@domain`, `user@domain`.
    static func fullKeys(_ localPart: String, domain: String) -> [String] {
        let address = RoutingAddress(localPart: localPart, domain: nil)
        guard address.plusDetail.detail != nil else { return ["\(localPart)@\(domain)"] }
        let user = address.plusDetail.user
        return ["\(localPart)@\(domain)", "\(user)+*@\(domain)", "\(user)@\(domain)"]
    }

    /// Sendmail's LookUpUser keys: `user+detail@`, `user+*@`, `user@`.
    static func userKeys(_ localPart: String) -> [String] {
        let address = RoutingAddress(localPart: localPart, domain: nil)
        guard address.plusDetail.detail != nil else { return ["\(localPart)@"] }
        let user = address.plusDetail.user
        return ["\(localPart)@", "\(user)+*@", "\(user)@"]
    }

    /// An address as Sendmail's `${client_addr}` writes it: IPv4 as it is, IPv6 in full with its
    /// `IPv6:` tag (`IPv6:2001:db8:0:0:0:0:0:5`).
    static func sendmailAddress(_ address: String) -> String {
        let keys = MailMapKeys.addressAndNetworks(address)
        guard let first = keys.first, first.hasPrefix("IPv6:") else { return address }
        return keys.first { $0.split(separator: ":", omittingEmptySubsequences: false).count == 9 } ?? first
    }

    static func temporaryFailure(_ error: MailMapError, trace: [RoutingStep]) -> AccessVerdict {
        AccessVerdict(.reject(SMTPReply(451, .temporarySystemError, "Temporary system failure. Please try again later.")),
                      reason: "table failure: \(error.message)", trace: trace + [.rule("table failure: \(error.message)")])
    }
}

/// An IP address as text, for the loopback rule.
struct IPAddressText {
    let keys: [String]

    init?(_ text: String) {
        let keys = MailMapKeys.addressAndNetworks(text)
        guard keys.count > 1 else { return nil }
        self.keys = keys
    }

    /// 127.0.0.0/8 and ::1.
    var isLoopback: Bool {
        keys.last == "127" || keys.first == "IPv6:::1"
    }

    /// The key an access entry for this address is written with.
    var accessKey: String { keys[0] }
}

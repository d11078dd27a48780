import Logging
import MailAuth
import MailMaps
import MailRouting
import SMTPClient
import SMTPProtocol

/// Turns MailRouting's decision for a recipient into a ``DeliveryTarget``: the SMTPClient
/// destination (MX, smart host, mailertable host, LMTP socket), its TLS policy (the policy map,
/// raised when credentials go along) and its credentials (the authinfo map); a local user's
/// mailbox, following aliases(5); discard and error mailers.
///
/// Its lookups read maps: run it on the maps' thread pool, one job per message.
struct DeliveryPlanner: Sendable {
    let router: Router
    let tlsPolicies: (any MailMap)?
    let logger: Logger

    /// How deep aliases may expand into aliases.
    static let maximumAliasDepth = 10

    /// The targets of every recipient, in order (an alias gives several).
    func targets(for recipients: [ForwardPath]) async -> [[DeliveryTarget]] {
        var result: [[DeliveryTarget]] = []
        var destinations: [String: (SMTPDestination, String)] = [:]
        for path in recipients {
            let address: String
            switch path.recipient {
            case .mailbox(let mailbox): address = mailbox.quoted
            case .postmaster: address = "postmaster"
            }
            result.append(await targets(for: RoutingAddress(path), original: address, depth: 0, seen: [], destinations: &destinations))
        }
        return result
    }

    /// `original` is the address as the recipient was given, for `Delivered-To:`.
    /// The targets of recipients whose routing was decided already (at RCPT).
    func targets(for recipients: [ForwardPath], decided: [RoutingDecision?]) async -> [[DeliveryTarget]] {
        var result: [[DeliveryTarget]] = []
        var destinations: [String: (SMTPDestination, String)] = [:]
        for (path, decision) in zip(recipients, decided) {
            let address: String
            switch path.recipient {
            case .mailbox(let mailbox): address = mailbox.quoted
            case .postmaster: address = "postmaster"
            }
            result.append(await targets(for: RoutingAddress(path), original: address, depth: 0, seen: [], destinations: &destinations, decision: decision))
        }
        return result
    }

    private func targets(
        for address: RoutingAddress, original: String, depth: Int, seen: Set<String>, destinations: inout [String: (SMTPDestination, String)],
        decision known: RoutingDecision? = nil
    ) async -> [DeliveryTarget] {
        let decision: RoutingDecision
        if let known { decision = known } else { decision = await router.route(address) }
        switch decision.outcome {
        case .refuse(let error, _):
            return [.fail(error.reply)]
        case .deliver(let delivery):
            switch delivery.definition.transport {
            case .local:
                return await local(delivery, original: original, depth: depth, seen: seen, destinations: &destinations)
            case .discard:
                return [.discard(mailer: delivery.mailer.name)]
            case .error:
                return [.fail(SMTPReply(550, EnhancedStatusCode(5, 0, 0)!, "\(delivery.user)"))]
            case .esmtp, .smtp, .lmtp:
                return [await network(delivery, destinations: &destinations)]
            }
        }
    }

    // MARK: - Local

    private func local(
        _ delivery: RoutingDecision.Delivery, original: String, depth: Int, seen: Set<String>,
        destinations: inout [String: (SMTPDestination, String)]
    ) async -> [DeliveryTarget] {
        let user = delivery.user
        guard let expansion = delivery.aliasExpansion, !seen.contains(user) else {
            return [mailbox(user, address: original)]
        }
        guard depth < Self.maximumAliasDepth else {
            return [.fail(SMTPReply(554, EnhancedStatusCode(5, 4, 6)!, "aliases nest more than \(Self.maximumAliasDepth) deep at \(user)"))]
        }
        var seen = seen
        seen.insert(user)
        var targets: [DeliveryTarget] = []
        for target in expansion {
            if target.hasPrefix("\\") {
                // `\user`: the mailbox itself, without expanding again (aliases(5)).
                let name = String(target.dropFirst()).asciiLowercasedForMailbox
                targets.append(mailbox(name, address: "\(name)@\(router.configuration.hostname)"))
                continue
            }
            if target.hasPrefix("|") || target.hasPrefix("/") || target.lowercased().hasPrefix(":include:") {
                targets.append(.fail(SMTPReply(550, EnhancedStatusCode(5, 3, 5)!, "alias \(user): \(target.prefix(1) == "|" ? "delivery to programs" : target.hasPrefix("/") ? "delivery to files" : ":include: lists") is not supported")))
                continue
            }
            let parsed: RoutingAddress
            do {
                parsed = try RoutingAddress(parsing: target)
            } catch {
                targets.append(.fail(SMTPReply(550, EnhancedStatusCode(5, 1, 3)!, "alias \(user): \(target): \(error.reply.lines.joined(separator: " "))")))
                continue
            }
            if parsed.domain == nil, parsed.unquotedLocalPart.asciiLowercasedForMailbox == user {
                targets.append(mailbox(user, address: "\(user)@\(router.configuration.hostname)"))
                continue
            }
            let targetAddress = parsed.domain == nil ? "\(parsed.unquotedLocalPart)@\(router.configuration.hostname)" : parsed.description
            targets += await self.targets(for: parsed, original: targetAddress, depth: depth + 1, seen: seen, destinations: &destinations)
        }
        return targets
    }

    /// The mailbox of `user` (its `+detail` dropped), or a failure when the name cannot be a file name.
    private func mailbox(_ user: String, address: String) -> DeliveryTarget {
        let plain = RoutingAddress(localPart: user, domain: nil).plusDetail.user
        let name = RoutingAddress(localPart: plain, domain: nil).unquotedLocalPart
        guard Self.isMailboxName(name) else {
            return .fail(SMTPReply(550, EnhancedStatusCode(5, 1, 3)!, "\(user) cannot name a local mailbox"))
        }
        return .local(user: name, address: address)
    }

    /// A user name that is safe as a file name: not empty, no `/`, no NUL or control character,
    /// not starting with a dot, at most 255 octets.
    static func isMailboxName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 255 && !name.hasPrefix(".")
            && !name.unicodeScalars.contains { $0 == "/" || $0.value < 0x20 || $0.value == 0x7F }
    }

    // MARK: - Network

    private func network(_ delivery: RoutingDecision.Delivery, destinations: inout [String: (SMTPDestination, String)]) async -> DeliveryTarget {
        guard let host = delivery.host else {
            return .fail(SMTPReply(451, EnhancedStatusCode(4, 3, 5)!, "mailer \(delivery.mailer) has no host"))
        }
        let path: ForwardPath
        do {
            path = ForwardPath(mailbox: try Mailbox(parsing: delivery.user))
        } catch {
            return .fail(SMTPReply(553, .badDestinationSyntax, "\(delivery.user): not an address the \(delivery.mailer) mailer can send to"))
        }
        let isLMTP = delivery.definition.transport == .lmtp
        var port = delivery.definition.port ?? (isLMTP ? 24 : 25)
        var target: SMTPDestination.Target
        var nextHop: String
        switch host {
        case .mx(let name):
            if isLMTP, name.hasPrefix("unix:") || name.hasPrefix("/") {
                let socket = name.hasPrefix("unix:") ? String(name.dropFirst(5)) : name
                target = .unixSocket(path: socket)
                nextHop = "unix:" + socket
            } else if let (inner, explicitPort) = Self.bracketedWithPort(name) {
                // `[host]:port` (as Postfix's transport maps write it): no MX, that port.
                target = SMTPDestination.Target(parsing: "[\(inner)]")
                port = explicitPort
                nextHop = inner
            } else {
                let bare = name.hasSuffix(".") ? String(name.dropLast()) : name
                target = isLMTP ? .host(bare) : .mailExchangers(domain: bare)
                nextHop = bare
            }
        case .direct(let name):
            target = .host(name)
            nextHop = name
        case .literal(let address):
            let bare = address.lowercased().hasPrefix("ipv6:") ? String(address.dropFirst(5)) : address
            target = .address(bare)
            nextHop = bare
        }
        let key = "\(isLMTP ? "lmtp" : "smtp")|\(target)|\(port)"
        if let (cached, cachedKey) = destinations[key] {
            return .smtp(SMTPRoute(
                key: cachedKey, destination: cached, path: path, mailer: delivery.mailer.name, masquerades: !isLMTP, isFinalDelivery: isLMTP))
        }
        var policy = OutboundTLSPolicy.default
        if isLMTP { policy = OutboundTLSPolicy(level: .none) }
        if let found = await lookUpPolicy(target: target, nextHop: nextHop, port: port) {
            switch found {
            case .success(let value): policy = value
            case .failure(let reply): return .fail(reply)
            }
        }
        var credentials: SMTPClientCredentials?
        if case .unixSocket = target {} else {
            do {
                let (info, _) = try await router.authInfo(for: nextHop)
                if let info {
                    policy = policy.withCredentials()
                    credentials = SMTPClientCredentials(
                        user: info.authenticationID, password: SASLSecret(info.password), authorizationIdentity: info.authorizationID,
                        realm: info.realm, mechanisms: info.mechanisms.isEmpty ? nil : info.mechanisms.compactMap { SASLMechanismName($0) },
                        allowsPlaintextWithoutTLS: policy.authWithoutTLS)
                }
            } catch {
                logger.error("authinfo lookup for \(nextHop) failed: \(error.message)")
                return .fail(SMTPReply(451, .temporarySystemError, "authinfo lookup for \(nextHop) failed"))
            }
        }
        let destination = SMTPDestination(
            target: target, port: port, dialect: isLMTP ? .lmtp : .smtp, tls: policy.clientPolicy(nextHop: nextHop), credentials: credentials)
        let fullKey = key + "|\(destination.tls)|\(credentials?.authenticationIdentity ?? "")"
        destinations[key] = (destination, fullKey)
        return .smtp(SMTPRoute(
            key: fullKey, destination: destination, path: path, mailer: delivery.mailer.name, masquerades: !isLMTP, isFinalDelivery: isLMTP))
    }

    enum PolicyLookup {
        case success(OutboundTLSPolicy)
        case failure(SMTPReply)
    }

    /// `[host]:port` → (host, port).
    static func bracketedWithPort(_ text: String) -> (String, Int)? {
        guard text.hasPrefix("["), let close = text.firstIndex(of: "]") else { return nil }
        let rest = text[text.index(after: close)...]
        guard rest.hasPrefix(":"), let port = Int(rest.dropFirst()), (1...65535).contains(port) else { return nil }
        let inner = String(text[text.index(after: text.startIndex)..<close])
        guard !inner.isEmpty else { return nil }
        return (inner, port)
    }

    /// The policy map's entry for the next hop: `[host]:port`, then `[host]`, for a host; the
    /// domain, then `.parent` for each parent domain, for MX delivery.
    private func lookUpPolicy(target: SMTPDestination.Target, nextHop: String, port: Int) async -> PolicyLookup? {
        guard let map = tlsPolicies else { return nil }
        let host = nextHop.asciiLowercasedForMailbox
        var keys: [String]
        switch target {
        case .mailExchangers:
            keys = [host]
            var rest = Substring(host)
            while let dot = rest.firstIndex(of: ".") {
                rest = rest[rest.index(after: dot)...]
                if !rest.isEmpty { keys.append("." + rest) }
            }
        case .host, .address:
            keys = ["[\(host)]:\(port)", "[\(host)]"]
        case .unixSocket:
            return nil
        }
        let search = await map.search(keys)
        do {
            guard let probe = try search.get(), let value = probe.value else { return nil }
            do throws(OutboundTLSPolicy.PolicyError) {
                return .success(try OutboundTLSPolicy(parsing: value))
            } catch {
                logger.error("tls_policy \(map.spec): the entry for \(probe.key): \(error.message)")
                return .failure(SMTPReply(451, EnhancedStatusCode(4, 3, 5)!, "the TLS policy for \(nextHop) cannot be read"))
            }
        } catch {
            logger.error("tls_policy \(map.spec) cannot be read: \(error.message)")
            return .failure(SMTPReply(451, .temporarySystemError, "the TLS policy map cannot be read"))
        }
    }
}

extension String {
    /// ASCII letters lowered, others kept (user and host names for file and key lookups).
    var asciiLowercasedForMailbox: String {
        String(String.UnicodeScalarView(unicodeScalars.map { scalar in
            (65...90).contains(scalar.value) ? Unicode.Scalar(scalar.value + 32)! : scalar
        }))
    }
}

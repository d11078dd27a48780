public import MailMaps
import SMTPProtocol

/// Sendmail's routing, as configured in the seeds, over typed tables: where a recipient goes
/// (``route(_:)``), whether a client may relay (``RelayPolicy``), how a sender is masqueraded
/// (``masquerade(_:envelope:)``), and which credentials a smart host gets (``authInfo(for:)``).
///
/// Pure policy: it reads maps and DNS, opens no connection. Every lookup it makes is in the
/// trace of its answer, in order. A table that cannot be read makes the answer a temporary
/// failure (451 4.3.0), never "not found".
///
/// The order is Sendmail 8.17's ruleset 0 for the seeds' features:
/// 1. a bare local name is local;
/// 2. an address literal goes to that address (or the smart host), unless it is this host's;
/// 3. for a local host name (class w) and a bare name (Sendmail's Parse0): a quoted local part
///    is dequoted, and an address in it (`"user@host"@here`), a bang path (`host!user`, a
///    host without a dot being `host.UUCP`) or the percent hack (`user%host`) is routed again;
/// 4. for class w and VIRTUSER_DOMAIN domains, the virtusertable: `user+detail@domain`,
///    `user++@domain`, `user+*@domain`, `user@domain`, `++@domain`, `+*@domain`, `@domain`, with
///    `%1` (user), `%2` (detail) and `%3` (+detail); a hit is routed again; a VIRTUSER_DOMAIN
///    address without an entry goes on to the domain as any other;
/// 5. class w: the local mailer (with aliases and the local-user check);
/// 6. otherwise the mailertable (`host`, `.parent`, …, `.`), then SMART_HOST, then esmtp to
///    the domain's MX.
public struct Router: Sendable {
    /// The policy.
    public let configuration: RoutingConfiguration
    /// The tables.
    public let tables: RoutingTables

    /// A router with the policy `configuration` over the already opened `tables`. Nothing is
    /// checked or read here: a table that fails is found at the first lookup that needs it.
    public init(configuration: RoutingConfiguration, tables: RoutingTables) {
        self.configuration = configuration
        self.tables = tables
    }

    private enum Step {
        case done(RoutingDecision.Outcome)
        case rewrite(RoutingAddress, because: String)
    }

    /// Where `address` goes, or why it cannot, with every lookup that decided it.
    public func route(_ address: RoutingAddress) async -> RoutingDecision {
        var trace: [RoutingStep] = []
        var current = address
        var seen: Set<String> = []
        for _ in 0...max(0, configuration.maximumRewriting) {
            let key = current.description.asciiLowercased
            guard seen.insert(key).inserted else {
                trace.append(.rule("\(current) was already seen: a rewriting loop"))
                return RoutingDecision(address: address, outcome: .refuse(Self.loopError(address), triple: nil), trace: trace)
            }
            let step: Step
            do {
                step = try await routeOnce(current, original: address, trace: &trace)
            } catch {
                trace.append(.rule("table failure: \(error.message)"))
                return RoutingDecision(address: address, outcome: .refuse(Self.temporaryRoutingFailure, triple: nil), trace: trace)
            }
            switch step {
            case .done(let outcome):
                return RoutingDecision(address: address, outcome: outcome, trace: trace)
            case .rewrite(let next, let reason):
                trace.append(.rule("\(current) → \(next) (\(reason))"))
                current = next
            }
        }
        trace.append(.rule("more than \(configuration.maximumRewriting) rewrites"))
        return RoutingDecision(address: address, outcome: .refuse(Self.loopError(address), triple: nil), trace: trace)
    }

    /// A table could not be read: Sendmail's answer for a map's temporary failure.
    static let temporaryRoutingFailure = RoutingError(.tableUnavailable, reply: SMTPReply(451, .temporarySystemError, "Temporary system failure. Please try again later."))

    static func loopError(_ address: RoutingAddress) -> RoutingError {
        RoutingError(.loop, reply: SMTPReply(554, EnhancedStatusCode(5, 4, 6)!, "Routing loop for \(address)"))
    }

    private func routeOnce(_ address: RoutingAddress, original: RoutingAddress, trace: inout [RoutingStep]) async throws(MailMapError) -> Step {
        guard let domain = address.domain else {
            // Sendmail's Parse0 for a name without a domain: dequoted, and routed again when it
            // holds a routing character (`host!user`, `user%host`, `user@host`).
            let user = address.unquotedLocalPart
            if let unwrapped = Self.canonify(user) {
                return .rewrite(unwrapped.address, because: unwrapped.how)
            }
            return .done(try await local(user, trace: &trace))
        }
        let name = domain.lookupKey
        let isLocal = try await isLocalHostName(name, trace: &trace)
        if isLocal {
            // Parse0 for this host's names: `"user"@here` is dequoted, and a local part that
            // names another address (`user%host@here`, `host!user@here`, `"user@host"@here`) is
            // routed again.
            let user = address.unquotedLocalPart
            if let unwrapped = Self.canonify(user) {
                return .rewrite(unwrapped.address, because: unwrapped.how)
            }
            if user != address.localPart {
                var dequoted = address
                dequoted.localPart = user
                return .rewrite(dequoted, because: "the quoted local part, dequoted")
            }
        }
        switch domain.kind {
        case .ipv4, .ipv6, .general:
            if isLocal {
                return .done(try await local(address.localPart, trace: &trace))
            }
            if let smartHost = configuration.smartHost {
                trace.append(.rule("address literal: to SMART_HOST \(smartHost)"))
                return .done(try relay(address, to: smartHost, defaultMailer: .esmtp))
            }
            trace.append(.rule("address literal: esmtp to \(domain)"))
            return .done(try deliver(address, mailer: .esmtp, host: .literal(String(domain.description.dropFirst().dropLast()).replacingAll("IPv6:", with: "ipv6:"))))
        case .name:
            break
        }
        let isVirtual = configuration.virtualDomains.contains { $0.asciiLowercased == name }
        if isVirtual { trace.append(.rule("\(name) is a virtual domain (VIRTUSER_DOMAIN)")) }

        if isLocal || isVirtual, let virtusertable = tables.virtusertable {
            if let hit = try await virtualUser(address, in: virtusertable, trace: &trace) {
                return hit
            }
        }
        if isLocal {
            return .done(try await local(address.localPart, trace: &trace))
        }
        let virtualOnly = isVirtual
        if isVirtual {
            // As Sendmail: a VIRTUSER_DOMAIN is not this host's, so what the virtusertable does
            // not name goes on to the domain (its MX; with a trailing dot, as Canonify2 writes it).
            trace.append(.rule("no virtusertable entry for \(address): routed as any other domain"))
        }
        if let mailertable = tables.mailertable {
            let keys = MailMapKeys.domainSuffixes(name, includingRoot: true)
            let search = await mailertable.search(keys)
            trace += search.probes.map(RoutingStep.lookup)
            if let probe = try search.get(), let value = probe.value {
                let wildcard = probe.key == name ? "" : (MailMapKeys.wildcardPart(of: name, matching: probe.key) ?? "")
                let rhs = value.replacingAll("%0", with: probe.key).replacingAll("%1", with: wildcard)
                return .done(try await mailerTableResult(rhs, address: address, original: original, trace: &trace))
            }
        }
        if let smartHost = configuration.smartHost {
            trace.append(.rule("not local: to SMART_HOST \(smartHost)"))
            return .done(try relay(address, to: smartHost, defaultMailer: .relay))
        }
        trace.append(.rule("not local: esmtp to \(name) by MX"))
        let absolute = address.domainIsAbsolute || Self.isUUCP(name) || virtualOnly
        return .done(try deliver(address, mailer: .esmtp, host: .mx(absolute ? name + "." : name)))
    }

    // MARK: - Class w

    /// Whether `name` is one of this host's names: `$j`, `localhost` and `localhost.` + the
    /// host's domain (`$m`), `[127.0.0.1]`, the extra names, and local-host-names.
    public func isLocalHostName(_ name: String) async throws(MailMapError) -> Bool {
        var trace: [RoutingStep] = []
        return try await isLocalHostName(name, trace: &trace)
    }

    func isLocalHostName(_ name: String, trace: inout [RoutingStep]) async throws(MailMapError) -> Bool {
        var key = name.asciiLowercased
        if key.hasSuffix("."), key.count > 1 { key.removeLast() }
        var builtIn = [configuration.hostname, "localhost", "[127.0.0.1]"] + configuration.extraLocalNames
        if let dot = configuration.hostname.firstIndex(of: ".") {
            builtIn.append("localhost" + configuration.hostname[dot...])
        }
        if builtIn.contains(where: { $0.asciiLowercased == key }) {
            trace.append(.rule("\(key) is this host (class w)"))
            return true
        }
        guard let names = tables.localHostNames else { return false }
        let search = await names.search([key])
        trace += search.probes.map(RoutingStep.lookup)
        return try search.get() != nil
    }

    // MARK: - Local hacks

    /// Sendmail's canonify (ruleset 3) for a local part that names another address: `user@host`
    /// (the last `@`), then a UUCP bang path (`host!user`, the first `!`: a host with a dot is a
    /// domain, one without is `host.UUCP`), then the percent hack (`user%host`, the last `%`).
    /// `nil` when the text holds none of them.
    static func canonify(_ text: String) -> (address: RoutingAddress, how: String)? {
        if text.contains("@") {
            guard let address = RoutingAddress(rewritten: text) else { return nil }
            return (address, "an address in the local part")
        }
        if let bang = text.firstIndex(of: "!") {
            let host = String(text[..<bang]), user = String(text[text.index(after: bang)...])
            guard !user.isEmpty, !host.isEmpty else { return nil }
            let domain = host.contains(".") ? host : host + ".UUCP"
            guard let address = RoutingAddress(rewritten: "\(user)@\(domain)") else { return nil }
            return (address, host.contains(".") ? "a bang path" : "a UUCP bang path")
        }
        if let percent = text.lastIndex(of: "%") {
            let user = String(text[..<percent]), host = String(text[text.index(after: percent)...])
            guard !user.isEmpty, !host.isEmpty, let address = RoutingAddress(rewritten: "\(user)@\(host)") else { return nil }
            return (address, "the percent hack")
        }
        return nil
    }

    /// Whether a domain is a UUCP host name made by ``canonify(_:)`` (`host.UUCP`).
    static func isUUCP(_ domain: String) -> Bool {
        domain.asciiLowercased.hasSuffix(".uucp")
    }

    // MARK: - virtusertable

    private func virtualUser(_ address: RoutingAddress, in table: any MailMap, trace: inout [RoutingStep]) async throws(MailMapError) -> Step? {
        let domain = address.domainKey ?? ""
        let local = address.localPart
        // Sendmail 8.17's order (cf/m4/proto.m4, "handle virtual users").
        var attempts: [(key: String, arguments: [String])] = [("\(local)@\(domain)", [local])]
        if let plus = local.firstIndex(of: "+"), plus != local.startIndex {
            let user = String(local[..<plus])
            let detail = String(local[local.index(after: plus)...])
            let arguments = [user, detail, "+" + detail]
            if !detail.isEmpty { attempts.append(("\(user)++@\(domain)", arguments)) }
            attempts.append(("\(user)+*@\(domain)", arguments))
            attempts.append(("\(user)@\(domain)", arguments))
            if !detail.isEmpty { attempts.append(("++@\(domain)", arguments)) }
            attempts.append(("+*@\(domain)", arguments))
            attempts.append(("@\(domain)", arguments))
        } else {
            attempts.append(("@\(domain)", [local]))
        }
        let search = await table.search(attempts.map(\.key))
        trace += search.probes.map(RoutingStep.lookup)
        guard let probe = try search.get(), let value = probe.value,
              let attempt = attempts.first(where: { $0.key == probe.key }) else { return nil }
        var result = value
        for (index, argument) in attempt.arguments.enumerated() {
            result = result.replacingAll("%\(index + 1)", with: argument)
        }
        for index in attempt.arguments.count..<3 {
            result = result.replacingAll("%\(index + 1)", with: "")
        }
        if let error = Self.tableError(result, style: .virtusertable) {
            return .done(error)
        }
        guard let next = RoutingAddress(rewritten: result) else {
            throw MailMapError(.malformed, map: table.spec, message: "\(table.spec): value \"\(value)\" for \(probe.key) is not an address")
        }
        return .rewrite(next, because: "virtusertable \(probe.key)")
    }

    // MARK: - mailertable and SMART_HOST

    private func mailerTableResult(_ rhs: String, address: RoutingAddress, original: RoutingAddress, trace: inout [RoutingStep]) async throws(MailMapError) -> RoutingDecision.Outcome {
        if let error = Self.tableError(rhs, style: .mailertable) { return error }
        if rhs.hasPrefix("local:") {
            let user = String(rhs.dropFirst("local:".count))
            let target = user.isEmpty ? address.localPart : String(user.split(separator: "@", maxSplits: 1).first ?? "")
            var outcome = try await local(target, trace: &trace)
            if case .deliver(var delivery) = outcome {
                delivery.localHost = address.description
                outcome = .deliver(delivery)
            }
            return outcome
        }
        guard let colon = rhs.firstIndex(of: ":"), !rhs.hasPrefix("[") else {
            // No mailer: Sendmail hands it to the relay mailer, unless the host is this one.
            if try await isLocalHostName(rhs, trace: &trace) {
                return try await local(address.localPart, trace: &trace)
            }
            return try deliver(address, mailer: .relay, host: RoutingHost(parsing: rhs))
        }
        let mailer = Mailer(String(rhs[..<colon]))
        let rest = String(rhs[rhs.index(after: colon)...])
        if let at = rest.lastIndex(of: "@"), !rest.hasPrefix("[") {
            // mailer:user@host — the user is taken literally.
            return try deliver(address, mailer: mailer, host: RoutingHost(parsing: String(rest[rest.index(after: at)...])), user: String(rest[..<at]) + "@" + String(rest[rest.index(after: at)...]))
        }
        return try deliver(address, mailer: mailer, host: RoutingHost(parsing: rest))
    }

    private func relay(_ address: RoutingAddress, to smartHost: String, defaultMailer: Mailer) throws(MailMapError) -> RoutingDecision.Outcome {
        if let colon = smartHost.firstIndex(of: ":"), !smartHost.hasPrefix("[") {
            return try deliver(address, mailer: Mailer(String(smartHost[..<colon])), host: RoutingHost(parsing: String(smartHost[smartHost.index(after: colon)...])))
        }
        return try deliver(address, mailer: defaultMailer, host: RoutingHost(parsing: smartHost))
    }

    private func deliver(_ address: RoutingAddress, mailer: Mailer, host: RoutingHost, user: String? = nil) throws(MailMapError) -> RoutingDecision.Outcome {
        guard let definition = configuration.mailers[mailer] else {
            let reply = SMTPReply(451, EnhancedStatusCode(4, 3, 5)!, "Mailer \(mailer) is not defined")
            return .refuse(RoutingError(.unknownMailer, reply: reply), triple: nil)
        }
        return .deliver(RoutingDecision.Delivery(mailer: mailer, definition: definition, host: host, user: user ?? mailerUser(address, mailer: mailer)))
    }

    /// The recipient as a network mailer gets it: `user@domain`; for a UUCP host, the bang path
    /// back (`host!user`), qualified with `$j` except for the relay mailer, as Sendmail's
    /// EnvToSMTP and EnvToL rulesets write it.
    private func mailerUser(_ address: RoutingAddress, mailer: Mailer) -> String {
        guard let domain = address.domain?.description, Self.isUUCP(domain) else { return address.description }
        let path = "\(domain.dropLast(".UUCP".count))!\(address.localPart)"
        return mailer == .relay ? path : "\(path)@\(configuration.hostname)"
    }

    // MARK: - error: entries

    enum ErrorStyle {
        case virtusertable, mailertable
    }

    /// An `error:` right-hand side as a refusal, with the triple Sendmail prints for it.
    static func tableError(_ value: String, style: ErrorStyle) -> RoutingDecision.Outcome? {
        guard value.hasPrefix("error:") else { return nil }
        let body = String(value.dropFirst("error:".count))
        var host = ""
        var text = body
        let colonParts = body.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        if colonParts.count == 2, !colonParts[0].contains(" ") {
            // error:5.7.1:550 text   or   error:word:text
            host = String(colonParts[0])
            text = String(colonParts[1])
        } else if style == .virtusertable, let space = body.firstIndex(of: " ") {
            // error:nouser text (virtusertable's `error : $- $+`)
            host = String(body[..<space])
            text = String(body[body.index(after: space)...])
        }
        return .refuse(RoutingError(.tableError, reply: errorReply(host: host, text: text)), triple: RoutingDecision.ErrorTriple(host: host, user: text))
    }

    /// The reply Sendmail gives for the error mailer at RCPT: a reply code leading the text wins
    /// (`550 Go away`), and without one it is 553; the host part gives the enhanced code when it is
    /// one (`5.7.1`), and without one it is 5.3.0 (or `X.0.0` of the code's class). The text is
    /// kept as it is (`nouser No such domain`).
    static func errorReply(host: String, text: String) -> SMTPReply {
        var message = text.trimmingSpaces
        var code: Int?
        if message.count >= 3, let number = Int(message.prefix(3)), (400...599).contains(number),
           message.count == 3 || message[message.index(message.startIndex, offsetBy: 3)] == " " {
            code = number
            message = String(message.dropFirst(3)).trimmingSpaces
        }
        if message.hasPrefix("\"") && message.hasSuffix("\"") && message.count >= 2 {
            message = String(message.dropFirst().dropLast())
        }
        // A status code leading the text (`error:nouser 550 5.1.1 User unknown`) is the enhanced
        // code, as Sendmail's usrerr reads it, not words of the text.
        var textCode: EnhancedStatusCode?
        if let space = message.firstIndex(of: " "), let leading = EnhancedStatusCode(message[..<space]) {
            textCode = leading
            message = String(message[message.index(after: space)...]).trimmingSpaces
        }
        let replyCode = code ?? 553
        let enhanced = EnhancedStatusCode(Substring(host)) ?? textCode
            ?? (code == nil ? EnhancedStatusCode(5, 3, 0)! : EnhancedStatusCode(replyCode / 100, 0, 0)!)
        return SMTPReply(replyCode, enhanced.withClass(replyCode / 100), message.isEmpty ? "Address rejected" : message)
    }

    // MARK: - Local delivery

    /// The local mailer for `user`, as `/parse` names it: the user folded to lower case, with the
    /// aliases(5) entry it has (`user+detail`, `user+*`, then `user`). Whether the user exists is
    /// not asked here: `/parse` does not ask it; ``verify(_:)`` and the RCPT answer do.
    private func local(_ user: String, trace: inout [RoutingStep]) async throws(MailMapError) -> RoutingDecision.Outcome {
        // The local mailer folds the user to lower case (Sendmail's local mailer has no F=u).
        let local = user.isEmpty ? "postmaster" : user.asciiLowercased
        guard let definition = configuration.mailers[.local] else {
            return .refuse(RoutingError(.unknownMailer, reply: SMTPReply(451, EnhancedStatusCode(4, 3, 5)!, "Mailer local is not defined")), triple: nil)
        }
        var delivery = RoutingDecision.Delivery(mailer: .local, definition: definition, host: nil, user: local)
        if let (_, value) = try await alias(local, trace: &trace) {
            delivery.aliasExpansion = Self.aliasTargets(value)
        }
        return .deliver(delivery)
    }

    /// The aliases(5) entry for a local user: `user+detail`, `user+*`, then `user`.
    func alias(_ local: String, trace: inout [RoutingStep]) async throws(MailMapError) -> (key: String, value: String)? {
        guard let aliases = tables.aliases else { return nil }
        let bare = RoutingAddress(localPart: local, domain: nil)
        let plain = bare.plusDetail.user.asciiLowercased
        var keys = [local.asciiLowercased]
        if bare.plusDetail.detail != nil {
            keys.append("\(plain)+*")
            keys.append(plain)
        }
        let search = await aliases.search(keys)
        trace += search.probes.map(RoutingStep.lookup)
        guard let probe = try search.get(), let value = probe.value else { return nil }
        return (probe.key, value)
    }

    /// Whether a local user exists, as Sendmail's recipient() asks at RCPT: an aliases(5) entry,
    /// or an account in the local-user directory (without its `+detail`). `postmaster` always
    /// exists (RFC 5321 §4.5.1). `nil` when it exists; the refusal (550 5.1.1) when not.
    func localUserRefusal(_ user: String, aliases: Bool = true, trace: inout [RoutingStep]) async throws(MailMapError) -> RoutingError? {
        let local = user.isEmpty ? "postmaster" : user.asciiLowercased
        if aliases, try await alias(local, trace: &trace) != nil { return nil }
        guard let users = tables.localUsers else { return nil }
        let plain = RoutingAddress(localPart: local, domain: nil).plusDetail.user
        let (exists, step) = try await users.contains(RoutingAddress(localPart: plain, domain: nil).unquotedLocalPart)
        trace.append(step)
        if exists { return nil }
        if plain.asciiLowercased == "postmaster" {
            trace.append(.rule("postmaster is always accepted (RFC 5321 §4.5.1)"))
            return nil
        }
        return RoutingError(.unknownUser, reply: .userUnknown)
    }

    /// The targets of an aliases(5) entry: comma-separated, quotes respected.
    static func aliasTargets(_ value: String) -> [String] {
        var targets: [String] = []
        var current = ""
        var quoted = false
        for character in value {
            if character == "\"" { quoted.toggle() }
            if character == ",", !quoted {
                targets.append(current.trimmingSpaces)
                current = ""
            } else {
                current.append(character)
            }
        }
        targets.append(current.trimmingSpaces)
        return targets.filter { !$0.isEmpty }
    }
}

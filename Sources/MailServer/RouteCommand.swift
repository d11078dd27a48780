import MailMaps
import MailRouting
import SMTPProtocol

/// `swiftmta route`: Sendmail's address test mode (`sendmail -bt`, `/parse`) for a SwiftMTA
/// configuration — the (mailer, host, user) triple, every lookup that decided it, and with a
/// client address, the relay verdict of check_relay, check_mail and check_rcpt.
public enum RouteCommand {
    /// What the command was asked.
    public struct Request: Sendable {
        public var address: String
        public var sender: String?
        public var clientAddress: String?
        public var clientHost: String?
        /// `MECH:USER`.
        public var authentication: String?
        public var configurationFile: String?
        public var json: Bool

        public init(address: String, sender: String? = nil, clientAddress: String? = nil, clientHost: String? = nil,
                    authentication: String? = nil, configurationFile: String? = nil, json: Bool = false) {
            self.address = address
            self.sender = sender
            self.clientAddress = clientAddress
            self.clientHost = clientHost
            self.authentication = authentication
            self.configurationFile = configurationFile
            self.json = json
        }
    }

    /// Runs the command; returns what to print and the exit status (0 routed, 1 refused,
    /// 2 the configuration or a table could not be used).
    public static func run(_ request: Request) async -> (output: String, status: Int32) {
        let configuration: SwiftMTAConfiguration
        do {
            if let file = request.configurationFile {
                configuration = try SwiftMTAConfiguration.load(path: file)
            } else {
                configuration = try SwiftMTAConfiguration.parse("", file: "<embedded default>")
            }
        } catch {
            return ("swiftmta route: \(error)\n", 2)
        }
        let router: Router
        let registry: MailMapRegistry
        do {
            registry = try RoutingSetup.registry(nameservers: configuration.nameservers)
            router = try RoutingSetup.router(for: configuration, registry: registry)
        } catch {
            return ("swiftmta route: \(error.message)\n", 2)
        }
        // Every lookup of a decision runs on the maps' thread pool without a thread switch each.
        return await withTaskExecutorPreference(registry.threadPool) {
            await decide(request, router: router)
        }
    }

    private static func decide(_ request: Request, router: Router) async -> (output: String, status: Int32) {
        let address: RoutingAddress
        do {
            address = try RoutingAddress(parsing: request.address)
        } catch {
            // As Sendmail's Parse0 prints its syntax errors: the reply text in quotes.
            let refused = RoutingDecision(
                address: RoutingAddress(localPart: request.address, domain: nil),
                outcome: .refuse(error, triple: RoutingDecision.ErrorTriple(
                    host: error.reply.enhancedCode?.description ?? "",
                    user: "\"\(error.reply.code) \(error.reply.lines.joined(separator: " "))\"")),
                trace: [.rule("address does not parse: \(error.reply)")])
            return (request.json ? json(decision: refused, verdict: nil) : text(decision: refused, verdict: nil), 1)
        }
        let decision = await router.route(address)

        var verdict: AccessVerdict?
        if let clientAddress = request.clientAddress {
            var client = ClientIdentity(address: clientAddress, hostName: request.clientHost)
            if let auth = request.authentication {
                let parts = auth.split(separator: ":", maxSplits: 1)
                client.authenticationMechanism = parts.first.map { $0.uppercased() }
                client.authenticatedUser = parts.count > 1 ? String(parts[1]) : nil
            }
            var sender = ReversePath.null
            if let text = request.sender, !text.isEmpty, text != "<>" {
                guard let parsed = try? RoutingAddress(parsing: text), let mailbox = try? Mailbox(parsing: parsed.description) else {
                    return ("swiftmta route: sender \(text) is not an address\n", 1)
                }
                sender = ReversePath(mailbox: mailbox)
            }
            verdict = await relayVerdict(router: router, client: client, sender: sender, recipient: address)
        }
        let refused = decision.error != nil || verdict?.isRejection == true
        if request.json {
            return (json(decision: decision, verdict: verdict), refused ? 1 : 0)
        }
        return (text(decision: decision, verdict: verdict), refused ? 1 : 0)
    }

    /// What Sendmail would reach: check_relay at connect, check_mail at MAIL, check_rcpt at RCPT
    /// (with delay_checks the first two are folded into the last).
    static func relayVerdict(router: Router, client: ClientIdentity, sender: ReversePath, recipient: RoutingAddress) async -> AccessVerdict {
        guard let path = forwardPath(recipient) else {
            return AccessVerdict(.reject(SMTPReply(553, .badDestinationSyntax, "Invalid address")), reason: "address")
        }
        var trace: [RoutingStep] = []
        if !router.configuration.delayChecks {
            let connect = await router.checkConnect(client)
            trace += connect.trace
            if connect.isRejection || connect.action == .discard { return AccessVerdict(connect.action, reason: connect.reason, trace: trace) }
            let mail = await router.checkSender(sender, client: client)
            trace += mail.trace
            if mail.isRejection || mail.action == .discard { return AccessVerdict(mail.action, reason: mail.reason, trace: trace) }
        }
        let rcpt = await router.checkRecipient(path, sender: sender, client: client)
        return AccessVerdict(rcpt.action, reason: rcpt.reason, trace: trace + rcpt.trace)
    }

    static func forwardPath(_ address: RoutingAddress) -> ForwardPath? {
        guard let domain = address.domain else {
            guard let local = try? LocalPart(address.unquotedLocalPart), let localhost = try? MailboxDomain.name("localhost") else { return nil }
            return ForwardPath(mailbox: Mailbox(localPart: local, domain: localhost))
        }
        guard let local = try? LocalPart(address.localPart.hasPrefix("\"") ? address.unquotedLocalPart : address.localPart) else { return nil }
        return try? ForwardPath(.mailbox(Mailbox(localPart: local, domain: domain)), sourceRoute: address.sourceRoute)
    }

    static func text(decision: RoutingDecision, verdict: AccessVerdict?) -> String {
        var lines = [decision.description]
        if let delivery = decision.delivery {
            var facts: [String] = []
            if let port = delivery.port { facts.append("port \(port)") }
            if let host = delivery.host { facts.append(host.usesMX ? "MX lookup" : "no MX lookup") }
            if let expansion = delivery.aliasExpansion { facts.append("alias for \(expansion.joined(separator: ", "))") }
            if !facts.isEmpty { lines.append("  " + facts.joined(separator: ", ")) }
        }
        if let error = decision.error {
            lines.append("  reply: \(error.reply)")
        }
        if !decision.trace.isEmpty {
            lines.append("lookups:")
            lines += decision.trace.map { "  \($0)" }
        }
        if let verdict {
            lines.append("relay: \(verdict) (\(verdict.reason))")
            if !verdict.trace.isEmpty {
                lines.append("relay lookups:")
                lines += verdict.trace.map { "  \($0)" }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func json(decision: RoutingDecision, verdict: AccessVerdict?) -> String {
        let (mailer, host, user) = decision.sendmailTriple
        var object: [(String, JSONValue)] = [
            ("address", .string(decision.address.description)),
            ("mailer", .string(mailer)),
            ("host", .string(host)),
            ("user", .string(user)),
        ]
        if let delivery = decision.delivery {
            object.append(("port", delivery.port.map { .number($0) } ?? .null))
            object.append(("mx", delivery.host.map { .bool($0.usesMX) } ?? .null))
            if let expansion = delivery.aliasExpansion { object.append(("alias", .array(expansion.map(JSONValue.string)))) }
        }
        if let error = decision.error {
            object.append(("error", .object([
                ("code", .number(error.reply.code)),
                ("enhanced", error.reply.enhancedCode.map { .string($0.description) } ?? .null),
                ("text", .string(error.reply.lines.joined(separator: " "))),
            ])))
        }
        object.append(("lookups", .array(decision.trace.map(json(step:)))))
        if let verdict {
            object.append(("relay", .object([
                ("verdict", .string(verdict.description)),
                ("decided_by", .string(verdict.reason)),
                ("lookups", .array(verdict.trace.map(json(step:)))),
            ])))
        }
        return JSONValue.object(object).rendered + "\n"
    }

    static func json(step: RoutingStep) -> JSONValue {
        switch step {
        case .rule(let text):
            return .object([("rule", .string(text))])
        case .lookup(let probe):
            let result: JSONValue
            switch probe.outcome {
            case .found(let value): result = .string(value)
            case .notFound: result = .null
            case .failed(let error): result = .object([("error", .string(error.message))])
            }
            return .object([("map", .string(probe.map)), ("key", .string(probe.key)), ("result", result)])
        }
    }
}

/// A small JSON writer (RFC 8259) for command output, keeping key order.
enum JSONValue {
    case string(String)
    case number(Int)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([(String, JSONValue)])

    var rendered: String {
        switch self {
        case .string(let text): return Self.quote(text)
        case .number(let value): return String(value)
        case .bool(let value): return value ? "true" : "false"
        case .null: return "null"
        case .array(let values): return "[" + values.map(\.rendered).joined(separator: ",") + "]"
        case .object(let members): return "{" + members.map { Self.quote($0.0) + ":" + $0.1.rendered }.joined(separator: ",") + "}"
        }
    }

    static func quote(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}

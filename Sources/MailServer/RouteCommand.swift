import MailAuth
import MailMaps
import MailRouting
import SMTPProtocol

/// `swiftmta route`: Sendmail's address test mode for a SwiftMTA configuration — the (mailer,
/// host, user) triple of `sendmail -bt` `/parse`, every lookup that decided it, what
/// `sendmail -bv` says of it (`verify:`, aliases expanded, local users checked), and with a client
/// (`--client-ip`, or `--local` for a local submission) the answers an SMTP client would get at
/// MAIL and RCPT — from the same code the server's session calls
/// (``Router/answerMail(_:session:)``, ``Router/answerRecipient(_:sender:mail:session:)``).
public enum RouteCommand {
    /// What the command was asked.
    public struct Request: Sendable {
        /// The recipient address to route (`user@domain`, `"Name <user@domain>"` or a local name).
        public var address: String
        /// The envelope sender, for the MAIL and RCPT answers.
        public var sender: String?
        /// The client's IP address: the MAIL and RCPT answers are printed too.
        public var clientAddress: String?
        /// The client's verified host name.
        public var clientHost: String?
        /// How the client's name was found: `ok`, `fail`, `forged` or `temp` (Sendmail's
        /// `${client_resolve}`); by default `ok` with a host name, `fail` without.
        public var clientResolve: String?
        /// `MECH:USER`.
        public var authentication: String?
        /// A local submission: no client, as `sendmail -bs` or the sendmail command line.
        public var localSubmission: Bool
        /// The configuration file (`nil`: the embedded default).
        public var configurationFile: String?
        /// Print JSON instead of text.
        public var json: Bool

        /// A request; see each property.
        public init(address: String, sender: String? = nil, clientAddress: String? = nil, clientHost: String? = nil,
                    clientResolve: String? = nil, authentication: String? = nil, localSubmission: Bool = false,
                    configurationFile: String? = nil, json: Bool = false) {
            self.address = address
            self.sender = sender
            self.clientAddress = clientAddress
            self.clientHost = clientHost
            self.clientResolve = clientResolve
            self.authentication = authentication
            self.localSubmission = localSubmission
            self.configurationFile = configurationFile
            self.json = json
        }

        /// Why the options do not go together, or `nil` when they do: `--auth` must be
        /// `MECH:USER` with a SASL mechanism SwiftMTA knows; `--client-ip` must be an IPv4 or
        /// IPv6 address; `--sender`, `--client-host`, `--client-resolve` and `--auth` need a client
        /// (`--client-ip` or `--local`, and the last three `--client-ip`); `--local` and
        /// `--client-ip` exclude each other.
        public var problem: String? {
            if let clientAddress {
                if localSubmission { return "--local and --client-ip exclude each other: a local submission has no client" }
                guard IPAddress(clientAddress) != nil else {
                    return "--client-ip \"\(clientAddress)\" is not an IPv4 or IPv6 address"
                }
            } else {
                for (option, value) in [("--client-host", clientHost), ("--client-resolve", clientResolve), ("--auth", authentication)] where value != nil {
                    return "\(option) needs --client-ip (it describes the client)"
                }
                if sender != nil, !localSubmission {
                    return "--sender needs --client-ip or --local (the answers at MAIL and RCPT are for a client)"
                }
            }
            if let clientResolve, !["ok", "fail", "forged", "temp"].contains(clientResolve.lowercased()) {
                return "--client-resolve must be ok, fail, forged or temp, not \"\(clientResolve)\""
            }
            if let authentication {
                let parts = authentication.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                    return "--auth takes MECH:USER (like PLAIN:amy), not \"\(authentication)\""
                }
                guard let mechanism = SASLMechanismName(parts[0].uppercased()), Self.knownMechanisms.contains(mechanism) else {
                    return "--auth: \"\(parts[0])\" is not a SASL mechanism SwiftMTA knows (\(Self.knownMechanisms.map(\.rawValue).joined(separator: ", ")))"
                }
            }
            return nil
        }

        static let knownMechanisms: [SASLMechanismName] = [
            .plain, .login, .cramMD5, .digestMD5, .scramSHA1, .scramSHA1Plus, .scramSHA256, .scramSHA256Plus,
            .external, .xoauth2, .anonymous, .gssapi, .ntlm,
        ]
    }

    /// Exit statuses.
    public enum ExitStatus {
        /// Deliverable, and accepted at MAIL and RCPT when a client was given.
        public static let accepted: Int32 = 0
        /// Refused: the address does not parse, routing or `verify:` refuses it, or the client
        /// would be refused at MAIL or RCPT (for now or for good).
        public static let refused: Int32 = 1
        /// The configuration cannot be used (or a map spec in it is wrong).
        public static let configurationError: Int32 = 2
        /// The options are wrong (they do not go together, or a value is not what it must be).
        public static let usage: Int32 = 64
    }

    /// Runs the command; returns what to print and the exit status (``ExitStatus``).
    public static func run(_ request: Request) async -> (output: String, status: Int32) {
        if let problem = request.problem {
            return ("swiftmta route: \(problem)\n", ExitStatus.usage)
        }
        let configuration: SwiftMTAConfiguration
        do {
            if let file = request.configurationFile {
                configuration = try SwiftMTAConfiguration.load(path: file)
            } else {
                configuration = try SwiftMTAConfiguration.parse("", file: "<embedded default>")
            }
        } catch {
            return ("swiftmta route: \(error)\n", ExitStatus.configurationError)
        }
        let router: Router
        let registry: MailMapRegistry
        do {
            registry = try RoutingSetup.registry(nameservers: configuration.nameservers)
            router = try RoutingSetup.router(for: configuration, registry: registry)
        } catch {
            return ("swiftmta route: \(error.message)\n", ExitStatus.configurationError)
        }
        // Every lookup of a decision runs on the maps' thread pool without a thread switch each.
        return await withTaskExecutorPreference(registry.threadPool) {
            await decide(request, router: router)
        }
    }

    /// The MAIL and RCPT answers for a client.
    struct Answers {
        var mail: RoutingAnswer
        var rcpt: RoutingAnswer?

        /// What the client gets in the end: the RCPT answer, or the MAIL refusal.
        var final: RoutingAnswer { rcpt ?? mail }
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
            return (request.json ? json(decision: refused, verification: nil, answers: nil) : text(decision: refused, verification: nil, answers: nil), ExitStatus.refused)
        }
        let decision = await router.route(address)
        let verification = decision.error == nil ? await router.verify(address) : nil

        var answers: Answers?
        if request.clientAddress != nil || request.localSubmission {
            var session = SessionFacts(client: nil)
            if let clientAddress = request.clientAddress {
                let resolution: ClientIdentity.NameResolution?
                switch request.clientResolve?.lowercased() {
                case "ok": resolution = .confirmed
                case "fail": resolution = .failed
                case "forged": resolution = .forged
                case "temp": resolution = .temporaryFailure
                default: resolution = nil
                }
                var client = ClientIdentity(address: clientAddress, hostName: request.clientHost, nameResolution: resolution)
                if let auth = request.authentication {
                    let parts = auth.split(separator: ":", maxSplits: 1)
                    client.authenticationMechanism = parts.first.map { $0.uppercased() }
                    client.authenticatedUser = parts.count > 1 ? String(parts[1]) : nil
                }
                session.client = client
            }
            var sender: RoutingAddress?
            if let text = request.sender, !text.isEmpty, text != "<>" {
                do {
                    sender = try RoutingAddress(parsing: text)
                } catch {
                    return ("swiftmta route: --sender \(text) is not an address: \(error.reply.lines.joined(separator: " "))\n", ExitStatus.usage)
                }
            }
            let mail = await router.answerMail(sender, session: session)
            let rcpt = mail.isRefusal ? nil : await router.answerRecipient(address, sender: sender, mail: mail, session: session)
            answers = Answers(mail: mail, rcpt: rcpt)
        }
        let refused = decision.error != nil || verification?.isDeliverable == false || answers?.final.isRefusal == true
        let status = refused ? ExitStatus.refused : ExitStatus.accepted
        if request.json {
            return (json(decision: decision, verification: verification, answers: answers), status)
        }
        return (text(decision: decision, verification: verification, answers: answers), status)
    }

    static func text(decision: RoutingDecision, verification: RecipientVerification?, answers: Answers?) -> String {
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
        if let verification {
            lines += verification.lines.map { "verify: \($0)" }
        }
        if let answers {
            lines.append("mail: \(answers.mail) (\(answers.mail.reason))")
            if let rcpt = answers.rcpt {
                lines.append("rcpt: \(rcpt) (\(rcpt.reason))")
            }
            lines.append("verdict: \(answers.final)")
            let trace = answers.mail.trace + (answers.rcpt?.trace ?? [])
            if !trace.isEmpty {
                lines.append("answer lookups:")
                lines += trace.map { "  \($0)" }
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func json(decision: RoutingDecision, verification: RecipientVerification?, answers: Answers?) -> String {
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
            object.append(("error", json(reply: error.reply)))
        }
        object.append(("lookups", .array(decision.trace.map(json(step:)))))
        if let verification {
            object.append(("verify", .array(verification.lines.map { line in
                .object([
                    ("address", .string(line.address)),
                    ("deliverable", .bool(line.refusal == nil)),
                    ("text", .string(line.description)),
                ])
            })))
        }
        if let answers {
            object.append(("mail", json(answer: answers.mail)))
            if let rcpt = answers.rcpt { object.append(("rcpt", json(answer: rcpt))) }
            object.append(("verdict", json(answer: answers.final)))
        }
        return JSONValue.object(object).rendered + "\n"
    }

    static func json(reply: SMTPReply) -> JSONValue {
        .object([
            ("code", .number(reply.code)),
            ("enhanced", reply.enhancedCode.map { .string($0.description) } ?? .null),
            ("text", .string(reply.lines.joined(separator: " "))),
        ])
    }

    static func json(answer: RoutingAnswer) -> JSONValue {
        let disposition: String
        switch answer.disposition {
        case .accept: disposition = "accept"
        case .discard: disposition = "discard"
        case .refuse: disposition = "refuse"
        }
        return .object([
            ("disposition", .string(disposition)),
            ("reply", json(reply: answer.reply)),
            ("decided_by", .string(answer.reason)),
            ("lookups", .array(answer.trace.map(json(step:)))),
        ])
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
        QuotedString.literal(text)
    }
}

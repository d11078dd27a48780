import SMTPProtocol

/// Where a recipient goes, or why it cannot: the answer of ``Router/route(_:)``, with every step
/// that decided it.
public struct RoutingDecision: Hashable, Sendable, CustomStringConvertible {
    /// A deliverable route: Sendmail's (mailer, host, user) triple, typed.
    public struct Delivery: Hashable, Sendable {
        /// The delivery agent.
        public var mailer: Mailer
        /// How it delivers.
        public var definition: MailerDefinition
        /// Where a network mailer connects; `nil` for local delivery.
        public var host: RoutingHost?
        /// The port, for network mailers.
        public var port: Int? { host == nil ? nil : definition.port }
        /// The recipient as the mailer gets it: a full address for network mailers, the local user
        /// (with any `+detail`) for local delivery.
        public var user: String
        /// For local delivery of an alias: what the alias expands to (`aliases(5)`).
        public var aliasExpansion: [String]?
        /// Sendmail's `$@` for the local mailer when a mailertable `local:` entry chose it: the
        /// original address (shown only in the triple).
        public var localHost: String?
    }

    /// How Sendmail's `/parse` shows a refusal from a table: the `$@` and `$:` of its error mailer
    /// (`error:5.7.1:550 Go away` → host `5.7.1`, user `550 Go away`).
    public struct ErrorTriple: Hashable, Sendable {
        /// The error mailer's `$@`: the enhanced status code (`5.7.1`), or the word before the
        /// text; empty when the entry has neither.
        public var host: String
        /// The error mailer's `$:`: the reply text, with any reply code leading it (`550 Go away`).
        public var user: String

        /// The triple's `host` (`$@`) and `user` (`$:`) as `/parse` shows them; neither is checked.
        public init(host: String, user: String) {
            self.host = host
            self.user = user
        }
    }

    /// What routing decided.
    public enum Outcome: Hashable, Sendable {
        /// Deliver so.
        case deliver(Delivery)
        /// Refuse: a table's `error:`, an unknown user, a loop, a table that could not be read.
        case refuse(RoutingError, triple: ErrorTriple?)
    }

    /// The address that was routed.
    public var address: RoutingAddress
    /// What routing decided.
    public var outcome: Outcome
    /// Every lookup and rule, in order.
    public var trace: [RoutingStep]

    /// The decision for `address`: its `outcome`, and every lookup and rule in `trace`, in order.
    /// Nothing is checked.
    public init(address: RoutingAddress, outcome: Outcome, trace: [RoutingStep]) {
        self.address = address
        self.outcome = outcome
        self.trace = trace
    }

    /// The delivery, when the address is deliverable.
    public var delivery: Delivery? {
        guard case .deliver(let delivery) = outcome else { return nil }
        return delivery
    }

    /// The refusal, when it is not.
    public var error: RoutingError? {
        guard case .refuse(let error, _) = outcome else { return nil }
        return error
    }

    /// The triple as `sendmail -bt` `/parse` prints it: `mailer esmtp, host real-time.com, user
    /// cfandre@real-time.com`; `mailer local, user root`; `mailer *error*, host 5.7.1, user 550 Go away`.
    public var sendmailTriple: (mailer: String, host: String, user: String) {
        switch outcome {
        case .deliver(let delivery):
            return (delivery.mailer.name, delivery.host?.description ?? delivery.localHost ?? "", delivery.user)
        case .refuse(let error, let triple):
            if let triple { return ("*error*", triple.host, triple.user) }
            let code = error.reply.enhancedCode?.description ?? ""
            return ("*error*", code, "\(error.reply.code) \(error.reply.lines.joined(separator: " "))")
        }
    }

    /// The triple on one line, as `/parse` prints it.
    public var description: String {
        let (mailer, host, user) = sendmailTriple
        return host.isEmpty ? "mailer \(mailer), user \(user)" : "mailer \(mailer), host \(host), user \(user)"
    }
}

public import SMTPProtocol

/// The router's whole answer to MAIL or RCPT, as Sendmail 8.17 gives it: the reply the client
/// gets, what becomes of the message, and everything that decided it.
///
/// For RCPT it folds together, in Sendmail's order, the access checks (check_rcpt: the
/// recipient's own entries, AUTH, the relay decision, and with `delay_checks` the connect and
/// sender checks) and then the recipient's routing and local-user check (Sendmail's recipient()):
/// a virtusertable or mailertable `error:`, an unknown local user.
public struct RoutingAnswer: Hashable, Sendable, CustomStringConvertible {
    /// What becomes of the command and the message.
    public enum Disposition: Hashable, Sendable {
        /// Accepted: send ``reply`` and go on.
        case accept
        /// Accepted, and the whole message is to be discarded (an access `DISCARD`, at connect,
        /// MAIL or RCPT): send ``reply`` (a 250) and drop the message after DATA, for every
        /// recipient, as Sendmail does.
        case discard
        /// Refused: send ``reply`` (4xx or 5xx).
        case refuse
    }

    /// The reply for the client (RFC 5321 §4.2, RFC 3463 codes): `250 2.1.0 Sender ok`,
    /// `250 2.1.5 Recipient ok`, or the refusal.
    public var reply: SMTPReply
    /// What becomes of the command and the message.
    public var disposition: Disposition
    /// What the access checks decided, and which entry or rule decided it.
    public var verdict: AccessVerdict
    /// For RCPT, where the recipient goes (`nil` when the access checks refused it first, or the
    /// message is discarded).
    public var routing: RoutingDecision?
    /// What decided the reply: the access entry or rule (the verdict's reason), the routing
    /// (`virtusertable error:`), or the local-user check.
    public var reason: String
    /// Every lookup and rule, in order.
    public var trace: [RoutingStep]

    /// An answer sending `reply` with `disposition`, from `verdict` and (for RCPT) `routing`, with
    /// the lookups in `trace`. `reason` defaults to the verdict's reason. The reply's code is not
    /// checked against the disposition.
    public init(reply: SMTPReply, disposition: Disposition, verdict: AccessVerdict, routing: RoutingDecision? = nil, reason: String? = nil, trace: [RoutingStep]) {
        self.reply = reply
        self.disposition = disposition
        self.verdict = verdict
        self.routing = routing
        self.reason = reason ?? verdict.reason
        self.trace = trace
    }

    /// Whether the command is refused.
    public var isRefusal: Bool { disposition == .refuse }

    /// `OK 250 2.1.5 Recipient ok`, `DISCARD 250 2.1.5 Recipient ok`, or `REFUSE 550 5.7.1 Relaying denied`.
    public var description: String {
        let word: String
        switch disposition {
        case .accept: word = "OK"
        case .discard: word = "DISCARD"
        case .refuse: word = "REFUSE"
        }
        return "\(word) \(reply.code)\(reply.enhancedCode.map { " \($0)" } ?? "") \(reply.lines.joined(separator: " "))"
    }
}

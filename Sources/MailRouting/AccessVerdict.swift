public import SMTPProtocol

/// What the access checks (Sendmail's check_relay, check_mail, check_rcpt) decided, and which
/// entry or rule decided it.
public struct AccessVerdict: Hashable, Sendable, CustomStringConvertible {
    /// The decision.
    public enum Action: Hashable, Sendable {
        /// Accept (`OK`): no further checks of this kind.
        case ok
        /// Accept and allow relaying (`RELAY`).
        case relay
        /// Accept the command, then drop the message (`DISCARD`).
        case discard
        /// Refuse with this reply (`REJECT`, `ERROR:…`, relaying denied, a DNSBL listing).
        case reject(SMTPReply)
        /// Nothing decided: go on as usual.
        case pass
    }

    /// The decision.
    public var action: Action
    /// What decided it: the access entry (`Connect:206.10.252 RELAY`) or the rule.
    public var reason: String
    /// Every lookup that was made.
    public var trace: [RoutingStep]

    /// A verdict of `action`, decided by `reason` (the access entry, `access Connect:…`, or the
    /// rule), with the lookups in `trace`. Nothing is checked; a refusal whose `reason` starts with
    /// `access` prints as `REJECT`, any other as `ERROR` (``description``).
    public init(_ action: Action, reason: String, trace: [RoutingStep] = []) {
        self.action = action
        self.reason = reason
        self.trace = trace
    }

    /// Whether the command is refused.
    public var isRejection: Bool {
        if case .reject = action { return true }
        return false
    }

    /// The verdict as `swiftmta route` prints it: `RELAY`, `OK`, `DISCARD`, `REJECT 550 5.7.1 …`,
    /// or `ERROR 550 5.7.1 Relaying denied` for refusals that come from a rule, not an entry.
    public var description: String {
        switch action {
        case .ok: "OK"
        case .relay: "RELAY"
        case .discard: "DISCARD"
        case .pass: "OK"
        case .reject(let reply):
            "\(reason.hasPrefix("access") ? "REJECT" : "ERROR") \(reply.code)\(reply.enhancedCode.map { " \($0)" } ?? "") \(reply.lines.joined(separator: " "))"
        }
    }

    /// Reads an access map value as Sendmail's rulesets do: `OK`, `RELAY`, `REJECT` (refused with
    /// `rejection`), `DISCARD`, `SKIP`, `ERROR:D.D.D:NNN text`, `ERROR:"NNN text"`, `ERROR:NNN text`,
    /// and an old-style bare `NNN text` (that reply). Without an enhanced code the reply gets
    /// `X.0.0` of its class, as Sendmail gives it. `nil` for `SKIP` (stop looking for this key,
    /// decide nothing) and for values that are not verdicts.
    static func parse(_ value: String, rejection: SMTPReply) -> Action? {
        let trimmed = value.trimmingSpaces
        switch trimmed.uppercased() {
        case "OK": return .ok
        case "RELAY": return .relay
        case "DISCARD": return .discard
        case "REJECT": return .reject(rejection)
        case "SKIP": return nil
        default: break
        }
        var body = trimmed
        if body.uppercased().hasPrefix("ERROR:") {
            body = String(body.dropFirst("ERROR:".count))
        } else if !(body.first?.isNumber ?? false) {
            return nil
        }
        if body.hasPrefix("\""), body.hasSuffix("\""), body.count >= 2 { body = String(body.dropFirst().dropLast()) }
        // ERROR:D.D.D:NNN text
        var enhanced: EnhancedStatusCode?
        let parts = body.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        if parts.count == 2, let code = EnhancedStatusCode(parts[0]) {
            enhanced = code
            body = String(parts[1])
        }
        if body.hasPrefix("\""), body.hasSuffix("\""), body.count >= 2 { body = String(body.dropFirst().dropLast()) }
        var code = 550
        if body.count >= 3, let number = Int(body.prefix(3)), (400...599).contains(number) {
            code = number
            body = String(body.dropFirst(3)).trimmingSpaces
        }
        // An enhanced code may also lead the text: "550 5.7.1 text".
        if enhanced == nil, let space = body.firstIndex(of: " "), let inline = EnhancedStatusCode(body[..<space]) {
            enhanced = inline
            body = String(body[body.index(after: space)...])
        }
        let status = enhanced ?? EnhancedStatusCode(code / 100, 0, 0)!
        return .reject(SMTPReply(code, status.withClass(code / 100), body.isEmpty ? rejection.lines.joined(separator: " ") : body))
    }
}

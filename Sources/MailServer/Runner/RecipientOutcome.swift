import SMTPProtocol

/// What one delivery attempt did for one recipient.
enum RecipientOutcome: Sendable {
    /// Delivered or handed on. `relayedWithoutDSN`: the next hop does not do DSN (RFC 3461
    /// §6.2.2), so a NOTIFY=SUCCESS recipient gets a `relayed` report from here. `final`: a local
    /// mailbox or an LMTP server took it (`delivered`).
    case delivered(reply: String, remote: String?, relayedWithoutDSN: Bool, final: Bool)
    /// Failed for now: try again later.
    case temporary(status: EnhancedStatusCode, reply: String, remote: String?)
    /// Failed for good.
    case permanent(status: EnhancedStatusCode, reply: String, remote: String?)

    /// The outcome for a reply (2yz, 4yz or 5yz) from `remote`.
    static func from(_ reply: SMTPReply, remote: String?, relayedWithoutDSN: Bool = false, final: Bool = false) -> RecipientOutcome {
        let text = reply.description
        if reply.isPositiveCompletion {
            return .delivered(reply: text, remote: remote, relayedWithoutDSN: relayedWithoutDSN, final: final)
        }
        if reply.isPermanentFailure {
            return .permanent(status: reply.enhancedCode ?? EnhancedStatusCode(5, 0, 0)!, reply: text, remote: remote)
        }
        return .temporary(status: reply.enhancedCode ?? EnhancedStatusCode(4, 0, 0)!, reply: text, remote: remote)
    }

    /// Several outcomes for one recipient (an alias's targets) as one: any temporary failure makes
    /// it temporary (it is tried again), else any permanent failure makes it permanent.
    static func combined(_ outcomes: [RecipientOutcome]) -> RecipientOutcome {
        if let temporary = outcomes.first(where: { if case .temporary = $0 { true } else { false } }) { return temporary }
        if let permanent = outcomes.first(where: { if case .permanent = $0 { true } else { false } }) { return permanent }
        return outcomes.first ?? .permanent(status: EnhancedStatusCode(5, 1, 1)!, reply: "550 5.1.1 the alias has no targets", remote: nil)
    }

    var reply: String {
        switch self {
        case .delivered(let reply, _, _, _), .temporary(_, let reply, _), .permanent(_, let reply, _): reply
        }
    }

    var remote: String? {
        switch self {
        case .delivered(_, let remote, _, _), .temporary(_, _, let remote), .permanent(_, _, let remote): remote
        }
    }

    /// The enhanced status code (RFC 3463) for the log and DSN.
    var status: EnhancedStatusCode {
        switch self {
        case .delivered: .success
        case .temporary(let status, _, _), .permanent(let status, _, _): status
        }
    }
}

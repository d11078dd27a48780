public import SMTPProtocol

/// A backend's answer to one step of a session (connect, EHLO, AUTH, MAIL, RCPT, the message):
/// go on, with the standard reply or one of its own, or refuse with a reply.
///
/// ```swift
/// func recipient(_ path: ForwardPath, parameters: RecipientParameters) async throws -> SMTPDecision {
///     path.mailbox?.domain == .name("example.org") ? .accept : .reject(.userUnknown)
/// }
/// ```
///
/// A refusal with a 421 reply closes the connection after the reply (RFC 5321 §3.8), as does
/// ``rejectAndClose(_:)`` with any reply.
public struct SMTPDecision: Hashable, Sendable, CustomStringConvertible {
    enum Kind: Hashable, Sendable {
        case accept(SMTPReply?)
        case reject(SMTPReply)
        case rejectAndClose(SMTPReply)
    }

    let kind: Kind

    /// Go on, with the standard reply (RFC 5321 §4.2.2's 250 for MAIL and RCPT).
    public static let accept = SMTPDecision(kind: .accept(nil))

    /// Go on, with `reply` (a 2yz reply: `250 2.0.0 Ok: queued as 4B1A2b3c`).
    public static func accept(_ reply: SMTPReply) -> SMTPDecision {
        SMTPDecision(kind: .accept(reply))
    }

    /// Refuse with `reply` (a 4yz or 5yz reply, RFC 5321 §4.2.1).
    public static func reject(_ reply: SMTPReply) -> SMTPDecision {
        SMTPDecision(kind: .reject(reply))
    }

    /// Refuse with `reply` and close the connection after it.
    public static func rejectAndClose(_ reply: SMTPReply) -> SMTPDecision {
        SMTPDecision(kind: .rejectAndClose(reply))
    }

    /// Whether the step goes on.
    public var isAccepted: Bool {
        if case .accept = kind { return true }
        return false
    }

    /// The reply the decision carries, if any.
    public var reply: SMTPReply? {
        switch kind {
        case .accept(let reply): reply
        case .reject(let reply), .rejectAndClose(let reply): reply
        }
    }

    public var description: String {
        switch kind {
        case .accept(let reply): reply.map { "accept \($0)" } ?? "accept"
        case .reject(let reply): "reject \(reply)"
        case .rejectAndClose(let reply): "reject and close \(reply)"
        }
    }
}

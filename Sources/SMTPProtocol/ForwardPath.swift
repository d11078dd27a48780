/// The argument of RCPT TO (RFC 5321 §4.1.2): a mailbox, or the bare `<Postmaster>` every server
/// must accept (RFC 5321 §4.5.1).
public struct ForwardPath: Hashable, Sendable, CustomStringConvertible {
    /// What the path names.
    public enum Recipient: Hashable, Sendable {
        /// A mailbox.
        case mailbox(Mailbox)
        /// `<Postmaster>` with no domain: the postmaster of the receiving host.
        case postmaster
    }

    /// What the path names.
    public var recipient: Recipient
    /// The hosts of a source route (`<@a,@b:user@c>`), reported so policy can strip or refuse it
    /// (RFC 5321 §4.1.1.3, Appendix C).
    public var sourceRoute: [String]

    public init(_ recipient: Recipient, sourceRoute: [String] = []) {
        self.recipient = recipient
        self.sourceRoute = sourceRoute
    }

    /// A path to a mailbox.
    public init(mailbox: Mailbox) {
        self.init(.mailbox(mailbox))
    }

    /// The mailbox, or `nil` for `<Postmaster>`.
    public var mailbox: Mailbox? {
        guard case .mailbox(let mailbox) = recipient else { return nil }
        return mailbox
    }

    /// Whether the path needs SMTPUTF8.
    public var isASCII: Bool { mailbox?.isASCII ?? true }

    /// The path as written on the wire, without a source route.
    public var description: String {
        switch recipient {
        case .mailbox(let mailbox): "<\(mailbox.quoted)>"
        case .postmaster: "<Postmaster>"
        }
    }
}

/// The argument of RCPT TO (RFC 5321 §4.1.2): a mailbox, or the bare `<Postmaster>` every server
/// must accept (RFC 5321 §4.5.1).
///
/// Encoded as it was made, source route included (see ``ReversePath``).
public struct ForwardPath: Hashable, Sendable, CustomStringConvertible {
    /// What the path names.
    public enum Recipient: Hashable, Sendable {
        /// A mailbox.
        case mailbox(Mailbox)
        /// `<Postmaster>` with no domain: the postmaster of the receiving host.
        case postmaster
    }

    /// What the path names.
    public let recipient: Recipient
    /// The hosts of a source route (`<@a,@b:user@c>`), reported so policy can strip or refuse it
    /// (RFC 5321 §4.1.1.3, Appendix C).
    public let sourceRoute: [String]

    /// A path without a source route.
    public init(_ recipient: Recipient) {
        self.recipient = recipient
        self.sourceRoute = []
    }

    /// A path behind a source route.
    ///
    /// - Throws: ``SMTPAddressError`` when a host of the route is not a domain name (RFC 5321
    ///   §4.1.2 `At-domain`), or a route is given for `<Postmaster>`.
    public init(_ recipient: Recipient, sourceRoute: [String]) throws(SMTPAddressError) {
        guard recipient != .postmaster || sourceRoute.isEmpty else {
            throw SMTPAddressError(.malformedPath, "<Postmaster> has no source route")
        }
        for host in sourceRoute { _ = try MailboxDomain.name(host) }
        self.recipient = recipient
        self.sourceRoute = sourceRoute
    }

    /// Checked already (by the parser).
    init(_ recipient: Recipient, validatedRoute: [String]) {
        self.recipient = recipient
        self.sourceRoute = validatedRoute
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

    /// The path as written on the wire, with its source route if it has one.
    public var description: String {
        switch recipient {
        case .mailbox(let mailbox):
            let route = sourceRoute.isEmpty ? "" : sourceRoute.map { "@" + $0 }.joined(separator: ",") + ":"
            return "<\(route)\(mailbox.quoted)>"
        case .postmaster:
            return "<Postmaster>"
        }
    }
}

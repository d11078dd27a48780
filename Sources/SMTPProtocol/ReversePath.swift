/// The argument of MAIL FROM (RFC 5321 §4.1.2): `<>` (the null reverse path, for bounces) or a
/// mailbox, possibly behind an obsolete source route.
///
/// Encoded as it was made: a source route that was given is written (`<@a,@b:user@c>`), so that a
/// path encodes to what it is equal to. A client that must not send routes (RFC 5321 §4.1.1.3,
/// Appendix C) makes its paths without one.
public struct ReversePath: Hashable, Sendable, CustomStringConvertible {
    /// The sender's mailbox; `nil` for the null reverse path `<>`.
    public let mailbox: Mailbox?
    /// The hosts of a source route (`<@a,@b:user@c>` gives `["a", "b"]`). RFC 5321 §4.1.1.3
    /// says servers should ignore it; it is reported so policy can strip or refuse it.
    public let sourceRoute: [String]

    /// A path to `mailbox`, or the null path for `nil`.
    public init(mailbox: Mailbox?) {
        self.mailbox = mailbox
        self.sourceRoute = []
    }

    /// A path behind a source route.
    ///
    /// - Throws: ``SMTPAddressError`` when a host of the route is not a domain name (RFC 5321
    ///   §4.1.2 `At-domain`), or a route is given for the null path.
    public init(mailbox: Mailbox?, sourceRoute: [String]) throws(SMTPAddressError) {
        guard mailbox != nil || sourceRoute.isEmpty else {
            throw SMTPAddressError(.malformedPath, "the null reverse path <> has no source route")
        }
        for host in sourceRoute { _ = try MailboxDomain.name(host) }
        self.mailbox = mailbox
        self.sourceRoute = sourceRoute
    }

    /// Checked already (by the parser).
    init(mailbox: Mailbox?, validatedRoute: [String]) {
        self.mailbox = mailbox
        self.sourceRoute = validatedRoute
    }

    /// The null reverse path `<>`.
    public static let null = ReversePath(mailbox: nil)

    /// Whether this is `<>`.
    public var isNull: Bool { mailbox == nil }

    /// The path as written on the wire, in angle brackets, with its source route if it has one.
    public var description: String {
        let route = sourceRoute.isEmpty ? "" : sourceRoute.map { "@" + $0 }.joined(separator: ",") + ":"
        return "<\(route)\(mailbox?.quoted ?? "")>"
    }
}

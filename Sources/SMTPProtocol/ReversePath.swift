/// The argument of MAIL FROM (RFC 5321 §4.1.2): `<>` (the null reverse path, for bounces) or a
/// mailbox, possibly behind an obsolete source route.
public struct ReversePath: Hashable, Sendable, CustomStringConvertible {
    /// The sender's mailbox; `nil` for the null reverse path `<>`.
    public var mailbox: Mailbox?
    /// The hosts of a source route (`<@a,@b:user@c>` gives `["a", "b"]`). RFC 5321 §4.1.1.3
    /// says servers should ignore it; it is reported so policy can strip or refuse it.
    public var sourceRoute: [String]

    public init(mailbox: Mailbox?, sourceRoute: [String] = []) {
        self.mailbox = mailbox
        self.sourceRoute = sourceRoute
    }

    /// The null reverse path `<>`.
    public static let null = ReversePath(mailbox: nil)

    /// Whether this is `<>`.
    public var isNull: Bool { mailbox == nil }

    /// The path as written on the wire, in angle brackets (without the source route, which
    /// SwiftMTA never forwards).
    public var description: String { "<\(mailbox?.quoted ?? "")>" }
}

/// A delivery agent, by its Sendmail name: what a routing decision hands the message to.
///
/// Sendmail's `MAILER()` definitions name them (`local`, `smtp`, `esmtp`, `smtp8`, `dsmtp`,
/// `relay`); SwiftMTA keeps the names so that mailertable entries (`esmtp:[host]`) read unchanged.
/// Open-ended: a mailertable may name a mailer SwiftMTA does not define, which routing reports.
public struct Mailer: Hashable, Sendable, CustomStringConvertible {
    /// The mailer's name as a mailertable spells it.
    public let name: String

    /// The mailer called `name`, compared as written (case matters). Any name is taken; one that
    /// ``RoutingConfiguration/mailers`` does not define makes routing refuse the address with 451
    /// 4.3.5 (``RoutingError/Kind/unknownMailer``).
    public init(_ name: String) {
        self.name = name
    }

    /// Local delivery to a user's mailbox.
    public static let local = Mailer("local")
    /// SMTP without extensions (HELO).
    public static let smtp = Mailer("smtp")
    /// Extended SMTP (EHLO).
    public static let esmtp = Mailer("esmtp")
    /// SMTP that sends 8-bit data unchanged.
    public static let smtp8 = Mailer("smtp8")
    /// On-demand SMTP (deliver on the next queue run).
    public static let dsmtp = Mailer("dsmtp")
    /// The mailer for relaying to a smart host or mail hub (Sendmail's `relay`).
    public static let relay = Mailer("relay")
    /// LMTP to a local delivery agent (RFC 2033).
    public static let lmtp = Mailer("lmtp")
    /// Refuses the address with an error (mailertable or virtusertable `error:`).
    public static let error = Mailer("error")
    /// Accepts and discards (access `DISCARD`, mailertable `discard:`).
    public static let discard = Mailer("discard")

    public var description: String { name }
}

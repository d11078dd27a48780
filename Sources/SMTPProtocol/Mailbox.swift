/// A mailbox: `Local-part "@" ( Domain / address-literal )` (RFC 5321 §4.1.2).
///
/// The local part is kept in its internal (unquoted) form; ``quoted`` gives the form that goes on
/// the wire. With SMTPUTF8 (RFC 6531) both parts may hold UTF-8; ``isASCII`` tells whether the
/// mailbox needs it.
public struct Mailbox: Hashable, Sendable, CustomStringConvertible {
    /// The local part, unquoted: `"john doe"@example.com` has the local part `john doe`.
    public var localPart: LocalPart
    /// The domain or address literal after the `@`.
    public var domain: MailboxDomain

    /// The mailbox `localPart@domain`. Both parts were checked when they were made (RFC 5321
    /// §4.1.2); this adds no check of its own, not the length limits of §4.5.3.1.
    public init(localPart: LocalPart, domain: MailboxDomain) {
        self.localPart = localPart
        self.domain = domain
    }

    /// Parses `local@domain` as it appears inside a path, without angle brackets.
    ///
    /// - Throws: ``SMTPAddressError`` naming what is wrong.
    public init(parsing text: Substring) throws(SMTPAddressError) {
        var parser = SMTPAddressParser(text)
        self = try parser.parseMailbox()
        try parser.expectEnd()
    }

    /// Parses `local@domain` as it appears inside a path, without angle brackets.
    public init(parsing text: String) throws(SMTPAddressError) {
        try self.init(parsing: Substring(text))
    }

    /// The mailbox as it is written in a path: the local part quoted when it must be.
    public var quoted: String { "\(localPart.quoted)@\(domain)" }

    /// Whether both parts are ASCII (the mailbox needs no SMTPUTF8).
    public var isASCII: Bool { localPart.isASCII && domain.isASCII }

    public var description: String { quoted }
}

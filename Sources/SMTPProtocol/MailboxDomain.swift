/// What follows the `@` of a mailbox: a domain name or an address literal (RFC 5321 §4.1.2, §4.1.3).
///
/// A value is always well formed: every way of making one checks the syntax (RFC 5321 §4.1.2
/// `Domain`, with U-labels under the IDNA rules of RFC 5890–5892, or an address literal of
/// §4.1.3), so no domain can carry a CR, LF, NUL, space or `>` into a command line.
public struct MailboxDomain: Hashable, Sendable, CustomStringConvertible {
    /// Which form the domain has, and its text.
    public enum Kind: Hashable, Sendable {
        /// A domain name as written (`Mail.Example.COM`); U-labels allowed (RFC 6531, used only
        /// with SMTPUTF8). Compare with ``MailboxDomain/normalizedName``.
        case name(String)
        /// `[192.0.2.1]`: an IPv4 address literal, holding the dotted-quad text.
        case ipv4(String)
        /// `[IPv6:2001:db8::1]`: an IPv6 address literal, holding the address text after `IPv6:`.
        case ipv6(String)
        /// `[tag:content]`: a general address literal (RFC 5321 §4.1.3) with a standardized tag
        /// other than IPv6.
        case general(tag: String, content: String)
    }

    /// The form and text.
    public let kind: Kind

    /// Checked already (by the parser).
    init(validated kind: Kind) {
        self.kind = kind
    }

    /// Makes a domain of the given form.
    ///
    /// - Throws: ``SMTPAddressError`` when the text is not a domain name (RFC 5321 §4.1.2, RFC
    ///   5890 for U-labels) or not an address literal of that form (RFC 5321 §4.1.3).
    public init(_ kind: Kind) throws(SMTPAddressError) {
        var parser = SMTPAddressParser(Substring(Self.written(kind)))
        let parsed = try parser.parseDomain()
        try parser.expectEnd()
        guard parsed.kind == kind else {
            throw SMTPAddressError(.malformedDomain, "\(Self.written(kind).prefix(64)) does not read back as written")
        }
        self.kind = kind
    }

    /// A domain name (RFC 5321 §4.1.2 `Domain`).
    ///
    /// - Throws: ``SMTPAddressError`` when `name` is not a domain name.
    public static func name(_ name: String) throws(SMTPAddressError) -> MailboxDomain {
        try MailboxDomain(.name(name))
    }

    /// An IPv4 address literal (RFC 5321 §4.1.3), from its dotted-quad text.
    ///
    /// - Throws: ``SMTPAddressError`` when `address` is not a dotted quad.
    public static func ipv4(_ address: String) throws(SMTPAddressError) -> MailboxDomain {
        try MailboxDomain(.ipv4(address))
    }

    /// An IPv6 address literal (RFC 5321 §4.1.3), from the address text that follows `IPv6:`.
    ///
    /// - Throws: ``SMTPAddressError`` when `address` is not an IPv6 address.
    public static func ipv6(_ address: String) throws(SMTPAddressError) -> MailboxDomain {
        try MailboxDomain(.ipv6(address))
    }

    /// A general address literal (RFC 5321 §4.1.3): `[tag:content]`.
    ///
    /// - Throws: ``SMTPAddressError`` when the tag or the content is not allowed there.
    public static func general(tag: String, content: String) throws(SMTPAddressError) -> MailboxDomain {
        try MailboxDomain(.general(tag: tag, content: content))
    }

    /// The domain name lower-cased (ASCII letters only), for comparisons and table lookups;
    /// `nil` for address literals.
    public var normalizedName: String? {
        guard case .name(let name) = kind else { return nil }
        return SMTPCharacterClass.asciiLowercased(name)
    }

    /// Whether this is a domain name (not an address literal).
    public var isName: Bool {
        if case .name = kind { return true }
        return false
    }

    /// The key Sendmail uses for the domain in its tables: the lower-cased name, or the literal
    /// with its brackets (`[192.0.2.1]`).
    public var lookupKey: String {
        normalizedName ?? description
    }

    /// Whether the domain is ASCII only.
    public var isASCII: Bool { description.utf8.allSatisfy { $0 < 0x80 } }

    /// The form written in a path: the name, or the literal in brackets.
    public var description: String { Self.written(kind) }

    private static func written(_ kind: Kind) -> String {
        switch kind {
        case .name(let name): name
        case .ipv4(let address): "[\(address)]"
        case .ipv6(let address): "[IPv6:\(address)]"
        case .general(let tag, let content): "[\(tag):\(content)]"
        }
    }
}

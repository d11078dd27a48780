/// What follows the `@` of a mailbox: a domain name or an address literal (RFC 5321 §4.1.2, §4.1.3).
public enum MailboxDomain: Hashable, Sendable, CustomStringConvertible {
    /// A domain name as written (`Mail.Example.COM`); U-labels allowed with SMTPUTF8 (RFC 6531).
    /// Compare with ``normalizedName``.
    case name(String)
    /// `[192.0.2.1]`: an IPv4 address literal, holding the dotted-quad text.
    case ipv4(String)
    /// `[IPv6:2001:db8::1]`: an IPv6 address literal, holding the address text after `IPv6:`.
    case ipv6(String)
    /// `[tag:content]`: a general address literal (RFC 5321 §4.1.3) with a standardized tag other
    /// than IPv6.
    case general(tag: String, content: String)

    /// The domain name lower-cased (ASCII letters only), for comparisons and table lookups;
    /// `nil` for address literals.
    public var normalizedName: String? {
        guard case .name(let name) = self else { return nil }
        return SMTPCharacterClass.asciiLowercased(name)
    }

    /// The key Sendmail uses for the domain in its tables: the lower-cased name, or the literal
    /// with its brackets (`[192.0.2.1]`).
    public var lookupKey: String {
        switch self {
        case .name: normalizedName ?? ""
        case .ipv4, .ipv6, .general: description
        }
    }

    /// Whether the domain is ASCII only.
    public var isASCII: Bool { description.utf8.allSatisfy { $0 < 0x80 } }

    /// The form written in a path: the name, or the literal in brackets.
    public var description: String {
        switch self {
        case .name(let name): name
        case .ipv4(let address): "[\(address)]"
        case .ipv6(let address): "[IPv6:\(address)]"
        case .general(let tag, let content): "[\(tag):\(content)]"
        }
    }
}

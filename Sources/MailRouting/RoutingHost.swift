/// Where a network mailer connects (Sendmail's `$@`).
public enum RoutingHost: Hashable, Sendable, CustomStringConvertible {
    /// A domain whose MX records are looked up, then its addresses (RFC 5321 §5.1).
    case mx(String)
    /// `[host]`: the host's own addresses, no MX lookup (mailertable and SMART_HOST brackets).
    case direct(String)
    /// `[192.0.2.1]`, `[IPv6:…]`: an address literal.
    case literal(String)

    /// Parses a mailertable or SMART_HOST host: `[name]` is direct, `[1.2.3.4]` and
    /// `[IPv6:…]` are literals, anything else is looked up by MX.
    public init(parsing text: String) {
        guard text.hasPrefix("["), text.hasSuffix("]"), text.count > 2 else {
            self = .mx(text)
            return
        }
        let inner = String(text.dropFirst().dropLast())
        if inner.lowercased().hasPrefix("ipv6:") || inner.split(separator: ".").count == 4 && inner.allSatisfy({ $0.isNumber || $0 == "." }) {
            self = .literal(inner)
        } else {
            self = .direct(inner)
        }
    }

    /// Whether MX records are used.
    public var usesMX: Bool {
        if case .mx = self { return true }
        return false
    }

    /// The host as Sendmail writes it: bare for MX routing, in brackets otherwise.
    public var description: String {
        switch self {
        case .mx(let name): name
        case .direct(let name): "[\(name)]"
        case .literal(let address): "[\(address)]"
        }
    }
}

public import SMTPProtocol

/// Where the client delivers: a smart host, the mail exchangers of a domain, a host, or an LMTP
/// server — with the port, the TLS policy and the credentials that go with it.
///
/// ```swift
/// let submission = SMTPDestination.smartHost("mail.example.com", port: 587, tls: .required,
///                                            credentials: SMTPClientCredentials(user: "alice", password: "secret"))
/// let internet = SMTPDestination.mailExchangers(for: "example.org", tls: .dane)
/// let relay = SMTPDestination.host("[10.0.0.25]")          // Sendmail's brackets: no MX lookup
/// let mailboxes = SMTPDestination.lmtp(socket: "/run/dovecot/lmtp")
/// ```
///
/// How a host is reached (RFC 5321 §5.1): the MX records of a domain in preference order, servers
/// of equal preference in random order, each server's IPv6 and IPv4 addresses in turn; a domain
/// without MX records is its own mail exchanger; a null MX (RFC 7505) refuses mail. A named host
/// (`[mail.example.com]`) is reached at its own addresses, an address literal (`[192.0.2.1]`,
/// `[IPv6:2001:db8::1]`) directly.
public struct SMTPDestination: Sendable, CustomStringConvertible {
    /// What is connected to.
    public enum Target: Hashable, Sendable, CustomStringConvertible {
        /// The mail exchangers of a domain (MX records, then the domain's own addresses).
        case mailExchangers(domain: String)
        /// A host by name, at its own A and AAAA addresses; no MX lookup.
        case host(String)
        /// A numeric IPv4 or IPv6 address.
        case address(String)
        /// A Unix-domain socket (LMTP to a local mailbox server).
        case unixSocket(path: String)

        /// Reads a host as Sendmail's mailertable and SMART_HOST write it: `[name]` is a host,
        /// `[192.0.2.1]` and `[IPv6:…]` are addresses, a bare address is an address, and anything
        /// else is a domain whose MX records are looked up.
        public init(parsing text: String) {
            var inner = Substring(text)  // what is inside the brackets, if there are any
            let bracketed = inner.hasPrefix("[") && inner.hasSuffix("]") && inner.count > 2
            if bracketed { inner = inner.dropFirst().dropLast() }
            let tagged = inner.lowercased().hasPrefix("ipv6:") ? inner.dropFirst(5) : inner
            if SMTPDestination.isNumericAddress(tagged) {
                self = .address(String(tagged))
            } else {
                self = bracketed ? .host(String(inner)) : .mailExchangers(domain: String(inner))
            }
        }

        /// `example.org` (MX), `[mail.example.com]`, `[192.0.2.1]`, `unix:/run/lmtp`.
        public var description: String {
            switch self {
            case .mailExchangers(let domain): domain
            case .host(let name): "[\(name)]"
            case .address(let address): address.contains(":") ? "[IPv6:\(address)]" : "[\(address)]"
            case .unixSocket(let path): "unix:\(path)"
            }
        }
    }

    /// What is connected to.
    public var target: Target
    /// The TCP port (ignored for a Unix-domain socket).
    public var port: Int
    /// SMTP or LMTP (RFC 2033).
    public var dialect: SMTPServerConfiguration.Dialect
    /// How TLS is used.
    public var tls: SMTPClientTLSPolicy
    /// What to authenticate with, if anything (RFC 4954).
    public var credentials: SMTPClientCredentials?

    /// A destination.
    public init(
        target: Target, port: Int = 25, dialect: SMTPServerConfiguration.Dialect = .smtp,
        tls: SMTPClientTLSPolicy = .opportunistic, credentials: SMTPClientCredentials? = nil
    ) {
        self.target = target
        self.port = port
        self.dialect = dialect
        self.tls = tls
        self.credentials = credentials
    }

    /// A submission server (RFC 6409) or relay, at its own addresses — no MX lookup. `host` may be
    /// a name, `[name]`, or an address. Port 465 means implicit TLS (RFC 8314 §3.3).
    public static func smartHost(
        _ host: String, port: Int = 587, tls: SMTPClientTLSPolicy = .required, credentials: SMTPClientCredentials? = nil
    ) -> SMTPDestination {
        var target = Target(parsing: host)
        if case .mailExchangers(let name) = target { target = .host(name) }
        return SMTPDestination(target: target, port: port, tls: tls, credentials: credentials)
    }

    /// The mail exchangers of `domain` (RFC 5321 §5.1), on port 25 by default.
    public static func mailExchangers(
        for domain: String, port: Int = 25, tls: SMTPClientTLSPolicy = .opportunistic
    ) -> SMTPDestination {
        SMTPDestination(target: .mailExchangers(domain: domain), port: port, tls: tls)
    }

    /// A host as Sendmail writes it (see ``Target/init(parsing:)``): `[name]` and addresses
    /// directly, a bare name through its MX records.
    public static func host(
        _ host: String, port: Int = 25, tls: SMTPClientTLSPolicy = .opportunistic, credentials: SMTPClientCredentials? = nil
    ) -> SMTPDestination {
        SMTPDestination(target: Target(parsing: host), port: port, tls: tls, credentials: credentials)
    }

    /// An LMTP server on TCP (RFC 2033; no TLS by default).
    public static func lmtp(host: String, port: Int = 24, tls: SMTPClientTLSPolicy = .none) -> SMTPDestination {
        var target = Target(parsing: host)
        if case .mailExchangers(let name) = target { target = .host(name) }
        return SMTPDestination(target: target, port: port, dialect: .lmtp, tls: tls)
    }

    /// An LMTP server on a Unix-domain socket (RFC 2033).
    public static func lmtp(socket path: String) -> SMTPDestination {
        SMTPDestination(target: .unixSocket(path: path), port: 0, dialect: .lmtp, tls: .none)
    }

    /// Whether TLS starts before the greeting: asked for, or port 465 (RFC 8314 §3.3).
    var usesImplicitTLS: Bool {
        guard tls.level != .none else { return false }
        if case .unixSocket = target { return tls.implicitTLS }
        return tls.implicitTLS || port == 465
    }

    /// `example.org:25 (MX, tls opportunistic)`.
    public var description: String {
        var text = "\(target)"
        if case .unixSocket = target {} else { text += ":\(port)" }
        if case .mailExchangers = target { text += " (MX)" }
        text += dialect == .lmtp ? " LMTP" : ""
        text += ", tls \(tls)"
        if let credentials { text += ", auth \(credentials)" }
        return text
    }

    /// Whether `text` is a numeric IPv4 or IPv6 address (ASCII only: a digit with a combining
    /// mark is not a digit).
    static func isNumericAddress(_ text: Substring) -> Bool {
        let bytes = Array(text.utf8)
        func isDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
        if bytes.contains(UInt8(ascii: ":")) {
            let hex = bytes.allSatisfy { byte in
                isDigit(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte | 0x20) || byte == UInt8(ascii: ":") || byte == UInt8(ascii: ".")
            }
            return hex && bytes.filter { $0 == UInt8(ascii: ":") }.count >= 2
        }
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in
            (1...3).contains(part.count) && part.allSatisfy(isDigit) && part.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) } <= 255
        }
    }
}

public import SMTPProtocol
import MailMaps

/// An address as routing sees it: a local part and, unless it is a bare local name (`root`), a
/// domain. Unlike SMTPProtocol's ``Mailbox`` it also holds what Sendmail's address test mode
/// accepts: a bare local name, the source route of a path, and the local parts table rewriting
/// can make (`"quoted user"..`), which need not be valid RFC 5321.
public struct RoutingAddress: Hashable, Sendable, CustomStringConvertible {
    /// The local part as written, quotes included (`"john doe"`): the form Sendmail's tables use.
    public var localPart: String
    /// The domain as written, or `nil` for a bare local name.
    public var domain: MailboxDomain?
    /// A source route that came with the path (`@a,@b:user@c`), kept so the relay check can refuse it.
    public var sourceRoute: [String]
    /// Whether the domain was written with a trailing dot (`user@example.org.`): an absolute name
    /// (RFC 1035 §3.1). The address is the same; Sendmail keeps the dot in the host it connects to.
    public var domainIsAbsolute: Bool = false

    /// An address from its parts as written: `localPart` quotes included, `domain` `nil` for a bare
    /// local name, `sourceRoute` the hosts of the path's source route. Nothing is checked (unlike
    /// ``init(parsing:)``); ``domainIsAbsolute`` starts `false`.
    public init(localPart: String, domain: MailboxDomain?, sourceRoute: [String] = []) {
        self.localPart = localPart
        self.domain = domain
        self.sourceRoute = sourceRoute
    }

    /// The address of a mailbox.
    public init(_ mailbox: Mailbox, sourceRoute: [String] = []) {
        self.init(localPart: mailbox.localPart.quoted, domain: mailbox.domain, sourceRoute: sourceRoute)
    }

    /// The address of a RCPT path (`<Postmaster>` is the local postmaster).
    public init(_ path: ForwardPath) {
        switch path.recipient {
        case .mailbox(let mailbox): self.init(mailbox, sourceRoute: path.sourceRoute)
        case .postmaster: self.init(localPart: "postmaster", domain: nil)
        }
    }

    /// Parses what an administrator types (and what `To:`, `Cc:` and `Bcc:` headers hold): an
    /// RFC 5322 mailbox with a display name, quoted or not, and comments (`Amy Tebbe
    /// <amy@tebbe.org>`, `"Tebbe, Amy" <amy@tebbe.org>`, `amy@tebbe.org (Amy)`), nested angle
    /// brackets (`<<amy@tebbe.org>>`), a source route (`<@a:user@b>`), a trailing dot on the domain
    /// (`amy@tebbe.org.`, kept in ``domainIsAbsolute``), or a bare local name with Sendmail's
    /// routing characters (`root`, `host!user`, `user%host`) — as Sendmail's address test mode
    /// reads them (RFC 5322 §3.4, RFC 5321 §4.1.2).
    ///
    /// Envelope syntax at SMTP stays strict: the server builds addresses from its parsed
    /// ``ForwardPath`` and ``ReversePath``, never from this.
    ///
    /// - Throws: ``RoutingError`` (553 5.1.3) when the text is none of these.
    public init(parsing text: String) throws(RoutingError) {
        let trimmed = try Self.mailboxText(text)
        if !trimmed.contains("@"), !trimmed.isEmpty,
           trimmed.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0 != "," && $0 != ";" && $0 != "<" && $0 != ">" }) {
            self.init(localPart: trimmed, domain: nil)
            return
        }
        // Two unquoted "@" in the mailbox: Sendmail's Parse0 calls it an invalid route address.
        var body = Substring(trimmed)
        if body.hasPrefix("@"), let colon = body.firstIndex(of: ":") { body = body[body.index(after: colon)...] }
        var quoted = false
        var ats = 0
        for character in body {
            if character == "\"" { quoted.toggle() }
            if character == "@", !quoted { ats += 1 }
        }
        if ats > 1 {
            throw RoutingError(.invalidAddress, reply: SMTPReply(553, .badDestinationSyntax, "Invalid route address"))
        }
        // A trailing dot makes the domain absolute (RFC 1035 §3.1); the address is the same.
        var absolute = false
        var candidate = trimmed
        if candidate.hasSuffix("."), !candidate.hasSuffix(".."), candidate.contains("@"), !candidate.hasSuffix("@.") {
            candidate.removeLast()
            absolute = true
        }
        do {
            guard case .recipient(let path, _) = try SMTPCommand.parse(Substring("RCPT TO:<\(candidate)>")) else {
                throw RoutingError(.invalidAddress, reply: SMTPReply(553, .badDestinationSyntax, "Invalid address"))
            }
            self.init(path)
            self.domainIsAbsolute = absolute
        } catch let error as SMTPCommandError {
            throw RoutingError(.invalidAddress, reply: SMTPReply(553, .badDestinationSyntax, error.message))
        } catch let error as RoutingError {
            throw error
        } catch {
            throw RoutingError(.invalidAddress, reply: SMTPReply(553, .badDestinationSyntax, "Invalid address"))
        }
    }

    /// The addresses of an RFC 5322 address list (RFC 5322 §3.4), as a `To:`, `Cc:` or `Bcc:`
    /// header holds it: mailboxes separated by commas (outside quotes, comments and angle
    /// brackets), each read by ``init(parsing:)``; a group (`Team: a@b.example, c@d.example;`)
    /// gives its members, an empty group none.
    ///
    /// - Throws: ``RoutingError`` (553 5.1.3) naming the first mailbox that is not an address.
    public static func list(parsing text: String) throws(RoutingError) -> [RoutingAddress] {
        var items: [String] = []
        var current = ""
        var depth = 0
        var quoted = false
        var escaped = false
        var angle = false
        for character in text {
            defer { escaped = !escaped && character == "\\" && (quoted || depth > 0) }
            if escaped { current.append(character); continue }
            if quoted {
                if character == "\"" { quoted = false }
                current.append(character)
                continue
            }
            switch character {
            case "\"" where depth == 0: quoted = true
            case "(": depth += 1
            case ")" where depth > 0: depth -= 1
            case "<" where depth == 0: angle = true
            case ">" where depth == 0: angle = false
            case "," where depth == 0 && !angle, ";" where depth == 0 && !angle:
                items.append(current)
                current = ""
                continue
            case ":" where depth == 0 && !angle && !current.contains("@") && !current.contains("<"):
                // A group's display name: its members follow.
                current = ""
                continue
            default: break
            }
            current.append(character)
        }
        items.append(current)
        var addresses: [RoutingAddress] = []
        for item in items where !(try mailboxText(item)).isEmpty {
            addresses.append(try RoutingAddress(parsing: item))
        }
        return addresses
    }

    /// The address part of an RFC 5322 mailbox: comments dropped, the innermost `<…>` taken when
    /// there is one (the display name before it and anything after it go), white space trimmed.
    static func mailboxText(_ text: String) throws(RoutingError) -> String {
        // Comments out, outside quoted strings; nesting and quoted-pairs respected (RFC 5322 §3.2.2).
        var plain = ""
        var depth = 0
        var quoted = false
        var escaped = false
        for character in text {
            if escaped {
                if depth == 0 { plain.append(character) }
                escaped = false
                continue
            }
            if character == "\\" {
                escaped = true
                if depth == 0 { plain.append(character) }
                continue
            }
            if depth == 0, character == "\"" { quoted.toggle() }
            if !quoted {
                if character == "(" { depth += 1; continue }
                if character == ")", depth > 0 { depth -= 1; continue }
            }
            if depth == 0 { plain.append(character) }
        }
        guard depth == 0, !quoted else {
            throw RoutingError(.invalidAddress, reply: SMTPReply(553, .badDestinationSyntax, quoted ? "Unbalanced '\"'" : "Unbalanced '('"))
        }
        // The innermost angle brackets outside quotes hold the address.
        var address = Substring(plain)
        while true {
            var open: String.Index?
            var close: String.Index?
            var inQuotes = false
            var index = address.startIndex
            while index < address.endIndex {
                let character = address[index]
                if character == "\"" { inQuotes.toggle() }
                if !inQuotes {
                    if character == "<" { open = index; close = nil }
                    if character == ">", open != nil, close == nil { close = index }
                }
                index = address.index(after: index)
            }
            guard let open, let close else {
                if open != nil {
                    throw RoutingError(.invalidAddress, reply: SMTPReply(553, .badDestinationSyntax, "Unbalanced '<'"))
                }
                break
            }
            address = address[address.index(after: open)..<close]
        }
        return String(address).trimmingSpaces
    }

    /// The domain lower-cased, or the literal in brackets; `nil` for a bare local name.
    public var domainKey: String? { domain?.lookupKey }

    /// Reads the result of a table rewrite (a virtusertable value after `%n` substitution):
    /// everything up to the last `@` is the local part, as written; after it a domain or literal.
    /// Without `@` it is a bare local name. `nil` when the domain part is not a domain.
    public init?(rewritten text: String) {
        let value = text.trimmingSpaces
        guard !value.isEmpty else { return nil }
        guard let at = value.lastIndex(of: "@") else {
            self.init(localPart: value, domain: nil)
            return
        }
        let local = String(value[..<at])
        let domainText = String(value[value.index(after: at)...])
        guard !local.isEmpty, let domain = try? Mailbox(parsing: "x@\(domainText)").domain else { return nil }
        self.init(localPart: local, domain: domain)
    }

    /// The local part without surrounding quotes (`"john doe"` → `john doe`).
    public var unquotedLocalPart: String {
        guard localPart.count >= 2, localPart.hasPrefix("\""), localPart.hasSuffix("\"") else { return localPart }
        var result = ""
        var escaped = false
        for character in localPart.dropFirst().dropLast() {
            if escaped || character != "\\" { result.append(character); escaped = false } else { escaped = true }
        }
        return result
    }

    /// `local@domain`, or the bare local name.
    public var description: String {
        guard let domain else { return localPart }
        return "\(localPart)@\(domain)"
    }

    /// The address with `+detail` split off the local part: `(user, detail)`; detail `nil`
    /// without a `+`, empty for `user+`.
    public var plusDetail: (user: String, detail: String?) {
        guard let plus = localPart.firstIndex(of: "+"), plus != localPart.startIndex else { return (localPart, nil) }
        return (String(localPart[..<plus]), String(localPart[localPart.index(after: plus)...]))
    }
}

extension String {
    var trimmingSpaces: String {
        var text = Substring(self)
        while text.first == " " || text.first == "\t" { text.removeFirst() }
        while text.last == " " || text.last == "\t" { text.removeLast() }
        return String(text)
    }

    var asciiLowercased: String { MailMapOptions.asciiLowercased(self) }
}

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

    /// Parses what an administrator types: `user@domain`, `<user@domain>`, `<@a:user@b>`, or a
    /// bare local name (`root`).
    ///
    /// - Throws: ``RoutingError`` (553 5.1.3) when the text is none of these.
    public init(parsing text: String) throws(RoutingError) {
        let trimmed = text.trimmingSpaces
        if !trimmed.contains("@"), !trimmed.contains("<"), !trimmed.isEmpty,
           trimmed.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0 != "\"" && $0 != "," && $0 != ";" }) {
            self.init(localPart: trimmed, domain: nil)
            return
        }
        // Two unquoted "@" in the mailbox: Sendmail's Parse0 calls it an invalid route address.
        var body = Substring(trimmed)
        if body.hasPrefix("<") { body = body.dropFirst() }
        if body.hasSuffix(">") { body = body.dropLast() }
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
        do {
            let line = "RCPT TO:" + (trimmed.hasPrefix("<") ? trimmed : "<\(trimmed)>")
            guard case .recipient(let path, _) = try SMTPCommand.parse(Substring(line)) else {
                throw RoutingError(.invalidAddress, reply: SMTPReply(553, .badDestinationSyntax, "Invalid address"))
            }
            self.init(path)
        } catch let error as SMTPCommandError {
            throw RoutingError(.invalidAddress, reply: SMTPReply(553, .badDestinationSyntax, error.message))
        } catch let error as RoutingError {
            throw error
        } catch {
            throw RoutingError(.invalidAddress, reply: SMTPReply(553, .badDestinationSyntax, "Invalid address"))
        }
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

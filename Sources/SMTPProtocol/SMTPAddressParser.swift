import NIOCore

/// A recursive-descent parser for RFC 5321 §4.1.2 paths and mailboxes, over Unicode scalars.
///
/// UTF-8 is accepted in local parts and domains (RFC 6531); whether SMTPUTF8 was negotiated is
/// checked by the caller with ``Mailbox/isASCII``.
struct SMTPAddressParser {
    private let scalars: [Unicode.Scalar]
    private var index = 0

    init(_ text: Substring) {
        scalars = Array(text.unicodeScalars)
    }

    private var current: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

    private var position: String { "at character \(index + 1)" }

    mutating func expectEnd() throws(SMTPAddressError) {
        guard index == scalars.count else {
            throw SMTPAddressError(.malformedPath, "unexpected \"\(String(current!))\" \(position)")
        }
    }

    /// `Path` or `"<>"`; brackets optional (Sendmail and Postfix accept a bare mailbox); returns
    /// the mailbox (nil for `<>`), the source route, and whether it was `<Postmaster>`.
    mutating func parsePath(allowNull: Bool) throws(SMTPAddressError) -> (mailbox: Mailbox?, route: [String], postmaster: Bool) {
        let bracketed = current == "<"
        if bracketed { index += 1 }
        if bracketed, current == ">" {
            guard allowNull else { throw SMTPAddressError(.malformedPath, "empty path <> is only allowed as a reverse path") }
            index += 1
            try expectEnd()
            return (nil, [], false)
        }
        var route: [String] = []
        if current == "@" {
            // A-d-l ":" — a source route.
            while current == "@" {
                index += 1
                route.append(try parseDomainName())
                if current == "," { index += 1; continue }
                guard current == ":" else {
                    throw SMTPAddressError(.malformedPath, "source route must end with \":\" \(position)")
                }
                index += 1
                break
            }
        }
        if bracketed, route.isEmpty, remainingEquals("postmaster>") {
            index = scalars.count
            return (nil, [], true)
        }
        let mailbox = try parseMailbox()
        if bracketed {
            guard current == ">" else {
                throw SMTPAddressError(.malformedPath, current == nil ? "missing \">\" at the end of the path" : "unexpected \"\(String(current!))\" \(position)")
            }
            index += 1
        }
        try expectEnd()
        return (mailbox, route, false)
    }

    private func remainingEquals(_ text: String) -> Bool {
        let rest = String(String.UnicodeScalarView(scalars[index...]))
        return rest.lowercased() == text
    }

    mutating func parseMailbox() throws(SMTPAddressError) -> Mailbox {
        let localPart = try parseLocalPart()
        guard current == "@" else {
            if current == nil {
                throw SMTPAddressError(.malformedPath, "missing \"@domain\" after the local part")
            }
            throw SMTPAddressError(.malformedLocalPart, "unexpected \"\(String(current!))\" in the local part \(position)")
        }
        index += 1
        let domain: MailboxDomain
        if current == "[" {
            domain = try parseAddressLiteral()
        } else {
            domain = .name(try parseDomainName())
        }
        // RFC 5321 §4.5.3.1 asks for no limits where possible: the local part is bounded only by
        // the command line; the domain by DNS (255 octets, labels of 63).
        return Mailbox(localPart: localPart, domain: domain)
    }

    private mutating func parseLocalPart() throws(SMTPAddressError) -> LocalPart {
        if current == "\"" {
            index += 1
            var text = String.UnicodeScalarView()
            while true {
                guard let scalar = current else {
                    throw SMTPAddressError(.malformedLocalPart, "unterminated quoted local part")
                }
                index += 1
                if scalar == "\"" { break }
                if scalar == "\\" {
                    guard let escaped = current, (32...126).contains(escaped.value) else {
                        throw SMTPAddressError(.malformedLocalPart, "bad quoted pair in the local part \(position)")
                    }
                    text.append(escaped)
                    index += 1
                    continue
                }
                guard SMTPCharacterClass.isQtext(scalar) else {
                    throw SMTPAddressError(.malformedLocalPart, "character U+\(String(scalar.value, radix: 16, uppercase: true)) not allowed in a quoted local part")
                }
                text.append(scalar)
            }
            return LocalPart(String(text))
        }
        var text = String.UnicodeScalarView()
        var atomLength = 0
        while let scalar = current {
            if scalar == "." {
                guard atomLength > 0 else {
                    throw SMTPAddressError(.malformedLocalPart, "empty atom in the local part \(position)")
                }
                atomLength = 0
            } else if SMTPCharacterClass.isAtext(scalar) {
                atomLength += 1
            } else {
                break
            }
            text.append(scalar)
            index += 1
        }
        guard !text.isEmpty else {
            throw SMTPAddressError(.malformedLocalPart, "empty local part")
        }
        guard atomLength > 0 else {
            throw SMTPAddressError(.malformedLocalPart, "local part ends with \".\"")
        }
        return LocalPart(String(text))
    }

    private mutating func parseDomainName() throws(SMTPAddressError) -> String {
        var text = String.UnicodeScalarView()
        var labelLength = 0
        var lastWasHyphen = false
        while let scalar = current {
            if scalar == "." {
                guard labelLength > 0 else {
                    throw SMTPAddressError(.malformedDomain, "empty label in the domain \(position)")
                }
                guard !lastWasHyphen else {
                    throw SMTPAddressError(.malformedDomain, "domain label ends with \"-\" \(position)")
                }
                labelLength = 0
            } else if scalar == "-" {
                guard labelLength > 0 else {
                    throw SMTPAddressError(.malformedDomain, "domain label starts with \"-\" \(position)")
                }
                labelLength += 1
                lastWasHyphen = true
            } else if SMTPCharacterClass.isLetDig(scalar) {
                labelLength += 1
                lastWasHyphen = false
            } else {
                break
            }
            text.append(scalar)
            index += 1
            guard labelLength <= 63 || scalars[index - 1].value >= 0x80 else {
                throw SMTPAddressError(.tooLong, "domain label longer than 63 octets")
            }
        }
        guard !text.isEmpty else {
            throw SMTPAddressError(.malformedDomain, current.map { "unexpected \"\(String($0))\" where a domain should be \(position)" } ?? "missing domain")
        }
        guard labelLength > 0 else {
            throw SMTPAddressError(.malformedDomain, "domain ends with \".\"")
        }
        guard !lastWasHyphen else {
            throw SMTPAddressError(.malformedDomain, "domain label ends with \"-\"")
        }
        let name = String(text)
        guard name.utf8.count <= 255 else {
            throw SMTPAddressError(.tooLong, "domain is longer than 255 octets (RFC 5321 §4.5.3.1.2)")
        }
        return name
    }

    private mutating func parseAddressLiteral() throws(SMTPAddressError) -> MailboxDomain {
        index += 1  // "["
        var content = String.UnicodeScalarView()
        while let scalar = current, scalar != "]" {
            guard SMTPCharacterClass.isDcontent(scalar) else {
                throw SMTPAddressError(.malformedDomain, "character not allowed in an address literal \(position)")
            }
            content.append(scalar)
            index += 1
        }
        guard current == "]" else {
            throw SMTPAddressError(.malformedDomain, "unterminated address literal")
        }
        index += 1
        let text = String(content)
        if let colon = text.firstIndex(of: ":") {
            let tag = String(text[..<colon])
            let value = String(text[text.index(after: colon)...])
            guard !tag.isEmpty, !value.isEmpty,
                  tag.unicodeScalars.allSatisfy({ SMTPCharacterClass.isLetDig($0) || $0 == "-" }),
                  tag.unicodeScalars.allSatisfy({ $0.isASCII })
            else {
                throw SMTPAddressError(.malformedDomain, "malformed address literal [\(text)]")
            }
            if tag.lowercased() == "ipv6" {
                guard Self.isIPv6(value) else {
                    throw SMTPAddressError(.malformedDomain, "malformed IPv6 address literal [\(text)]")
                }
                return .ipv6(value)
            }
            return .general(tag: tag, content: value)
        }
        guard Self.isIPv4(text) else {
            throw SMTPAddressError(.malformedDomain, "malformed IPv4 address literal [\(text)]")
        }
        return .ipv4(text)
    }

    /// `IPv4-address-literal = Snum 3("." Snum)`, each 0–255 with at most three digits.
    static func isIPv4(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in
            (1...3).contains(part.count) && part.allSatisfy { $0.isASCII && $0.isNumber } && Int(part)! <= 255
        }
    }

    /// An IPv6 address in any of RFC 5321 §4.1.3's forms (full, compressed, with IPv4 tail).
    static func isIPv6(_ text: String) -> Bool {
        guard text.contains(":"), !text.contains("%") else { return false }
        return (try? SocketAddress(ipAddress: text, port: 0)) != nil
    }
}

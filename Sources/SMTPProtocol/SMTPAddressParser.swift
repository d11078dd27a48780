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
            throw SMTPAddressError(.malformedPath, "unexpected \"\(Self.shown(current!))\" \(position)")
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
                if current == "," {
                    index += 1
                    guard current == "@" else {
                        throw SMTPAddressError(.malformedPath, "source route needs \"@domain\" after \",\" \(position)")
                    }
                    continue
                }
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
                throw SMTPAddressError(.malformedPath, current == nil ? "missing \">\" at the end of the path" : "unexpected \"\(Self.shown(current!))\" \(position)")
            }
            index += 1
        }
        try expectEnd()
        return (mailbox, route, false)
    }

    private func remainingEquals(_ text: String) -> Bool {
        let rest = String(String.UnicodeScalarView(scalars[index...]))
        return SMTPCharacterClass.asciiCaseInsensitiveEquals(rest, text)
    }

    mutating func parseMailbox() throws(SMTPAddressError) -> Mailbox {
        let localPart = try parseLocalPart()
        guard current == "@" else {
            if current == nil {
                throw SMTPAddressError(.malformedPath, "missing \"@domain\" after the local part")
            }
            throw SMTPAddressError(.malformedLocalPart, "unexpected \"\(Self.shown(current!))\" in the local part \(position)")
        }
        index += 1
        // RFC 5321 §4.5.3.1 asks for no limits where possible: the local part is bounded only by
        // the command line; the domain by DNS (255 octets, labels of 63).
        return Mailbox(localPart: localPart, domain: try parseDomain())
    }

    /// `Domain / address-literal` (RFC 5321 §4.1.2).
    mutating func parseDomain() throws(SMTPAddressError) -> MailboxDomain {
        if current == "[" {
            return try parseAddressLiteral()
        }
        return MailboxDomain(validated: .name(try parseDomainName()))
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
            return LocalPart(validated: String(text))
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
        return LocalPart(validated: String(text))
    }

    /// `Domain = sub-domain *("." sub-domain)` (RFC 5321 §4.1.2): LDH labels of ASCII letters,
    /// digits and inner hyphens; or U-labels (RFC 5890 §2.3.2.1) whose non-ASCII characters are
    /// PVALID (RFC 5892), that do not start with a combining mark or hold `--` in their third and
    /// fourth positions (RFC 5891 §4.2.3), and whose A-label is at most 63 octets. Only U+002E
    /// separates labels (U+3002 and its kin are not dots in SMTP). The whole name, in A-label
    /// form, is at most 255 octets (RFC 5321 §4.5.3.1.2).
    ///
    /// Not checked: the Bidi rule (RFC 5893) and NFC normalization of U-labels.
    private mutating func parseDomainName() throws(SMTPAddressError) -> String {
        var text = String.UnicodeScalarView()
        var label: [Unicode.Scalar] = []
        var octets = 0
        func finishLabel(at position: String) throws(SMTPAddressError) {
            guard let first = label.first, let last = label.last else {
                throw SMTPAddressError(.malformedDomain, "empty label in the domain \(position)")
            }
            guard first != "-" else {
                throw SMTPAddressError(.malformedDomain, "domain label starts with \"-\" \(position)")
            }
            guard last != "-" else {
                throw SMTPAddressError(.malformedDomain, "domain label ends with \"-\" \(position)")
            }
            var length = label.count
            if label.contains(where: { !$0.isASCII }) {
                guard !SMTPCharacterClass.isCombiningMark(first) else {
                    throw SMTPAddressError(.malformedDomain, "U-label starts with a combining mark (RFC 5891 section 4.2.3.2) \(position)")
                }
                guard !(label.count >= 4 && label[2] == "-" && label[3] == "-") else {
                    throw SMTPAddressError(.malformedDomain, "U-label has \"--\" in its third and fourth places (RFC 5891 section 4.2.3.1) \(position)")
                }
                let lowered = label.map { (0x41...0x5A).contains($0.value) ? Unicode.Scalar($0.value + 0x20)! : $0 }
                guard let encoded = Punycode.encode(lowered) else {
                    throw SMTPAddressError(.tooLong, "domain label is too long")
                }
                length = 4 + encoded.utf8.count
            }
            guard length <= 63 else {
                throw SMTPAddressError(.tooLong, "domain label longer than 63 octets")
            }
            octets += length + (octets == 0 ? 0 : 1)
        }
        while let scalar = current {
            if scalar == "." {
                try finishLabel(at: position)
                label.removeAll()
            } else if scalar == "-" || SMTPCharacterClass.isLetDig(scalar) {
                label.append(scalar)
            } else if !scalar.isASCII {
                guard SMTPCharacterClass.isIDNAPermitted(scalar) else {
                    throw SMTPAddressError(.malformedDomain, "character U+\(String(scalar.value, radix: 16, uppercase: true)) is not allowed in a domain name (RFC 5892) \(position)")
                }
                label.append(scalar)
            } else {
                break
            }
            text.append(scalar)
            index += 1
            guard text.count <= 1024 else {
                throw SMTPAddressError(.tooLong, "domain is longer than 255 octets (RFC 5321 section 4.5.3.1.2)")
            }
        }
        guard !text.isEmpty else {
            throw SMTPAddressError(.malformedDomain, current.map { "unexpected \"\(Self.shown($0))\" where a domain should be \(position)" } ?? "missing domain")
        }
        guard !label.isEmpty else {
            throw SMTPAddressError(.malformedDomain, "domain ends with \".\"")
        }
        try finishLabel(at: position)
        guard octets <= 255 else {
            throw SMTPAddressError(.tooLong, "domain is longer than 255 octets (RFC 5321 section 4.5.3.1.2)")
        }
        return String(text)
    }

    /// A scalar as an error message shows it: itself when printable ASCII, else `U+XXXX`.
    static func shown(_ scalar: Unicode.Scalar) -> String {
        (0x21...0x7E).contains(scalar.value) ? String(scalar) : "U+\(String(scalar.value, radix: 16, uppercase: true))"
    }

    /// At most `limit` characters of `text` for an error message, ASCII printable only.
    static func excerpt(_ text: String, limit: Int = 40) -> String {
        var result = String(text.unicodeScalars.prefix(limit).map { (0x20...0x7E).contains($0.value) ? Character($0) : "?" })
        if text.unicodeScalars.count > limit { result += "..." }
        return result
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
                  tag.unicodeScalars.last != "-"
            else {
                throw SMTPAddressError(.malformedDomain, "malformed address literal [\(Self.excerpt(text))]")
            }
            if SMTPCharacterClass.asciiCaseInsensitiveEquals(tag, "IPv6") {
                guard Self.isIPv6(value) else {
                    throw SMTPAddressError(.malformedDomain, "malformed IPv6 address literal [\(Self.excerpt(text))]")
                }
                return MailboxDomain(validated: .ipv6(value))
            }
            return MailboxDomain(validated: .general(tag: tag, content: value))
        }
        guard Self.isIPv4(text) else {
            throw SMTPAddressError(.malformedDomain, "malformed IPv4 address literal [\(Self.excerpt(text))]")
        }
        return MailboxDomain(validated: .ipv4(text))
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

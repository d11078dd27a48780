package import MailTLS
package import SMTPProtocol

/// The `Received:` header the server puts before a message's text (RFC 5321 §4.4): who sent it
/// (the HELO name and the address it came from), who received it, with what protocol (RFC 3848,
/// RFC 6531 §3.7.3), the TLS facts as Sendmail writes them, and the recipient when there is one:
///
/// ```
/// Received: from client.example ([192.0.2.1])
/// 	by mx.example.org (SwiftMTA) with ESMTPSA
/// 	(version=TLSv1.3 cipher=TLS_AES_256_GCM_SHA384 bits=256 verify=NO)
/// 	(authenticated user alice)
/// 	for <bob@example.org>; Mon, 1 Dec 2025 09:03:00 +0100
/// ```
///
/// Everything that comes from the client is checked: a HELO argument that is not a domain or an
/// address literal is shown only in a comment, with parentheses and backslashes replaced, and no
/// client text can add a line.
package struct ReceivedHeader {
    /// HELO, EHLO or LHLO, and what the client said after it.
    package var helloKind: SMTPServerStateMachine.Hello.Kind?
    package var helloName: String?
    package var clientAddress: String
    /// The client's confirmed host name, shown before its address literal.
    package var clientHostName: String?
    package var hostname: String
    package var tls: TLSSessionFacts?
    /// The authenticated identity, when it is to be shown.
    package var shownUser: String?
    package var authenticated: Bool
    package var smtpUTF8: Bool
    package var recipients: [ForwardPath]
    package var date: String

    package init(
        helloKind: SMTPServerStateMachine.Hello.Kind?, helloName: String?, clientAddress: String, hostname: String, tls: TLSSessionFacts?, shownUser: String?,
        authenticated: Bool, smtpUTF8: Bool, recipients: [ForwardPath], date: String, clientHostName: String? = nil
    ) {
        self.clientHostName = clientHostName
        self.helloKind = helloKind
        self.helloName = helloName
        self.clientAddress = clientAddress
        self.hostname = hostname
        self.tls = tls
        self.shownUser = shownUser
        self.authenticated = authenticated
        self.smtpUTF8 = smtpUTF8
        self.recipients = recipients
        self.date = date
    }

    /// `ESMTP`, `ESMTPSA`, `UTF8SMTPS`, `LMTPA`, …
    package var protocolName: String {
        let base: String
        switch helloKind {
        case .lhlo: base = "LMTP"
        case .ehlo: base = "ESMTP"
        case .helo, nil: base = "SMTP"
        }
        var name = base
        if smtpUTF8 { name = base == "ESMTP" ? "UTF8SMTP" : "UTF8" + base }
        guard base != "SMTP" || smtpUTF8 else { return name }
        let suffix = (tls != nil ? "S" : "") + (authenticated ? "A" : "")
        return name + suffix
    }

    /// The address literal of the client (`[192.0.2.1]`, `[IPv6:2001:db8::1]`).
    package var addressLiteral: String {
        clientAddress.contains(":") ? "[IPv6:\(clientAddress)]" : "[\(clientAddress)]"
    }

    /// The header's lines, folded, ending in CRLF.
    package var encoded: String {
        var lines: [String] = []
        // TCP-info (RFC 5321 §4.4): the confirmed name, when there is one, then the address.
        let tcpInfo = clientHostName.flatMap(Self.validHelloName).map { "\($0) \(addressLiteral)" } ?? addressLiteral
        if let name = helloName.flatMap(Self.validHelloName) {
            lines.append("Received: from \(name) (\(tcpInfo))")
        } else if let helloName {
            lines.append("Received: from \(addressLiteral) (\(tcpInfo)) (HELO \(Self.commentText(helloName)))")
        } else {
            lines.append("Received: from \(addressLiteral) (\(tcpInfo))")
        }
        lines.append("\tby \(hostname) (SwiftMTA) with \(protocolName)")
        if let tls { lines.append("\t\(tls.receivedHeaderComment)") }
        if let shownUser { lines.append("\t(authenticated user \(Self.commentText(shownUser)))") }
        if recipients.count == 1, let recipient = recipients.first, recipient.isASCII || smtpUTF8 {
            lines.append("\tfor \(recipient); \(date)")
        } else {
            lines[lines.count - 1] += "; \(date)"
        }
        return lines.map { $0 + "\r\n" }.joined()
    }

    /// The HELO argument when it is a domain or an address literal that may appear as the
    /// From-domain (RFC 5321 §4.4), or `nil`.
    package static func validHelloName(_ text: String) -> String? {
        guard !text.isEmpty, text.utf8.count <= 255, text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        // Address literals only as IPv4 or IPv6 (RFC 5321 §4.1.3): a general literal may hold
        // parentheses, which header readers would take for a comment.
        if text.hasPrefix("[") {
            let inner = text.dropFirst().dropLast()
            let isIPv4 = inner.allSatisfy { $0 == "." || $0.isASCII && $0.isNumber }
            let isIPv6 = inner.lowercased().hasPrefix("ipv6:") && inner.dropFirst(5).allSatisfy { $0 == ":" || $0 == "." || $0.isHexDigit }
            guard text.hasSuffix("]"), isIPv4 || isIPv6 else { return nil }
        }
        guard let mailbox = try? Mailbox(parsing: "postmaster@" + text) else { return nil }
        return mailbox.domain.description == text ? text : nil
    }

    /// Text as it may stand inside a comment: printable ASCII without parentheses or backslashes.
    package static func commentText(_ text: String) -> String {
        String(text.unicodeScalars.prefix(100).map { scalar -> Character in
            switch scalar.value {
            case 0x28, 0x29, 0x5C: "?"
            case 0x20...0x7E: Character(scalar)
            default: "?"
            }
        })
    }
}

import NIOCore
import SMTPProtocol
import Testing

/// Outbound injection: no value a program makes can put a line break (or NUL) into a command or
/// a reply; the values that could refuse such text when made, with a typed error.
@Suite("No command or reply injection")
struct InjectionTests {
    static let hostile = ["a\r\nRSET", "a\rb", "a\nb", "a\u{0}b", "a\u{7F}b"]

    @Test("a local part with a control character is refused", arguments: InjectionTests.hostile)
    func localPart(text: String) {
        #expect(throws: SMTPAddressError.self) { try LocalPart(text) }
    }

    @Test("a domain or address literal that does not parse is refused", arguments: InjectionTests.hostile + ["a b.example", "a>.example", "x.example> SIZE=1"])
    func domain(text: String) {
        #expect(throws: SMTPAddressError.self) { try MailboxDomain.name(text) }
        #expect(throws: SMTPAddressError.self) { try MailboxDomain.name("") }
        #expect(throws: SMTPAddressError.self) { try MailboxDomain.ipv4("192.0.2.1" + text.prefix(1)) }
        #expect(throws: SMTPAddressError.self) { try MailboxDomain.ipv6("2001:db8::1" + text.prefix(2)) }
        #expect(throws: SMTPAddressError.self) { try MailboxDomain.general(tag: "x-tag", content: text + "]") }
        #expect(throws: SMTPAddressError.self) { try ReversePath(mailbox: Mailbox(parsing: "a@b.example"), sourceRoute: [text]) }
        #expect(throws: SMTPAddressError.self) { try ForwardPath(.mailbox(Mailbox(parsing: "a@b.example")), sourceRoute: [text]) }
    }

    @Test("well-formed domains and literals are taken as written")
    func goodDomains() throws {
        #expect(try MailboxDomain.name("Mail.Example.COM").description == "Mail.Example.COM")
        #expect(try MailboxDomain.name("bücher.example").normalizedName == "bücher.example")
        #expect(try MailboxDomain.ipv4("192.0.2.1").description == "[192.0.2.1]")
        #expect(try MailboxDomain.ipv6("2001:db8::1").description == "[IPv6:2001:db8::1]")
        #expect(try MailboxDomain.general(tag: "x-tag", content: "abc").description == "[x-tag:abc]")
        // A general literal tagged IPv6 is an IPv6 literal, and must be made as one.
        #expect(throws: SMTPAddressError.self) { try MailboxDomain.general(tag: "IPv6", content: "2001:db8::1") }
    }

    @Test("an ESMTP parameter whose keyword or value could end the command is refused", arguments: InjectionTests.hostile + ["a b", "a=b"])
    func parameter(text: String) {
        #expect(throws: SMTPCommandError.self) { try ESMTPParameter(keyword: "X" + text, value: nil) }
        #expect(throws: SMTPCommandError.self) { try ESMTPParameter(keyword: "XFOO", value: text) }
        #expect(throws: SMTPCommandError.self) { try RecipientParameters.OriginalRecipient(type: "rfc822" + text, address: "a@b") }
    }

    @Test("a reply from outside text with CR, LF or NUL is refused when made", arguments: InjectionTests.hostile)
    func validatedReply(text: String) {
        #expect(throws: SMTPReplyError.self) { try SMTPReply(validating: 550, .deliveryNotAuthorized, lines: [text]) }
    }

    @Test("a reply's code and enhanced code are checked when made from outside text")
    func validatedReplyCodes() throws {
        #expect(throws: SMTPReplyError.self) { try SMTPReply(validating: 150, nil, lines: ["x"]) }
        #expect(throws: SMTPReplyError.self) { try SMTPReply(validating: 570, nil, lines: ["x"]) }
        #expect(throws: SMTPReplyError.self) { try SMTPReply(validating: 550, .success, lines: ["x"]) }
        let reply = try SMTPReply(validating: 550, .deliveryNotAuthorized, lines: ["Relaying\tdenied"])
        #expect(reply.encoded == "550 5.7.1 Relaying\tdenied\r\n")
    }

    @Test("a reply made in code never carries a control character", arguments: InjectionTests.hostile)
    func plainReply(text: String) {
        let reply = SMTPReply(550, .deliveryNotAuthorized, text)
        for line in reply.lines {
            #expect(!line.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F })
        }
        // The only CRs and LFs on the wire are the line ends.
        let encoded = Array(reply.encoded.utf8)
        #expect(encoded.filter { $0 == 0x0D }.count == reply.lines.count)
        #expect(encoded.filter { $0 == 0x0A }.count == reply.lines.count)
        #expect(!encoded.contains(0))
    }

    @Test("every encoded reply line fits RFC 5321 §4.5.3.1.5's 512 octets", arguments: [
        String(repeating: "word ", count: 400), String(repeating: "x", count: 3000), String(repeating: "ü", count: 1000),
        String(repeating: "例", count: 700) + " tail",
    ])
    func replyLineLength(text: String) throws {
        for reply in [SMTPReply(550, .deliveryNotAuthorized, text), SMTPReply(250, text), try SMTPReply(validating: 451, .temporarySystemError, lines: [text])] {
            let encoded = reply.encoded
            for line in encoded.split(separator: "\r\n") {
                #expect(line.utf8.count + 2 <= 512, "\(line.utf8.count + 2) octets")
            }
            // Nothing is lost: the pieces hold the text.
            #expect(reply.lines.joined().filter { $0 != " " } == text.filter { $0 != " " })
        }
    }

    @Test("free-text command arguments are written with control characters as ?", arguments: [
        SMTPCommand.ehlo("client.example\r\nRSET"), .helo("a\nb"), .lhlo("a\u{0}b"), .verify("x\r\nDATA"), .expand("x\r"),
        .help("x\n"), .noop("x\r\nQUIT"), .etrn("@x\r\nQUIT"), .auth(mechanism: "PLAIN\r\nQUIT", initialResponse: nil),
    ])
    func freeText(command: SMTPCommand) {
        let encoded = Array(command.encoded.utf8)
        #expect(encoded.filter { $0 == 0x0D || $0 == 0x0A || $0 == 0 }.count == 2)
        #expect(encoded.suffix(2) == [0x0D, 0x0A])
    }
}

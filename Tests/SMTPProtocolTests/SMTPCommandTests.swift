import NIOCore
import SMTPProtocol
import Testing

@Suite("Command parsing and encoding")
struct SMTPCommandTests {
    private func parse(_ line: String) throws(SMTPCommandError) -> SMTPCommand {
        try SMTPCommand.parse(ByteBuffer(string: line))
    }

    private static func mailbox(_ text: String) -> Mailbox {
        try! Mailbox(parsing: text)
    }

    @Test("valid command lines", arguments: [
        ("HELO client.example", SMTPCommand.helo("client.example")),
        ("ehlo [192.0.2.1]", .ehlo("[192.0.2.1]")),
        ("LHLO lmtp.example", .lhlo("lmtp.example")),
        ("MAIL FROM:<>", .mail(.null, MailParameters())),
        ("mail from:<a@b.example>", .mail(ReversePath(mailbox: mailbox("a@b.example")), MailParameters())),
        ("MAIL FROM: <a@b.example>", .mail(ReversePath(mailbox: mailbox("a@b.example")), MailParameters())),
        ("MAIL FROM:a@b.example", .mail(ReversePath(mailbox: mailbox("a@b.example")), MailParameters())),
        ("MAIL FROM:<a@b.example> SIZE=1000 BODY=8BITMIME", .mail(ReversePath(mailbox: mailbox("a@b.example")), MailParameters(size: 1000, body: .eightBitMIME))),
        ("MAIL FROM:<a@b.example> RET=FULL ENVID=id+2B1 AUTH=<> REQUIRETLS SMTPUTF8 XVERP",
         .mail(ReversePath(mailbox: mailbox("a@b.example")), MailParameters(smtpUTF8: true, dsnReturn: .full, envelopeID: "id+1", authenticatedSender: "<>", requireTLS: true, other: [ESMTPParameter(keyword: "XVERP", value: nil)]))),
        ("MAIL FROM:<@a.example,@b.example:c@d.example>", .mail(ReversePath(mailbox: mailbox("c@d.example"), sourceRoute: ["a.example", "b.example"]), MailParameters())),
        ("RCPT TO:<Postmaster>", .recipient(ForwardPath(.postmaster), RecipientParameters())),
        ("RCPT TO:<postmaster@example.test>", .recipient(ForwardPath(mailbox: mailbox("postmaster@example.test")), RecipientParameters())),
        ("RCPT TO:<\"john doe\"@example.test>", .recipient(ForwardPath(mailbox: Mailbox(localPart: LocalPart("john doe"), domain: .name("example.test"))), RecipientParameters())),
        ("RCPT TO:<\"a\\\"b\"@example.test>", .recipient(ForwardPath(mailbox: Mailbox(localPart: LocalPart("a\"b"), domain: .name("example.test"))), RecipientParameters())),
        ("RCPT TO:<b@example.test> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;b+40x",
         .recipient(ForwardPath(mailbox: mailbox("b@example.test")), RecipientParameters(notify: .on([.success, .delay]), originalRecipient: .init(type: "rfc822", address: "b@x")))),
        ("RCPT TO:<用户@例子.测试>", .recipient(ForwardPath(mailbox: Mailbox(localPart: LocalPart("用户"), domain: .name("例子.测试"))), RecipientParameters())),
        ("RCPT TO:<x@[IPv6:2001:db8::1]>", .recipient(ForwardPath(mailbox: Mailbox(localPart: LocalPart("x"), domain: .ipv6("2001:db8::1"))), RecipientParameters())),
        ("RCPT TO:<x@[x-tag:stuff]>", .recipient(ForwardPath(mailbox: Mailbox(localPart: LocalPart("x"), domain: .general(tag: "x-tag", content: "stuff"))), RecipientParameters())),
        ("DATA", .data),
        ("BDAT 1000", .bdat(size: 1000, last: false)),
        ("bdat 0 last", .bdat(size: 0, last: true)),
        ("RSET", .reset),
        ("VRFY postmaster", .verify("postmaster")),
        ("EXPN staff list", .expand("staff list")),
        ("HELP", .help(nil)),
        ("HELP MAIL", .help("MAIL")),
        ("NOOP", .noop(nil)),
        ("NOOP anything at all", .noop("anything at all")),
        ("QUIT", .quit),
        ("QUIT   ", .quit),
        ("STARTTLS", .startTLS),
        ("AUTH LOGIN", .auth(mechanism: "LOGIN", initialResponse: nil)),
        ("AUTH plain =", .auth(mechanism: "PLAIN", initialResponse: [])),
        ("AUTH PLAIN AHVzZXIAc2VjcmV0", .auth(mechanism: "PLAIN", initialResponse: Array("\0user\0secret".utf8))),
        ("ETRN @example.test", .etrn("@example.test")),
    ])
    func valid(line: String, expected: SMTPCommand) throws {
        #expect(try parse(line) == expected)
    }

    @Test("invalid command lines get the right reply", arguments: [
        ("", 500, "5.5.1"),
        ("FOO bar", 500, "5.5.1"),
        ("TURN", 502, "5.5.1"),
        ("NOOP\u{0}", 500, "5.5.2"),
        ("NOOP\tx", 500, "5.5.2"),
        ("HELO", 501, "5.5.4"),
        ("EHLO a b", 501, "5.5.4"),
        ("MAIL", 501, "5.5.4"),
        ("MAIL TO:<a@b>", 501, "5.5.4"),
        ("MAIL FROM:", 501, "5.1.7"),
        ("MAIL FROM:<a@b", 501, "5.1.7"),
        ("MAIL FROM:<a>", 501, "5.1.7"),
        ("MAIL FROM:<a..b@c.example>", 501, "5.1.7"),
        ("MAIL FROM:<.a@c.example>", 501, "5.1.7"),
        ("MAIL FROM:<a.@c.example>", 501, "5.1.7"),
        ("MAIL FROM:<a@-c.example>", 501, "5.1.7"),
        ("MAIL FROM:<a@c-.example>", 501, "5.1.7"),
        ("MAIL FROM:<a@c..example>", 501, "5.1.7"),
        ("MAIL FROM:<a@c.example.>", 501, "5.1.7"),
        ("MAIL FROM:<a b@c.example>", 501, "5.1.7"),
        ("MAIL FROM:<\"unterminated@c.example>", 501, "5.1.7"),
        ("MAIL FROM:<Postmaster>", 501, "5.1.7"),
        ("MAIL FROM:<a@b.example> SIZE", 501, "5.5.4"),
        ("MAIL FROM:<a@b.example> SIZE=1 SIZE=2", 501, "5.5.4"),
        ("MAIL FROM:<a@b.example> BODY=9BIT", 501, "5.5.4"),
        ("MAIL FROM:<a@b.example> RET=ALL", 501, "5.5.4"),
        ("MAIL FROM:<a@b.example> ENVID=bad+zz", 501, "5.5.4"),
        ("MAIL FROM:<a@b.example> SMTPUTF8=yes", 501, "5.5.4"),
        ("MAIL FROM:<a@b.example> =x", 501, "5.5.4"),
        ("RCPT TO:<>", 501, "5.1.3"),
        ("RCPT TO:<a@[1.2.3]>", 501, "5.1.3"),
        ("RCPT TO:<a@[IPv6:zz::1]>", 501, "5.1.3"),
        ("RCPT TO:<a@b.example> ORCPT=rfc822", 501, "5.5.4"),
        ("RCPT TO:<a@b.example> NOTIFY=NEVER,SUCCESS", 501, "5.5.4"),
        ("DATA now", 501, "5.5.4"),
        ("BDAT", 501, "5.5.4"),
        ("BDAT -1", 501, "5.5.4"),
        ("BDAT 10 FIRST", 501, "5.5.4"),
        ("BDAT 99999999999999999999", 501, "5.5.4"),
        ("VRFY", 501, "5.5.4"),
        ("AUTH", 501, "5.5.4"),
        ("AUTH PLAIN a b", 501, "5.5.4"),
        ("AUTH PLA!N", 501, "5.5.4"),
        ("AUTH PLAIN AHVzZXIAc2VjcmV", 501, "5.5.2"),
        ("STARTTLS now", 501, "5.5.4"),
    ])
    func invalid(line: String, code: Int, enhanced: String) {
        let error = #expect(throws: SMTPCommandError.self) { try parse(line) }
        #expect(error?.reply.code == code, "\(line)")
        #expect(error?.reply.enhancedCode?.description == enhanced, "\(line)")
    }

    @Test("a line that is not UTF-8 is refused")
    func notUTF8() {
        let error = #expect(throws: SMTPCommandError.self) { try SMTPCommand.parse(ByteBuffer(bytes: Array("RCPT TO:<".utf8) + [0xFF, 0xFE] + Array("@x>".utf8))) }
        #expect(error?.kind == .invalidCharacter)
    }

    @Test("encode then parse gives the same command", arguments: 0..<300)
    func roundTrip(seed: Int) throws {
        var generator = SeededGenerator(seed: UInt64(seed))
        let command = CommandGenerator.command(using: &generator)
        let encoded = command.encoded
        #expect(encoded.hasSuffix("\r\n"))
        let parsed = try parse(String(decoding: encoded.utf8.dropLast(2), as: UTF8.self))
        #expect(parsed == command, "\(encoded)")
    }
}

/// A small deterministic random generator (SplitMix64), so round trips are reproducible.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Generates valid commands of every kind, with tricky but legal addresses and parameters.
enum CommandGenerator {
    static let atoms = ["a", "bob", "x_y", "o'neil", "a+tag", "first.last", "üser", "!#$%&'*+-/=?^_`{|}~"]
    static let quotedParts = ["john doe", "a\"b", "back\\slash", "@at@", "dot..dot", ".lead"]
    static let domains: [MailboxDomain] = [.name("example.test"), .name("Mail.Example.COM"), .name("a-b.c-d.example"), .name("例子.测试"),
                                           .ipv4("192.0.2.1"), .ipv6("2001:db8::1"), .ipv6("::ffff:192.0.2.1"), .general(tag: "x-tag", content: "abc")]

    static func mailbox<G: RandomNumberGenerator>(using generator: inout G) -> Mailbox {
        let local = Bool.random(using: &generator) ? atoms.randomElement(using: &generator)! : quotedParts.randomElement(using: &generator)!
        return Mailbox(localPart: LocalPart(local), domain: domains.randomElement(using: &generator)!)
    }

    static func command<G: RandomNumberGenerator>(using generator: inout G) -> SMTPCommand {
        switch Int.random(in: 0..<12, using: &generator) {
        case 0: return .ehlo(["client.example", "[192.0.2.9]", "x"].randomElement(using: &generator)!)
        case 1:
            let path = Bool.random(using: &generator) ? ReversePath.null : ReversePath(mailbox: mailbox(using: &generator))
            var parameters = MailParameters()
            if Bool.random(using: &generator) { parameters.size = Int.random(in: 0...1_000_000_000, using: &generator) }
            if Bool.random(using: &generator) { parameters.body = [.sevenBit, .eightBitMIME, .binaryMIME].randomElement(using: &generator)! }
            parameters.smtpUTF8 = Bool.random(using: &generator)
            if Bool.random(using: &generator) { parameters.dsnReturn = [.full, .headers].randomElement(using: &generator)! }
            if Bool.random(using: &generator) { parameters.envelopeID = ["abc", "a+b=c d", "ü"].randomElement(using: &generator)! }
            if Bool.random(using: &generator) { parameters.authenticatedSender = ["<>", "user@example.test"].randomElement(using: &generator)! }
            parameters.requireTLS = Bool.random(using: &generator)
            if Bool.random(using: &generator) { parameters.other = [ESMTPParameter(keyword: "XFOO", value: "bar"), ESMTPParameter(keyword: "X-FLAG", value: nil)] }
            return .mail(path, parameters)
        case 2:
            var parameters = RecipientParameters()
            if Bool.random(using: &generator) { parameters.notify = [.never, .on([.success]), .on([.failure, .delay])].randomElement(using: &generator)! }
            if Bool.random(using: &generator) { parameters.originalRecipient = .init(type: "rfc822", address: "orig+1@example.test") }
            let path = Bool.random(using: &generator) ? ForwardPath(.postmaster) : ForwardPath(mailbox: mailbox(using: &generator))
            return .recipient(path, parameters)
        case 3: return [.data, .reset, .quit, .startTLS].randomElement(using: &generator)!
        case 4: return .bdat(size: Int.random(in: 0...10_000_000, using: &generator), last: Bool.random(using: &generator))
        case 5: return .verify("user")
        case 6: return .expand("list")
        case 7: return Bool.random(using: &generator) ? .help(nil) : .help("RCPT")
        case 8: return Bool.random(using: &generator) ? .noop(nil) : .noop("keepalive")
        case 9:
            let responses: [[UInt8]?] = [nil, [], Array("\0user\0secret".utf8), (0..<200).map { UInt8($0) }]
            return .auth(mechanism: ["PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256"].randomElement(using: &generator)!, initialResponse: responses.randomElement(using: &generator)!)
        case 10: return .etrn("@example.test")
        default: return .lhlo("lmtp.example")
        }
    }
}

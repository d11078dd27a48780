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

    static func ideographs(_ count: Int) -> String {
        String(String.UnicodeScalarView((0..<count).map { Unicode.Scalar(0x4E00 + $0 * 37)! }))
    }

    @Test("Punycode (RFC 3492) as Python's codec gives it", arguments: [
        ("bücher", "bcher-kva"), ("例子", "fsqu00a"), ("测试", "0zwm56d"), ("straße", "strae-oqa"), ("ελληνικά", "hxargifdar"),
        (SMTPCommandTests.ideographs(27), "4gq6c1e7f9goiqjqkolwmrnyoqpwq2r8svt0u5vexjyoz0z40ap0ar1at2a"),
    ])
    func punycode(label: String, encoded: String) {
        #expect(Punycode.encode(Array(label.unicodeScalars)) == encoded)
    }

    private static func mailbox(_ local: String, _ domain: MailboxDomain.Kind) -> Mailbox {
        Mailbox(localPart: try! LocalPart(local), domain: try! MailboxDomain(domain))
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
         .mail(ReversePath(mailbox: mailbox("a@b.example")), MailParameters(smtpUTF8: true, dsnReturn: .full, envelopeID: "id+1", authenticatedSender: "<>", requireTLS: true, other: [try! ESMTPParameter(keyword: "XVERP", value: nil)]))),
        ("MAIL FROM:<@a.example,@b.example:c@d.example>", .mail(try! ReversePath(mailbox: mailbox("c@d.example"), sourceRoute: ["a.example", "b.example"]), MailParameters())),
        ("MAIL FROM:<@a.example:b@c.example>", .mail(try! ReversePath(mailbox: mailbox("b@c.example"), sourceRoute: ["a.example"]), MailParameters())),
        ("RCPT TO:<@a.example:b@c.example>", .recipient(try! ForwardPath(.mailbox(mailbox("b@c.example")), sourceRoute: ["a.example"]), RecipientParameters())),
        ("RCPT TO:<a@bücher.example>", .recipient(ForwardPath(mailbox: mailbox("a", .name("bücher.example"))), RecipientParameters())),
        ("RCPT TO:<a@xn--bcher-kva.example>", .recipient(ForwardPath(mailbox: mailbox("a", .name("xn--bcher-kva.example"))), RecipientParameters())),
        ("RCPT TO:<a@straße.example>", .recipient(ForwardPath(mailbox: mailbox("a", .name("straße.example"))), RecipientParameters())),
        // 27 distinct ideographs: 81 octets of UTF-8, but an A-label of 63 octets (the limit).
        ("RCPT TO:<a@\(SMTPCommandTests.ideographs(27)).example>", .recipient(ForwardPath(mailbox: mailbox("a", .name("\(SMTPCommandTests.ideographs(27)).example"))), RecipientParameters())),
        ("RCPT TO:<Postmaster>", .recipient(ForwardPath(.postmaster), RecipientParameters())),
        ("RCPT TO:<postmaster@example.test>", .recipient(ForwardPath(mailbox: mailbox("postmaster@example.test")), RecipientParameters())),
        ("RCPT TO:<\"john doe\"@example.test>", .recipient(ForwardPath(mailbox: mailbox("john doe", .name("example.test"))), RecipientParameters())),
        ("RCPT TO:<\"a\\\"b\"@example.test>", .recipient(ForwardPath(mailbox: mailbox("a\"b", .name("example.test"))), RecipientParameters())),
        ("RCPT TO:<b@example.test> NOTIFY=SUCCESS,DELAY ORCPT=rfc822;b+40x",
         .recipient(ForwardPath(mailbox: mailbox("b@example.test")), RecipientParameters(notify: .on([.success, .delay]), originalRecipient: try! .init(type: "rfc822", address: "b@x")))),
        ("RCPT TO:<用户@例子.测试>", .recipient(ForwardPath(mailbox: mailbox("用户", .name("例子.测试"))), RecipientParameters())),
        ("RCPT TO:<x@[IPv6:2001:db8::1]>", .recipient(ForwardPath(mailbox: mailbox("x", .ipv6("2001:db8::1"))), RecipientParameters())),
        ("RCPT TO:<x@[x-tag:stuff]>", .recipient(ForwardPath(mailbox: mailbox("x", .general(tag: "x-tag", content: "stuff"))), RecipientParameters())),
        // dcontent may hold ">" (RFC 5321 §4.1.3): it does not end the path (a fuzz finding).
        ("RCPT TO:<b@[7:>]>", .recipient(ForwardPath(mailbox: mailbox("b", .general(tag: "7", content: ">"))), RecipientParameters())),
        ("RCPT TO:b@[7:>]", .recipient(ForwardPath(mailbox: mailbox("b", .general(tag: "7", content: ">"))), RecipientParameters())),
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
        // ASCII-only case folding: dotless ı, long ſ, the ﬀ ligature and İ fold to ASCII only
        // under full Unicode case mapping; a verb or keyword is ASCII (RFC 5321 §2.4).
        ("qu\u{131}t", 500, "5.5.1"),
        ("NOOP\u{131}", 500, "5.5.1"),
        ("MA\u{130}L FROM:<a@b.example>", 500, "5.5.1"),
        ("MAIL \u{17F}FROM:<a@b.example>", 501, "5.5.4"),
        ("RCPT TO:<a@b.example> NOTIFY=\u{17F}UCCESS", 501, "5.5.4"),
        ("MAIL FROM:<a@b.example> BODY=8B\u{131}TMIME", 501, "5.5.4"),
        ("MAIL FROM:<a@b.example> RET=FULL\u{131}", 501, "5.5.4"),
        ("BDAT 10 LA\u{17F}T", 501, "5.5.4"),
        ("AUTH PLA\u{131}N", 501, "5.5.4"),
        ("AUTH \u{FB00}", 501, "5.5.4"),
        // Domains: only U+002E separates labels; U-labels follow IDNA2008 (RFC 5891, 5892).
        ("RCPT TO:<a@example\u{3002}com>", 501, "5.1.3"),
        ("RCPT TO:<a@example\u{FF0E}com>", 501, "5.1.3"),
        ("RCPT TO:<a@B\u{DC}CHER.example>", 501, "5.1.3"),
        ("RCPT TO:<a@\u{301}x.example>", 501, "5.1.3"),
        ("RCPT TO:<a@ab--\u{FC}.example>", 501, "5.1.3"),
        ("RCPT TO:<a@\u{2603}.example>", 501, "5.1.3"),
        ("RCPT TO:<a@x\u{200D}y.example>", 501, "5.1.3"),
        ("RCPT TO:<a@\u{FF41}.example>", 501, "5.1.3"),
        // 28 distinct ideographs: 84 octets of UTF-8, an A-label of 66 octets (limit 63).
        ("RCPT TO:<a@\(SMTPCommandTests.ideographs(28)).example>", 501, "5.1.3"),
        ("RCPT TO:<@a.example,b@c.example>", 501, "5.1.3"),
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

    @Test("the round-trip generator makes source routes, and they survive encoding")
    func generatorMakesRoutes() throws {
        var routed = 0
        for seed in 0..<300 {
            var generator = SeededGenerator(seed: UInt64(seed))
            switch CommandGenerator.command(using: &generator) {
            case .mail(let path, _) where !path.sourceRoute.isEmpty: routed += 1
            case .recipient(let path, _) where !path.sourceRoute.isEmpty: routed += 1
            default: break
            }
        }
        #expect(routed >= 5)
        let line = "MAIL FROM:<@a.example:b@c.example>"
        let command = try parse(line)
        #expect(command.encoded == line + "\r\n")
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
                                           .name("bücher.example"), .ipv4("192.0.2.1"), .ipv6("2001:db8::1"), .ipv6("::ffff:192.0.2.1"),
                                           .general(tag: "x-tag", content: "abc"), .general(tag: "7", content: "a>\"b")].map { try! MailboxDomain($0) }

    static let routes: [[String]] = [[], [], ["a.example"], ["relay.example", "Mx-2.Example.COM"], ["例子.测试"]]

    static func mailbox<G: RandomNumberGenerator>(using generator: inout G) -> Mailbox {
        let local = Bool.random(using: &generator) ? atoms.randomElement(using: &generator)! : quotedParts.randomElement(using: &generator)!
        return Mailbox(localPart: try! LocalPart(local), domain: domains.randomElement(using: &generator)!)
    }

    static func command<G: RandomNumberGenerator>(using generator: inout G) -> SMTPCommand {
        switch Int.random(in: 0..<12, using: &generator) {
        case 0: return .ehlo(["client.example", "[192.0.2.9]", "x"].randomElement(using: &generator)!)
        case 1:
            let path = Bool.random(using: &generator)
                ? ReversePath.null
                : try! ReversePath(mailbox: mailbox(using: &generator), sourceRoute: routes.randomElement(using: &generator)!)
            var parameters = MailParameters()
            if Bool.random(using: &generator) { parameters.size = Int.random(in: 0...1_000_000_000, using: &generator) }
            if Bool.random(using: &generator) { parameters.body = [.sevenBit, .eightBitMIME, .binaryMIME].randomElement(using: &generator)! }
            parameters.smtpUTF8 = Bool.random(using: &generator)
            if Bool.random(using: &generator) { parameters.dsnReturn = [.full, .headers].randomElement(using: &generator)! }
            if Bool.random(using: &generator) { parameters.envelopeID = ["abc", "a+b=c d", "ü"].randomElement(using: &generator)! }
            if Bool.random(using: &generator) { parameters.authenticatedSender = ["<>", "user@example.test"].randomElement(using: &generator)! }
            parameters.requireTLS = Bool.random(using: &generator)
            if Bool.random(using: &generator) { parameters.other = [try! ESMTPParameter(keyword: "XFOO", value: "bar"), try! ESMTPParameter(keyword: "X-FLAG", value: nil)] }
            return .mail(path, parameters)
        case 2:
            var parameters = RecipientParameters()
            if Bool.random(using: &generator) { parameters.notify = [.never, .on([.success]), .on([.failure, .delay])].randomElement(using: &generator)! }
            if Bool.random(using: &generator) { parameters.originalRecipient = try! .init(type: "rfc822", address: "orig+1@example.test") }
            let path = Bool.random(using: &generator)
                ? ForwardPath(.postmaster)
                : try! ForwardPath(.mailbox(mailbox(using: &generator)), sourceRoute: routes.randomElement(using: &generator)!)
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

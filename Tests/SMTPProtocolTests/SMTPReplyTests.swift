import SMTPProtocol
import Testing

@Suite("Replies and enhanced status codes")
struct SMTPReplyTests {
    @Test("one-line and multi-line replies encode as RFC 5321 §4.2 says")
    func encoding() {
        #expect(SMTPReply(220, "mx.example.test ESMTP").encoded == "220 mx.example.test ESMTP\r\n")
        #expect(SMTPReply(250, .success, "OK").encoded == "250 2.0.0 OK\r\n")
        #expect(SMTPReply(250, lines: ["mx Hello", "PIPELINING", "8BITMIME"]).encoded
            == "250-mx Hello\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
        #expect(SMTPReply(550, .deliveryNotAuthorized, lines: ["Relaying", "denied"]).encoded
            == "550-5.7.1 Relaying\r\n550 5.7.1 denied\r\n")
    }

    @Test("text can never inject a reply line of its own")
    func noInjection() {
        let reply = SMTPReply(250, "ok\r\n250 fake\nmore")
        #expect(reply.lines == ["ok", "250 fake", "more"])
        #expect(reply.encoded == "250-ok\r\n250-250 fake\r\n250 more\r\n")
    }

    @Test("enhanced status codes parse and print", arguments: [
        ("2.0.0", true), ("5.7.1", true), ("4.4.2", true), ("5.1.10", true),
        ("3.0.0", false), ("5.7", false), ("5..1", false), ("x.1.1", false), ("5.1.1000", false), ("55.1.1", false),
    ])
    func enhanced(text: String, valid: Bool) {
        let code = EnhancedStatusCode(Substring(text))
        #expect((code != nil) == valid)
        if let code { #expect(code.description == text) }
    }
}

import NIOCore
import SMTPProtocol
import Testing

@Suite("Reply parsing")
struct SMTPReplyParserTests {
    private func replies(_ text: String, chunk: Int) throws -> [SMTPReply] {
        var parser = SMTPReplyParser()
        var result: [SMTPReply] = []
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + chunk, bytes.count)
            parser.append(ByteBuffer(bytes: bytes[offset..<end]))
            offset = end
            while let reply = try parser.next() { result.append(reply) }
        }
        return result
    }

    @Test("one-line, multi-line and code-only replies, whole or byte by byte", arguments: [1, 3, 1000])
    func parses(chunk: Int) throws {
        let text = "220 mx.example.test ESMTP\r\n250-mx Hello\r\n250-PIPELINING\r\n250 SIZE 1000\r\n250 2.1.0 Sender OK\r\n354\r\n550-5.7.1 Relaying\r\n550 5.7.1 denied\r\n"
        let parsed = try replies(text, chunk: chunk)
        #expect(parsed == [
            SMTPReply(220, "mx.example.test ESMTP"),
            SMTPReply(250, lines: ["mx Hello", "PIPELINING", "SIZE 1000"]),
            SMTPReply(250, .senderOK, "Sender OK"),
            SMTPReply(354, ""),
            SMTPReply(550, .deliveryNotAuthorized, lines: ["Relaying", "denied"]),
        ])
    }

    @Test("an enhanced code whose class does not match the reply code is text")
    func mismatchedEnhancedCode() throws {
        let parsed = try replies("250 5.0.0 odd\r\n", chunk: 100)
        #expect(parsed.first?.enhancedCode == nil)
        #expect(parsed.first?.lines == ["5.0.0 odd"])
    }

    @Test("encode then parse gives the same reply", arguments: 0..<100)
    func roundTrip(seed: Int) throws {
        var generator = SeededGenerator(seed: UInt64(seed))
        let code = [220, 221, 235, 250, 251, 252, 334, 354, 421, 450, 451, 452, 500, 501, 502, 503, 550, 554].randomElement(using: &generator)!
        let enhanced: EnhancedStatusCode? = code / 100 == 3 || Bool.random(using: &generator) ? nil : EnhancedStatusCode(code / 100, Int.random(in: 0...7, using: &generator), Int.random(in: 0...20, using: &generator))
        let lines = (0..<Int.random(in: 1...4, using: &generator)).map { "line \($0) ünïcode" }
        let reply = SMTPReply(code, enhanced, lines: lines)
        #expect(try replies(reply.encoded, chunk: Int.random(in: 1...20, using: &generator)) == [reply])
    }

    @Test("malformed reply streams are errors", arguments: [
        "hello\r\n", "2500 x\r\n", "250x\r\n", "099 x\r\n", "650 x\r\n", "250-a\r\n251 b\r\n",
    ])
    func malformed(text: String) {
        #expect(throws: SMTPReplyError.self) { try replies(text, chunk: 100) }
    }

    @Test("an overlong reply line and an endless multi-line reply are errors, in bounded memory")
    func bounded() {
        #expect(throws: SMTPReplyError.self) { try replies("250 " + String(repeating: "x", count: 600) + "\r\n", chunk: 64) }
        #expect(throws: SMTPReplyError.self) { try replies(String(repeating: "250-x\r\n", count: 200), chunk: 64) }
    }

    @Test("EHLO replies become capabilities")
    func capabilities() {
        let reply = SMTPReply(250, lines: ["mx Hello", "PIPELINING", "SIZE 10240000", "AUTH=LOGIN PLAIN", "auth CRAM-MD5", "STARTTLS", "8BITMIME"])
        let capabilities = SMTPCapabilities(ehloReply: reply)
        #expect(capabilities.contains(.pipelining))
        #expect(capabilities.contains(.startTLS))
        #expect(!capabilities.contains(.chunking))
        #expect(capabilities.maximumSize == 10_240_000)
        #expect(capabilities.authMechanisms == ["LOGIN", "PLAIN", "CRAM-MD5"])
    }
}

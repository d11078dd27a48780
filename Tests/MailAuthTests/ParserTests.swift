@testable import MailAuth
import Testing

/// The parsers under the mechanisms, including the inputs the fuzzer (Fuzz/MailAuthFuzz) found.
@Suite("Parsers")
struct ParserTests {
    @Test("DIGEST-MD5 directives: quoting, escapes, empty elements, white space")
    func directives() throws {
        let parsed = try DigestMD5Directives(parsing: Array(#" , realm="a\"b\\c" ,, nonce = "n" ,qop=auth,"#.utf8))
        #expect(parsed.entries.map(\.name) == ["realm", "nonce", "qop"])
        #expect(try parsed.single("realm") == Array(#"a"b\c"#.utf8))
        #expect(try parsed.single("qop") == Array("auth".utf8))
        for bad in [#"realm"#, #"realm="#, #"realm="open"#, #"=x"#, #"a=b c=d"#, "a=\"\u{1}\""] {
            #expect(throws: DigestMD5Directives.ParseError.self, "\(bad)") {
                try DigestMD5Directives(parsing: Array(bad.utf8))
            }
        }
    }

    // Found by the fuzzer: an escaped control character must be escaped again when encoded.
    @Test("an escaped control character survives a round trip", arguments: [
        [UInt8](#"t="\"#.utf8) + [0x19, 0x09, 0x22], [UInt8](#"t="\"#.utf8) + [0x00, 0x09, 0x22],
    ])
    func escapedControlCharacter(input: [UInt8]) throws {
        let parsed = try DigestMD5Directives(parsing: input)
        var encoder = DigestMD5Directives()
        for entry in parsed.entries { encoder.append(entry.name, quoted: entry.value) }
        let again = try DigestMD5Directives(parsing: encoder.encoded)
        #expect(again.entries.map(\.value) == parsed.entries.map(\.value))
    }

    @Test("base64 accepts only canonical, padded text")
    func base64() {
        #expect(Base64.decode("cGVuY2ls") == Array("pencil".utf8))
        #expect(Base64.encode(Array("pencil".utf8)) == "cGVuY2ls")
        for bad in ["cGVuY2l", "cGVuY2k=x", "cG=uY2ls", "cGVuY2m=", "****"] {
            #expect(Base64.decode(bad) == nil, "\(bad)")
        }
    }

    @Test("SCRAM saslname escapes (RFC 5802 §5.1)")
    func saslname() {
        #expect(SCRAMAttributes.decodeName(Array("a=2Cb=3Dc".utf8)) == Array("a,b=c".utf8))
        #expect(SCRAMAttributes.encodeName("a,b=c") == Array("a=2Cb=3Dc".utf8))
        #expect(SCRAMAttributes.decodeName(Array("a=2".utf8)) == nil)
        #expect(SCRAMAttributes.decodeName(Array("a=41".utf8)) == nil)
    }
}

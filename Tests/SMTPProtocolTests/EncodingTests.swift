import SMTPProtocol
import Testing

@Suite("Base64 and xtext")
struct EncodingTests {
    @Test("RFC 4648 §10 test vectors", arguments: [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
    ])
    func vectors(plain: String, encoded: String) {
        #expect(Base64.encode(Array(plain.utf8)) == encoded)
        #expect(Base64.decode(encoded) == Array(plain.utf8))
    }

    @Test("strict decoding refuses what is not canonical base64", arguments: [
        "Zg", "Zg=", "Z===", "Zh==", "Zm9=", "Zm9v\r\n", "Zm 9v", "Zm9v====", "Zg==Zg==", "!!!!",
    ])
    func strict(text: String) {
        #expect(Base64.decode(text) == nil)
    }

    @Test("every byte value survives a base64 round trip")
    func allBytes() {
        let bytes = (0...255).map { UInt8($0) }
        for length in 0...bytes.count {
            #expect(Base64.decode(Base64.encode(bytes.prefix(length))) == Array(bytes.prefix(length)))
        }
    }

    @Test("xtext (RFC 3461 §4)")
    func xtext() {
        #expect(XText.encode("a+b=c d") == "a+2Bb+3Dc+20d")
        #expect(XText.decode("a+2Bb+3Dc+20d") == "a+b=c d")
        #expect(XText.decode("bad+zz") == nil)
        #expect(XText.decode("bad+2b") == nil)  // hex must be upper case
        #expect(XText.decode("sp ace") == nil)
        #expect(XText.decode(Substring(XText.encode("üñí"))) == "üñí")
    }
}

/// xtext, the encoding of ENVID, ORCPT and AUTH= values (RFC 3461 §4): printable ASCII but `+`
/// and `=`, with anything else written `+XX` in upper-case hexadecimal.
public enum XText {
    /// Encodes bytes as xtext.
    public static func encode(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            if SMTPCharacterClass.isXchar(byte) {
                result.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                result += "+" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 0xF, radix: 16, uppercase: true)
            }
        }
        return result
    }

    /// Decodes xtext; `nil` when it is not valid xtext (a byte outside `xchar`, a `+` not followed
    /// by two upper-case hex digits, or bytes that are not UTF-8).
    public static func decode(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "+") {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    return nil
                }
                bytes.append(high << 4 | low)
            } else if SMTPCharacterClass.isXchar(byte) {
                bytes.append(byte)
            } else {
                return nil
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

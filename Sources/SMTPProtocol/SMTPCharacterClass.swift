/// The character classes of RFC 5321 §4.1.2 and RFC 5322 §3.2.3, with RFC 6531's UTF-8 additions.
enum SMTPCharacterClass {
    /// `atext` (RFC 5322 §3.2.3): letters, digits and ``!#$%&'*+-/=?^_`{|}~``; with `utf8`, also
    /// any non-ASCII scalar (RFC 6531 §3.3).
    static func isAtext(_ scalar: Unicode.Scalar, utf8: Bool = true) -> Bool {
        switch scalar.value {
        case 0x41...0x5A, 0x61...0x7A, 0x30...0x39: return true
        case 0x21, 0x23...0x27, 0x2A, 0x2B, 0x2D, 0x2F, 0x3D, 0x3F, 0x5E...0x60, 0x7B...0x7E: return true
        case 0x80...: return utf8
        default: return false
        }
    }

    /// `qtextSMTP` (RFC 5321 §4.1.2): printable ASCII but `"` and `\`; with `utf8`, non-ASCII too.
    static func isQtext(_ scalar: Unicode.Scalar, utf8: Bool = true) -> Bool {
        switch scalar.value {
        case 32, 33, 35...91, 93...126: return true
        case 0x80...: return utf8
        default: return false
        }
    }

    /// `Let-dig`: an ASCII letter or digit; non-ASCII scalars stand for U-label characters.
    static func isLetDig(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x41...0x5A, 0x61...0x7A, 0x30...0x39, 0x80...: return true
        default: return false
        }
    }

    /// `dcontent` (RFC 5321 §4.1.3): printable ASCII but `[`, `\` and `]`.
    static func isDcontent(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 33...90, 94...126: return true
        default: return false
        }
    }

    /// `xchar` (RFC 3461 §4): printable ASCII but `+` and `=`, which xtext encodes.
    static func isXchar(_ byte: UInt8) -> Bool {
        (33...126).contains(byte) && byte != UInt8(ascii: "+") && byte != UInt8(ascii: "=")
    }

    /// Lower-cases ASCII letters only (domain names compare case-insensitively in ASCII;
    /// U-labels are compared as given).
    static func asciiLowercased(_ text: String) -> String {
        guard text.utf8.contains(where: { (0x41...0x5A).contains($0) }) else { return text }
        return String(decoding: text.utf8.map { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 }, as: UTF8.self)
    }
}

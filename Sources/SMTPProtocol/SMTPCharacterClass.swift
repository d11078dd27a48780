/// The character classes of RFC 5321 §4.1.2 and RFC 5322 §3.2.3, with RFC 6531's UTF-8 additions,
/// and the ASCII-only case folding every SMTP keyword comparison uses.
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

    /// `Let-dig` (RFC 5321 §4.1.2): an ASCII letter or digit. Non-ASCII characters of a U-label are
    /// judged by ``isIDNAPermitted(_:)`` instead.
    static func isLetDig(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x41...0x5A, 0x61...0x7A, 0x30...0x39: return true
        default: return false
        }
    }

    /// Whether a non-ASCII scalar may appear in a U-label (RFC 5890 §2.3.2.1): PVALID under the
    /// derivation of RFC 5892 §3 (letters, marks and digits that are stable under NFKC case folding,
    /// outside the ignorable blocks and the old Hangul jamo).
    ///
    /// The CONTEXTJ and CONTEXTO code points (RFC 5892 Appendix A: ZWNJ, ZWJ, the middle dot, the
    /// Greek keraia, the Hebrew geresh and gershayim, the katakana middle dot, the Arabic-Indic
    /// digits) are refused: their context rules are not checked here, so they are not accepted.
    static func isIDNAPermitted(_ scalar: Unicode.Scalar) -> Bool {
        let value = scalar.value
        // RFC 5892 §2.6, Exceptions (F).
        switch value {
        case 0x00DF, 0x03C2, 0x06FD, 0x06FE, 0x0F0B, 0x3007:
            return true  // PVALID
        case 0x00B7, 0x0375, 0x05F3, 0x05F4, 0x30FB, 0x0660...0x0669, 0x06F0...0x06F9, 0x200C, 0x200D:
            return false  // CONTEXTO / CONTEXTJ
        case 0x0640, 0x07FA, 0x302E, 0x302F, 0x3031...0x3035, 0x303B:
            return false  // DISALLOWED
        default:
            break
        }
        let properties = scalar.properties
        // Unassigned (RFC 5892 §2.10).
        guard properties.age != nil, properties.generalCategory != .unassigned else { return false }
        // Unstable (§2.2): changes under NFKC_Casefold — upper-case and compatibility forms.
        if properties.changesWhenNFKCCaseFolded { return false }
        // IgnorableProperties (§2.3).
        if properties.isDefaultIgnorableCodePoint || properties.isWhitespace || properties.isNoncharacterCodePoint {
            return false
        }
        // IgnorableBlocks (§2.4): combining marks for symbols, musical symbols, Greek musical notation.
        if (0x20D0...0x20FF).contains(value) || (0x1D100...0x1D24F).contains(value) { return false }
        // OldHangulJamo (§2.9): the conjoining jamo blocks.
        if (0x1100...0x11FF).contains(value) || (0xA960...0xA97F).contains(value) || (0xD7B0...0xD7FF).contains(value) {
            return false
        }
        // LetterDigits (§2.1).
        switch properties.generalCategory {
        case .lowercaseLetter, .uppercaseLetter, .otherLetter, .decimalNumber, .modifierLetter, .nonspacingMark, .spacingMark:
            return true
        default:
            return false
        }
    }

    /// Whether a scalar is a combining mark, which may not begin a U-label (RFC 5891 §4.2.3.2).
    static func isCombiningMark(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: true
        default: false
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

    /// A control character that no command or reply line may carry: C0 controls and DEL. CR, LF
    /// and NUL among them are what command and reply injection need.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || scalar.value == 0x7F
    }

    /// Lower-cases ASCII letters only (domain names compare case-insensitively in ASCII;
    /// U-labels are compared as given).
    static func asciiLowercased<Text: StringProtocol>(_ text: Text) -> String {
        guard text.utf8.contains(where: { (0x41...0x5A).contains($0) }) else { return String(text) }
        return String(decoding: text.utf8.map { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 }, as: UTF8.self)
    }

    /// Upper-cases ASCII letters only. SMTP verbs, EHLO keywords, parameter keywords and values,
    /// and SASL mechanism names are ASCII (RFC 5321 §2.4, RFC 4422 §3.1): full Unicode case
    /// mapping would turn `quıt` (dotless ı) into `QUIT` and `ſuccess` (long s) into `SUCCESS`.
    static func asciiUppercased<Text: StringProtocol>(_ text: Text) -> String {
        guard text.utf8.contains(where: { (0x61...0x7A).contains($0) }) else { return String(text) }
        return String(decoding: text.utf8.map { (0x61...0x7A).contains($0) ? $0 - 0x20 : $0 }, as: UTF8.self)
    }

    /// Whether two texts are equal when ASCII letters are compared without case.
    static func asciiCaseInsensitiveEquals<A: StringProtocol, B: StringProtocol>(_ a: A, _ b: B) -> Bool {
        a.utf8.count == b.utf8.count && asciiUppercased(a) == asciiUppercased(b)
    }
}

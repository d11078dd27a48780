/// The local part of a mailbox (RFC 5321 §4.1.2, `Local-part = Dot-string / Quoted-string`).
///
/// Stored unquoted; ``quoted`` re-quotes it when it is not a valid dot-string. Two local parts are
/// equal when their unquoted forms are equal: `"abc"` and `abc` are the same local part (RFC 5321
/// §4.1.2 says they should be treated so). Case is preserved: only the receiving host may decide
/// that case does not matter.
public struct LocalPart: Hashable, Sendable, CustomStringConvertible {
    /// The unquoted local part.
    public let unquoted: String

    /// Makes a local part from its unquoted form; ``quoted`` escapes what needs it.
    ///
    /// - Throws: ``SMTPAddressError`` when the text holds a control character (CR, LF, NUL, any
    ///   other C0 control or DEL): no form of a local part may carry one (RFC 5321 §4.1.2 allows
    ///   printable ASCII and, with SMTPUTF8, UTF-8), and one would let a value end a command line.
    public init(_ unquoted: String) throws(SMTPAddressError) {
        if let bad = unquoted.unicodeScalars.first(where: SMTPCharacterClass.isControl) {
            throw SMTPAddressError(.malformedLocalPart, "control character U+\(String(bad.value, radix: 16, uppercase: true)) in a local part")
        }
        self.unquoted = unquoted
    }

    /// Checked already (by the parser).
    init(validated unquoted: String) {
        self.unquoted = unquoted
    }

    /// Whether the local part is a dot-string: atoms of `atext` separated by single dots.
    public var isDotString: Bool {
        guard !unquoted.isEmpty else { return false }
        var previousWasDot = true
        for scalar in unquoted.unicodeScalars {
            if scalar == "." {
                if previousWasDot { return false }
                previousWasDot = true
            } else if SMTPCharacterClass.isAtext(scalar) {
                previousWasDot = false
            } else {
                return false
            }
        }
        return !previousWasDot
    }

    /// The form that goes on the wire: the dot-string itself, or a quoted-string with `\` before
    /// `"` and `\`.
    public var quoted: String {
        if isDotString { return unquoted }
        var result = "\""
        for scalar in unquoted.unicodeScalars {
            if scalar == "\"" || scalar == "\\" { result.append("\\") }
            result.unicodeScalars.append(scalar)
        }
        result.append("\"")
        return result
    }

    /// Whether the local part holds only ASCII.
    public var isASCII: Bool { unquoted.utf8.allSatisfy { $0 < 0x80 } }

    /// The length in octets of the quoted form (RFC 5321 §4.5.3.1.1 limits it to 64).
    public var octetCount: Int { quoted.utf8.count }

    public var description: String { quoted }
}

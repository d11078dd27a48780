/// One `keyword[=value]` parameter of MAIL or RCPT (RFC 5321 §4.1.2, `esmtp-param`).
///
/// Parameters SwiftMTA knows are parsed into ``MailParameters`` and ``RecipientParameters``; all
/// others are kept as these, so that policy can see them. A value is always well formed: the
/// keyword is `(ALPHA / DIGIT) *(ALPHA / DIGIT / "-")` and the value `1*(%d33-60 / %d62-126)`
/// (plus UTF-8, RFC 6531 §3.3), so no parameter can carry a space, CR, LF or NUL into a command.
public struct ESMTPParameter: Hashable, Sendable, CustomStringConvertible {
    /// The keyword, upper-cased (ASCII) (`SIZE`, `XFOO`).
    public let keyword: String
    /// The value after `=`, if any, as sent.
    public let value: String?

    /// Makes a parameter.
    ///
    /// - Throws: ``SMTPCommandError`` (``SMTPCommandError/Kind/invalidArgument``) when the keyword
    ///   or the value does not follow RFC 5321 §4.1.2's `esmtp-keyword` and `esmtp-value`.
    public init(keyword: String, value: String?) throws(SMTPCommandError) {
        guard let first = keyword.unicodeScalars.first, SMTPCharacterClass.isLetDig(first),
              keyword.unicodeScalars.allSatisfy({ SMTPCharacterClass.isLetDig($0) || $0 == "-" })
        else {
            throw SMTPCommandError(.invalidArgument, "malformed parameter \"\(SMTPAddressParser.excerpt(keyword))\"")
        }
        let name = SMTPCharacterClass.asciiUppercased(keyword)
        if let value {
            // esmtp-value = 1*(%d33-60 / %d62-126), plus UTF-8 with SMTPUTF8 (RFC 6531 §3.3).
            guard !value.isEmpty, value.unicodeScalars.allSatisfy({ ($0.value >= 33 && $0.value <= 126 && $0 != "=") || $0.value >= 0x80 }) else {
                throw SMTPCommandError(.invalidArgument, "malformed value for parameter \(SMTPAddressParser.excerpt(name))")
            }
        }
        self.keyword = name
        self.value = value
    }

    public var description: String { value.map { "\(keyword)=\($0)" } ?? keyword }

    /// Splits the text after a path into parameters (`esmtp-keyword ["=" esmtp-value]`, separated
    /// by spaces) and checks their syntax. Duplicated keywords are refused (RFC 5321 §4.1.2 does
    /// not allow a parameter twice, and a second SIZE or BODY would be ambiguous).
    static func parseList(_ text: Substring) throws(SMTPCommandError) -> [ESMTPParameter] {
        var parameters: [ESMTPParameter] = []
        var seen = Set<String>()
        for word in text.split(separator: " ") {
            let parameter: ESMTPParameter
            if let equals = word.firstIndex(of: "=") {
                parameter = try ESMTPParameter(keyword: String(word[..<equals]), value: String(word[word.index(after: equals)...]))
            } else {
                parameter = try ESMTPParameter(keyword: String(word), value: nil)
            }
            guard seen.insert(parameter.keyword).inserted else {
                throw SMTPCommandError(.invalidArgument, "parameter \(SMTPAddressParser.excerpt(parameter.keyword)) given twice")
            }
            parameters.append(parameter)
        }
        return parameters
    }
}

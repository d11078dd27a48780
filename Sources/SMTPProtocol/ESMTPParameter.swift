/// One `keyword[=value]` parameter of MAIL or RCPT (RFC 5321 §4.1.2, `esmtp-param`).
///
/// Parameters SwiftMTA knows are parsed into ``MailParameters`` and ``RecipientParameters``; all
/// others are kept as these, so that policy can see them.
public struct ESMTPParameter: Hashable, Sendable, CustomStringConvertible {
    /// The keyword, upper-cased (`SIZE`, `XFOO`).
    public var keyword: String
    /// The value after `=`, if any, as sent.
    public var value: String?

    public init(keyword: String, value: String?) {
        self.keyword = keyword.uppercased()
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
            let keyword: Substring
            let value: Substring?
            if let equals = word.firstIndex(of: "=") {
                keyword = word[..<equals]
                value = word[word.index(after: equals)...]
            } else {
                keyword = word
                value = nil
            }
            guard let first = keyword.unicodeScalars.first, first.isASCII, first.properties.isAlphabetic || ("0"..."9").contains(first),
                  keyword.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-") })
            else {
                throw SMTPCommandError(.invalidArgument, "malformed parameter \"\(String(word.prefix(40)))\"")
            }
            if let value {
                // esmtp-value = 1*(%d33-60 / %d62-126), plus UTF-8 with SMTPUTF8 (RFC 6531 §3.3).
                guard !value.isEmpty, value.unicodeScalars.allSatisfy({ ($0.value >= 33 && $0.value <= 126 && $0 != "=") || $0.value >= 0x80 }) else {
                    throw SMTPCommandError(.invalidArgument, "malformed value for parameter \(keyword.uppercased())")
                }
            }
            let parameter = ESMTPParameter(keyword: String(keyword), value: value.map(String.init))
            guard seen.insert(parameter.keyword).inserted else {
                throw SMTPCommandError(.invalidArgument, "parameter \(parameter.keyword) given twice")
            }
            parameters.append(parameter)
        }
        return parameters
    }
}

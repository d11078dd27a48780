/// A map spec, `type:name`, as configurations write them: `hash:/etc/mail/access`,
/// `text:/etc/mail/virtusertable`, `ldap:-H ldap://127.0.0.1 -b dc=example,dc=test -k (uid=%0)`.
///
/// The type is what comes before the first colon (lower-cased); the name is everything after it.
/// Types that take options read them from the name as Sendmail's `K` lines write them, flags
/// before the operands (`hash:-o -f /etc/mail/virtusertable`); ``arguments()`` splits the name so.
public struct MailMapSpec: Hashable, Sendable, CustomStringConvertible {
    /// The map type (`hash`, `text`, `ldap`, …), lower-cased.
    public let type: String
    /// Everything after the first colon, without surrounding white space.
    public let name: String

    /// Parses `text`.
    ///
    /// - Throws: ``MailMapError`` of kind `badSpec` when there is no `type:` part or the type is
    ///   not a word.
    public init(_ text: String) throws(MailMapError) {
        let trimmed = text.trimmingWhitespace()
        guard let colon = trimmed.firstIndex(of: ":") else {
            throw MailMapError(.badSpec, map: trimmed,
                message: "map spec \"\(trimmed)\" has no type: expected type:name, like hash:/etc/mail/access")
        }
        let type = trimmed[..<colon].lowercased()
        guard !type.isEmpty, type.utf8.allSatisfy({ Self.isTypeCharacter($0) }) else {
            throw MailMapError(.badSpec, map: trimmed,
                message: "map spec \"\(trimmed)\": \"\(trimmed[..<colon])\" is not a map type (letters, digits, - and _)")
        }
        self.type = type
        self.name = String(trimmed[trimmed.index(after: colon)...]).trimmingWhitespace()
    }

    /// A spec of `type` and `name`, as given.
    public init(type: String, name: String) {
        self.type = type.lowercased()
        self.name = name
    }

    /// `type:name`.
    public var description: String { "\(type):\(name)" }

    /// The name split into words the way Sendmail splits a `K` line's arguments: at white space,
    /// with double quotes grouping words (`"cn=Mail Server,dc=example"`) and a backslash inside
    /// quotes taking the next character as it is.
    ///
    /// - Throws: ``MailMapError`` of kind `badSpec` for an unterminated quote.
    public func arguments() throws(MailMapError) -> [String] {
        var words: [String] = []
        var current: [Character] = []
        var inWord = false
        var quoted = false
        var escaped = false
        for character in name {
            if escaped {
                current.append(character)
                escaped = false
            } else if quoted {
                switch character {
                case "\\": escaped = true
                case "\"": quoted = false
                default: current.append(character)
                }
            } else if character == "\"" {
                quoted = true
                inWord = true
            } else if character == " " || character == "\t" {
                if inWord { words.append(String(current)) }
                current.removeAll()
                inWord = false
            } else {
                current.append(character)
                inWord = true
            }
        }
        guard !quoted else {
            throw MailMapError(.badSpec, map: description, message: "map spec \"\(description)\": a double quote is not closed")
        }
        if inWord { words.append(String(current)) }
        return words
    }

    private static func isTypeCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default:
            false
        }
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces, tabs, carriage returns and newlines.
    package func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" }
        guard let first = firstIndex(where: { !isSpace($0) }) else { return "" }
        let last = lastIndex(where: { !isSpace($0) })!
        return String(self[first...last])
    }
}

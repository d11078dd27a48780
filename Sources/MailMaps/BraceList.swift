/// Postfix's `{ … }` lists, as `inline:{ key=value, { key = text, with comma } }` and
/// `sequence:{ hash:/a, { hash:-o /b } }` write them: items separated by commas or white space,
/// where braces group an item that holds either.
package enum BraceList {
    /// The items of `text` (without its outer braces when it has them), each with one level of
    /// grouping braces removed and its white space trimmed.
    ///
    /// - Returns: `nil` when the braces do not balance.
    package static func items(_ text: String, requireBraces: Bool) -> [String]? {
        var body = Substring(text.trimmingWhitespace())
        if body.first == "{", body.last == "}", isOneGroup(body) {
            body = body.dropFirst().dropLast()
        } else if requireBraces {
            return nil
        }
        var items: [String] = []
        var current = ""
        var depth = 0
        for character in body {
            switch character {
            case "{":
                depth += 1
                current.append(character)
            case "}":
                depth -= 1
                guard depth >= 0 else { return nil }
                current.append(character)
            case ",", " ", "\t", "\n", "\r":
                if depth > 0 {
                    current.append(character)
                } else {
                    if !current.isEmpty { items.append(current) }
                    current = ""
                }
            default:
                current.append(character)
            }
        }
        guard depth == 0 else { return nil }
        if !current.isEmpty { items.append(current) }
        return items.map { item in
            let trimmed = Substring(item)
            if trimmed.first == "{", trimmed.last == "}", isOneGroup(trimmed) {
                return trimmed.dropFirst().dropLast().trimmingWhitespace()
            }
            return item
        }
    }

    /// Whether the brace opening `text` closes at its very end.
    private static func isOneGroup(_ text: Substring) -> Bool {
        var depth = 0
        for (offset, character) in text.enumerated() {
            if character == "{" { depth += 1 }
            if character == "}" {
                depth -= 1
                if depth == 0 { return offset == text.count - 1 }
            }
        }
        return false
    }
}

public import MailMaps

/// A search filter with the lookup key to put in (RFC 4515): `(mailLocalAddress=%s)`.
///
/// Placeholders: `%s` and `%0` (Sendmail's) stand for the whole key, `%u` for the part before
/// the last `@`, `%d` for the part after it, `%%` for a percent sign. Every value put in is
/// escaped as RFC 4515 §3 requires (`*`, `(`, `)`, `\` and NUL as `\2a`, `\28`, `\29`, `\5c`,
/// `\00`), so a key can never change the filter's structure.
public struct LDAPFilterTemplate: Hashable, Sendable, CustomStringConvertible {
    private enum Part: Hashable, Sendable {
        case literal(String)
        case key
        case localPart
        case domain
    }

    private let parts: [Part]
    /// The template as written.
    public let description: String

    /// Parses `template`.
    ///
    /// - Throws: ``MailMapError`` of kind `badSpec` for an unknown placeholder or parentheses
    ///   that do not balance.
    public init(_ template: String, map: String) throws(MailMapError) {
        var parts: [Part] = []
        var literal = ""
        var iterator = template.makeIterator()
        var depth = 0
        while let character = iterator.next() {
            if character == "(" { depth += 1 }
            if character == ")" {
                depth -= 1
                guard depth >= 0 else { break }
            }
            guard character == "%" else {
                literal.append(character)
                continue
            }
            let placeholder = iterator.next()
            let part: Part
            switch placeholder {
            case "s", "0": part = .key
            case "u": part = .localPart
            case "d": part = .domain
            case "%":
                literal.append("%")
                continue
            default:
                throw MailMapError(.badSpec, map: map,
                    message: "\(map): filter \"\(template)\" has an unknown placeholder %\(placeholder.map(String.init) ?? "") (use %s, %0, %u, %d or %%)")
            }
            if !literal.isEmpty { parts.append(.literal(literal)) }
            literal = ""
            parts.append(part)
        }
        guard depth == 0 else {
            throw MailMapError(.badSpec, map: map, message: "\(map): filter \"\(template)\" has parentheses that do not balance")
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        self.parts = parts
        self.description = template
    }

    /// Whether the template uses `%u` or `%d`, which need a key with an `@`.
    public var needsAddress: Bool {
        parts.contains { $0 == .localPart || $0 == .domain }
    }

    /// The filter for `key`, or `nil` when the template needs an address and `key` has no `@`.
    public func filter(for key: String) -> String? {
        let at = key.lastIndex(of: "@")
        if needsAddress && at == nil { return nil }
        var filter = ""
        for part in parts {
            switch part {
            case .literal(let text): filter += text
            case .key: filter += Self.escape(key)
            case .localPart: filter += Self.escape(String(key[..<at!]))
            case .domain: filter += Self.escape(String(key[key.index(after: at!)...]))
            }
        }
        return filter
    }

    /// `value` escaped for use as an assertion value in a filter (RFC 4515 §3).
    public static func escape(_ value: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(value.utf8.count)
        for scalar in value.unicodeScalars {
            switch scalar {
            case "*": escaped += "\\2a"
            case "(": escaped += "\\28"
            case ")": escaped += "\\29"
            case "\\": escaped += "\\5c"
            case "\u{0}": escaped += "\\00"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }
}

/// The shape of a TOML 1.0 document — table headers, keys, `=`, strings, arrays, inline tables,
/// comments and where lines may end — checked before TOMLKit parses it.
///
/// toml++ (the C++ parser under TOMLKit) ends the process with an assertion on some malformed
/// inputs instead of reporting them (`[[= x`, `` [`uth] ``, a non-ASCII character in a header),
/// and a configuration error must never crash the server. This check refuses everything outside
/// TOML's grammar at the level of its tokens, with the line, so that only well-shaped text reaches
/// the parser; the meaning of values (numbers, dates, duplicate keys) stays the parser's to check.
struct TOMLShape {
    private let bytes: [UInt8]
    private var index = 0
    private var line = 1

    private struct Problem: Error {
        let line: Int
        let message: String
    }

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// The first problem's line and description, or `nil`.
    mutating func check() -> (line: Int, message: String)? {
        do {
            try document()
            return nil
        } catch {
            return (error.line, error.message)
        }
    }

    // MARK: - Grammar

    private mutating func document() throws(Problem) {
        while true {
            skipSpaces()
            guard let byte = peek else { return }
            switch byte {
            case UInt8(ascii: "#"), UInt8(ascii: "\r"), UInt8(ascii: "\n"):
                try endOfLine()
            case UInt8(ascii: "["):
                try header()
                try endOfLine()
            default:
                try keyValue()
                try endOfLine()
            }
        }
    }

    /// `[key]` or `[[key]]`.
    private mutating func header() throws(Problem) {
        index += 1
        let arrayOfTables = peek == UInt8(ascii: "[")
        if arrayOfTables { index += 1 }
        skipSpaces()
        try key()
        skipSpaces()
        try expect("]", "a table header ends with ]")
        if arrayOfTables { try expect("]", "an array-of-tables header ends with ]]") }
    }

    /// `key = value`.
    private mutating func keyValue() throws(Problem) {
        try key()
        skipSpaces()
        try expect("=", "a key is followed by =")
        skipSpaces()
        try value()
    }

    /// A dotted key: simple keys joined by `.`.
    private mutating func key() throws(Problem) {
        while true {
            try simpleKey()
            skipSpaces()
            guard peek == UInt8(ascii: ".") else { return }
            index += 1
            skipSpaces()
        }
    }

    private mutating func simpleKey() throws(Problem) {
        guard let byte = peek else { throw problem("a key is missing at the end of the text") }
        if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
            if starts("\"\"\"") || starts("'''") { throw problem("a key cannot be a multi-line string") }
            try string()
            return
        }
        guard Self.isBareKeyCharacter(byte) else { throw problem("\(describe(byte)) where a key belongs (letters, digits, _ and -, or a quoted key)") }
        while let next = peek, Self.isBareKeyCharacter(next) { index += 1 }
    }

    private mutating func value() throws(Problem) {
        guard let byte = peek else { throw problem("a value is missing at the end of the text") }
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "'"):
            try string()
        case UInt8(ascii: "["):
            try array()
        case UInt8(ascii: "{"):
            try inlineTable()
        default:
            guard Self.isScalarCharacter(byte) else { throw problem("\(describe(byte)) where a value belongs") }
            while let next = peek, Self.isScalarCharacter(next) { index += 1 }
            // A local date-time may separate its date and time with a space: 1979-05-27 07:32:00.
            if peek == UInt8(ascii: " "), index + 1 < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index + 1]) {
                index += 1
                while let next = peek, Self.isScalarCharacter(next) { index += 1 }
            }
        }
    }

    private mutating func array() throws(Problem) {
        index += 1
        try skipBlank()
        if peek == UInt8(ascii: "]") {
            index += 1
            return
        }
        while true {
            try value()
            try skipBlank()
            guard let byte = peek else { throw problem("an array is not closed with ]") }
            if byte == UInt8(ascii: "]") {
                index += 1
                return
            }
            guard byte == UInt8(ascii: ",") else { throw problem("\(describe(byte)) in an array, where , or ] belongs") }
            index += 1
            try skipBlank()
            if peek == UInt8(ascii: "]") {
                index += 1
                return
            }
        }
    }

    private mutating func inlineTable() throws(Problem) {
        index += 1
        skipSpaces()
        if peek == UInt8(ascii: "}") {
            index += 1
            return
        }
        while true {
            try keyValue()
            skipSpaces()
            guard let byte = peek else { throw problem("an inline table is not closed with }") }
            if byte == UInt8(ascii: "}") {
                index += 1
                return
            }
            guard byte == UInt8(ascii: ",") else { throw problem("\(describe(byte)) in an inline table, where , or } belongs (on one line)") }
            index += 1
            skipSpaces()
        }
    }

    /// A basic, literal, multi-line basic or multi-line literal string.
    private mutating func string() throws(Problem) {
        let quote = bytes[index]
        let multiline = starts(quote == UInt8(ascii: "\"") ? "\"\"\"" : "'''")
        index += multiline ? 3 : 1
        while true {
            guard let byte = peek else { throw problem("a string is not closed") }
            if multiline, starts(quote == UInt8(ascii: "\"") ? "\"\"\"" : "'''") {
                index += 3
                // Up to two more quotes may end the string's content (TOML 1.0).
                for _ in 0..<2 where peek == quote { index += 1 }
                return
            }
            if !multiline, byte == quote {
                index += 1
                return
            }
            switch byte {
            case UInt8(ascii: "\n"):
                guard multiline else { throw problem("a string is not closed on its line") }
                line += 1
            case UInt8(ascii: "\\") where quote == UInt8(ascii: "\""):
                index += 1
                guard let escaped = peek else { throw problem("a string is not closed") }
                if escaped == UInt8(ascii: "\n") { line += 1 }
            case UInt8(ascii: "\t"), UInt8(ascii: "\r"):
                break
            default:
                if byte < 0x20 || byte == 0x7F { throw problem("control character \(describe(byte)) in a string") }
            }
            index += 1
        }
    }

    // MARK: - White space, comments, line ends

    private mutating func skipSpaces() {
        while let byte = peek, byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") { index += 1 }
    }

    /// White space, comments and line ends, as arrays allow between their values.
    private mutating func skipBlank() throws(Problem) {
        while true {
            skipSpaces()
            guard let byte = peek else { return }
            if byte == UInt8(ascii: "#") || byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n") {
                try endOfLine()
            } else {
                return
            }
        }
    }

    /// Spaces, an optional comment, then the end of the line (or of the text).
    private mutating func endOfLine() throws(Problem) {
        skipSpaces()
        if peek == UInt8(ascii: "#") {
            while let byte = peek, byte != UInt8(ascii: "\n") {
                if (byte < 0x20 && byte != UInt8(ascii: "\t") && byte != UInt8(ascii: "\r")) || byte == 0x7F {
                    throw problem("control character \(describe(byte)) in a comment")
                }
                index += 1
            }
        }
        if peek == UInt8(ascii: "\r") { index += 1 }
        guard let byte = peek else { return }
        guard byte == UInt8(ascii: "\n") else { throw problem("\(describe(byte)) after a complete line (one key = value or header per line)") }
        index += 1
        line += 1
    }

    // MARK: - Helpers

    private var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

    /// Whether the text at the current position starts with `marker` (ASCII, a few bytes).
    private func starts(_ marker: StaticString) -> Bool {
        let count = marker.utf8CodeUnitCount
        guard index + count <= bytes.count else { return false }
        return marker.withUTF8Buffer { marks in
            for offset in 0..<count where bytes[index + offset] != marks[offset] { return false }
            return true
        }
    }

    private mutating func expect(_ character: Character, _ message: String) throws(Problem) {
        guard let byte = peek, byte == character.asciiValue else {
            throw problem(peek.map { "\(describe($0)): \(message)" } ?? message)
        }
        index += 1
    }

    private func problem(_ message: String) -> Problem {
        Problem(line: line, message: message)
    }

    private func describe(_ byte: UInt8) -> String {
        if byte >= 0x80 { return "a character beyond ASCII (TOML has them only in strings and comments)" }
        if byte < 0x20 || byte == 0x7F { return "U+\(String(byte, radix: 16, uppercase: true))" }
        return "\"\(Character(Unicode.Scalar(byte)))\""
    }

    private static func isBareKeyCharacter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
    }

    /// Numbers, booleans, dates and times (`+1_000`, `0x1F`, `6.02e+23`, `inf`, `1979-05-27T07:32:00Z`).
    private static func isScalarCharacter(_ byte: UInt8) -> Bool {
        isBareKeyCharacter(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: ":")
    }
}

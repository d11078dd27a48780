/// The `name=value` lists DIGEST-MD5 challenges and responses are made of (RFC 2831 §7.1, the
/// `#rule` of RFC 2616 §2.1): values are tokens or quoted strings with backslash escapes, separated
/// by commas and optional white space.
package struct DigestMD5Directives: Sendable {
    package enum ParseError: Error, Equatable {
        case malformed(String)
    }

    /// The directives in order; names lower-cased, values unquoted.
    package private(set) var entries: [(name: String, value: [UInt8])] = []

    package init() {}

    /// Parses `bytes`; throws for anything outside the grammar (never traps).
    package init(parsing bytes: [UInt8]) throws(ParseError) {
        var index = 0
        let end = bytes.count
        func skipSpace() {
            while index < end, bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\t")
                || bytes[index] == UInt8(ascii: "\r") || bytes[index] == UInt8(ascii: "\n")
            {
                index += 1
            }
        }
        while true {
            skipSpace()
            if index == end { break }
            if bytes[index] == UInt8(ascii: ",") {  // empty list element
                index += 1
                continue
            }
            let nameStart = index
            while index < end, Self.isTokenCharacter(bytes[index]) { index += 1 }
            guard index > nameStart else { throw .malformed("a directive name is missing at offset \(nameStart)") }
            let name = String(decoding: bytes[nameStart..<index], as: UTF8.self).lowercased()
            skipSpace()
            guard index < end, bytes[index] == UInt8(ascii: "=") else {
                throw .malformed("directive \(name) has no `=`")
            }
            index += 1
            skipSpace()
            var value: [UInt8] = []
            if index < end, bytes[index] == UInt8(ascii: "\"") {
                index += 1
                var closed = false
                while index < end {
                    let byte = bytes[index]
                    index += 1
                    if byte == UInt8(ascii: "\"") {
                        closed = true
                        break
                    }
                    if byte == UInt8(ascii: "\\") {
                        guard index < end else { break }
                        value.append(bytes[index])
                        index += 1
                        continue
                    }
                    guard byte >= 0x20 || byte == UInt8(ascii: "\t"), byte != 0x7F else {
                        throw .malformed("directive \(name) has a control character in its quoted value")
                    }
                    value.append(byte)
                }
                guard closed else { throw .malformed("directive \(name) has an unterminated quoted value") }
            } else {
                let valueStart = index
                while index < end, Self.isTokenCharacter(bytes[index]) { index += 1 }
                guard index > valueStart else { throw .malformed("directive \(name) has no value") }
                value = Array(bytes[valueStart..<index])
            }
            entries.append((name, value))
            skipSpace()
            if index == end { break }
            guard bytes[index] == UInt8(ascii: ",") else {
                throw .malformed("directive \(name) is followed by something other than `,`")
            }
            index += 1
        }
    }

    /// The values of `name`, in order.
    func values(_ name: String) -> [[UInt8]] {
        entries.filter { $0.name == name }.map(\.value)
    }

    /// The only value of `name`, `nil` when absent; throws when it occurs more than once.
    func single(_ name: String) throws(ParseError) -> [UInt8]? {
        let found = values(name)
        guard found.count <= 1 else { throw .malformed("directive \(name) occurs \(found.count) times") }
        return found.first
    }

    /// Appends a quoted directive.
    package mutating func append(_ name: String, quoted value: [UInt8]) {
        entries.append((name, value))
        quotedNames.insert(name)
    }

    /// Appends a token directive (the caller passes a valid token).
    mutating func append(_ name: String, token value: String) {
        entries.append((name, Array(value.utf8)))
    }

    private var quotedNames: Set<String> = []

    /// The wire form.
    package var encoded: [UInt8] {
        var output: [UInt8] = []
        for (offset, entry) in entries.enumerated() {
            if offset > 0 { output.append(UInt8(ascii: ",")) }
            output += Array(entry.name.utf8)
            output.append(UInt8(ascii: "="))
            if quotedNames.contains(entry.name) {
                output.append(UInt8(ascii: "\""))
                for byte in entry.value {
                    // quoted-pair (RFC 2616 §2.2): the quote, the backslash and control characters.
                    if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || (byte < 0x20 && byte != 0x09) || byte == 0x7F {
                        output.append(UInt8(ascii: "\\"))
                    }
                    output.append(byte)
                }
                output.append(UInt8(ascii: "\""))
            } else {
                output += entry.value
            }
        }
        return output
    }

    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        guard byte > 0x20, byte < 0x7F else { return false }
        switch byte {
        case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "@"),
            UInt8(ascii: ","), UInt8(ascii: ";"), UInt8(ascii: ":"), UInt8(ascii: "\\"), UInt8(ascii: "\""),
            UInt8(ascii: "/"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "?"), UInt8(ascii: "="),
            UInt8(ascii: "{"), UInt8(ascii: "}"):
            return false
        default:
            return true
        }
    }
}

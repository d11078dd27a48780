/// The `name=value` lists DIGEST-MD5 challenges and responses are made of (RFC 2831 §7.1, the
/// `#rule` of RFC 2616 §2.1): values are tokens or quoted strings with backslash escapes, separated
/// by commas and optional white space.
struct DigestMD5Directives: Sendable {
    enum ParseError: Error, Equatable {
        case malformed(String)
    }

    /// The directives in order; names lower-cased, values unquoted.
    private(set) var entries: [(name: String, value: [UInt8])] = []

    init() {}

    /// Parses `bytes`; throws for anything outside the grammar (never traps).
    init(parsing bytes: [UInt8]) throws(ParseError) {
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
    mutating func append(_ name: String, quoted value: [UInt8]) {
        entries.append((name, value))
        quotedNames.insert(name)
    }

    /// Appends a token directive (the caller passes a valid token).
    mutating func append(_ name: String, token value: String) {
        entries.append((name, Array(value.utf8)))
    }

    private var quotedNames: Set<String> = []

    /// The wire form.
    var encoded: [UInt8] {
        var output: [UInt8] = []
        for (offset, entry) in entries.enumerated() {
            if offset > 0 { output.append(UInt8(ascii: ",")) }
            output += Array(entry.name.utf8)
            output.append(UInt8(ascii: "="))
            if quotedNames.contains(entry.name) {
                output.append(UInt8(ascii: "\""))
                for byte in entry.value {
                    if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { output.append(UInt8(ascii: "\\")) }
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

/// The digest computations of RFC 2831 §2.1.2.1 for `qop=auth`.
enum DigestMD5 {
    /// `H(username:realm:passwd)`, the 16 octets a store may keep instead of the password.
    static func userRealmPasswordHash(user: [UInt8], realm: [UInt8], password: [UInt8]) -> [UInt8] {
        Digests.md5(user + [UInt8(ascii: ":")] + realm + [UInt8(ascii: ":")] + password)
    }

    /// `HEX(KD(HEX(H(A1)), nonce:nc:cnonce:qop:HEX(H(A2))))` with A2 = `prefix:digest-uri`
    /// (`AUTHENTICATE` for the client's `response`, empty for the server's `rspauth`).
    static func response(
        userRealmPasswordHash: [UInt8], nonce: [UInt8], cnonce: [UInt8], nonceCount: [UInt8],
        authorizationIdentity: [UInt8]?, digestURI: [UInt8], a2Prefix: String
    ) -> String {
        let colon = UInt8(ascii: ":")
        var a1 = userRealmPasswordHash + [colon] + nonce + [colon] + cnonce
        if let authorizationIdentity, !authorizationIdentity.isEmpty { a1 += [colon] + authorizationIdentity }
        let a2 = Array(a2Prefix.utf8) + [colon] + digestURI
        let hashA1 = Array(Bytes.hex(Digests.md5(a1)).utf8)
        let hashA2 = Array(Bytes.hex(Digests.md5(a2)).utf8)
        let kd = hashA1 + [colon] + nonce + [colon] + nonceCount + [colon] + cnonce + [colon] + Array("auth".utf8) + [colon] + hashA2
        return Bytes.hex(Digests.md5(kd))
    }

    /// RFC 2831 §2.1.2.1: without `charset=utf-8`, user name and password are ISO 8859-1 when
    /// every character fits; this gives the octets to hash.
    static func octets(_ text: String, utf8: Bool) -> [UInt8] {
        guard !utf8 else { return Array(text.utf8) }
        var latin1: [UInt8] = []
        for scalar in text.unicodeScalars {
            guard scalar.value <= 0xFF else { return Array(text.utf8) }
            latin1.append(UInt8(scalar.value))
        }
        return latin1
    }

    /// The text of ISO 8859-1 octets.
    static func latin1String(_ bytes: [UInt8]) -> String {
        String(String.UnicodeScalarView(bytes.map { Unicode.Scalar($0) }))
    }
}

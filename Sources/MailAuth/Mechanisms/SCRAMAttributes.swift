/// The `a=value` attribute lists of SCRAM messages (RFC 5802 §5, §7), parsed strictly.
package struct SCRAMAttributes: Sendable {
    /// The attributes in order: a single-letter name and the raw value.
    package let entries: [(name: UInt8, value: [UInt8])]

    package enum ParseError: Error, Equatable {
        case malformed(String)
    }

    /// Parses `bytes` as `attr=value` items separated by commas.
    package init(parsing bytes: some Collection<UInt8>) throws(ParseError) {
        var entries: [(name: UInt8, value: [UInt8])] = []
        for item in bytes.split(separator: UInt8(ascii: ","), omittingEmptySubsequences: false) {
            let item = Array(item)
            guard item.count >= 2, item[1] == UInt8(ascii: "=") else {
                throw .malformed("an attribute is not `letter=value`")
            }
            let name = item[0]
            guard (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(name) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(name)
            else { throw .malformed("an attribute name is not a letter") }
            entries.append((name, Array(item[2...])))
        }
        self.entries = entries
    }

    /// RFC 5802 §5.1 `saslname`: `=2C` stands for `,` and `=3D` for `=`; any other `=` is an error.
    package static func decodeName(_ bytes: [UInt8]) -> [UInt8]? {
        var output: [UInt8] = []
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: ",") { return nil }
            if byte == UInt8(ascii: "=") {
                guard index + 2 < bytes.count else { return nil }
                switch (bytes[index + 1], bytes[index + 2]) {
                case (UInt8(ascii: "2"), UInt8(ascii: "C")): output.append(UInt8(ascii: ","))
                case (UInt8(ascii: "3"), UInt8(ascii: "D")): output.append(UInt8(ascii: "="))
                default: return nil
                }
                index += 3
                continue
            }
            output.append(byte)
            index += 1
        }
        return output
    }

    /// The `saslname` form of a user name.
    package static func encodeName(_ text: String) -> [UInt8] {
        var output: [UInt8] = []
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: ","): output += Array("=2C".utf8)
            case UInt8(ascii: "="): output += Array("=3D".utf8)
            default: output.append(byte)
            }
        }
        return output
    }

    /// RFC 5802 §7 `printable`: %x21-2B / %x2D-7E, the characters of a nonce.
    static func isPrintable(_ bytes: [UInt8]) -> Bool {
        !bytes.isEmpty && bytes.allSatisfy { (0x21...0x7E).contains($0) && $0 != UInt8(ascii: ",") }
    }
}

/// The GS2 header that starts a SCRAM client-first message (RFC 5802 §7 `gs2-header`).
struct SCRAMGS2Header: Sendable {
    enum ChannelBindingFlag: Sendable, Equatable {
        /// `n`: the client does not support channel binding.
        case unsupported
        /// `y`: the client supports it but thinks the server does not.
        case supportedButNotUsed
        /// `p=type`: the client uses channel binding of this type.
        case used(type: String)
    }

    let flag: ChannelBindingFlag
    let authorizationIdentity: String?

    init(flag: ChannelBindingFlag, authorizationIdentity: String?) {
        self.flag = flag
        self.authorizationIdentity = authorizationIdentity
    }

    /// The header's octets, including the final comma.
    var encoded: [UInt8] {
        var output: [UInt8]
        switch flag {
        case .unsupported: output = Array("n".utf8)
        case .supportedButNotUsed: output = Array("y".utf8)
        case .used(let type): output = Array("p=\(type)".utf8)
        }
        output.append(UInt8(ascii: ","))
        if let authorizationIdentity, !authorizationIdentity.isEmpty {
            output += Array("a=".utf8) + SCRAMAttributes.encodeName(authorizationIdentity)
        }
        output.append(UInt8(ascii: ","))
        return output
    }
}

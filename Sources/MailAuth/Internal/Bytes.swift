/// Small byte helpers the mechanisms share.
package enum Bytes {
    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Lower-case hexadecimal, as RFC 2195 and RFC 2831 write digests.
    package static func hex(_ bytes: some Sequence<UInt8>) -> String {
        var output: [UInt8] = []
        for byte in bytes {
            output.append(hexDigits[Int(byte >> 4)])
            output.append(hexDigits[Int(byte & 0x0F)])
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The octets of a hexadecimal string (either case); `nil` when it is not one.
    package static func unhex(_ text: some Collection<UInt8>) -> [UInt8]? {
        guard text.count % 2 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(text.count / 2)
        var high: UInt8?
        for byte in text {
            let value: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            if let first = high {
                output.append(first << 4 | value)
                high = nil
            } else {
                high = value
            }
        }
        return output
    }

    /// Compares two byte strings in time that depends only on their lengths.
    static func constantTimeEqual(_ lhs: some Collection<UInt8>, _ rhs: some Collection<UInt8>) -> Bool {
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for (left, right) in zip(lhs, rhs) { difference |= left ^ right }
        return difference == 0
    }

    /// `count` octets from the system's cryptographically secure generator.
    static func random(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    /// A nonce of printable characters (RFC 5802 §5.1 `printable`, without `,`), from `octets`
    /// random octets.
    static func nonce(octets: Int = 18) -> String {
        // Base64 of random octets uses only letters, digits, `+` and `/` when the length is a
        // multiple of 3, all of which are printable and none a comma.
        Base64.encode(random((octets + 2) / 3 * 3))
    }

    /// Whether `bytes` are well-formed UTF-8.
    static func isValidUTF8(_ bytes: some Collection<UInt8>) -> Bool {
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue: continue
            case .emptyInput: return true
            case .error: return false
            }
        }
    }

    /// The text of well-formed UTF-8 without NUL; `nil` otherwise.
    static func utf8String(_ bytes: some Collection<UInt8>) -> String? {
        guard !bytes.contains(0), isValidUTF8(bytes) else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// Base64 (RFC 4648 §4) for the attributes inside SCRAM messages and for stored verifiers.
///
/// The SMTP transport encoding of whole SASL messages is the protocol layer's business; this is
/// only for values *inside* a mechanism's messages (SCRAM's `s=`, `c=`, `p=`, `v=`).
enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    /// The padded encoding of `bytes`.
    static func encode(_ bytes: some Collection<UInt8>) -> String {
        let input = Array(bytes)
        var output: [UInt8] = []
        output.reserveCapacity((input.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= input.count {
            let value = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
            output.append(alphabet[Int(value >> 18 & 63)])
            output.append(alphabet[Int(value >> 12 & 63)])
            output.append(alphabet[Int(value >> 6 & 63)])
            output.append(alphabet[Int(value & 63)])
            index += 3
        }
        let rest = input.count - index
        if rest == 1 {
            let value = UInt32(input[index]) << 16
            output.append(alphabet[Int(value >> 18 & 63)])
            output.append(alphabet[Int(value >> 12 & 63)])
            output.append(UInt8(ascii: "="))
            output.append(UInt8(ascii: "="))
        } else if rest == 2 {
            let value = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8
            output.append(alphabet[Int(value >> 18 & 63)])
            output.append(alphabet[Int(value >> 12 & 63)])
            output.append(alphabet[Int(value >> 6 & 63)])
            output.append(UInt8(ascii: "="))
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// The octets of a padded, canonical encoding; `nil` for anything else (wrong length, a
    /// character outside the alphabet, misplaced padding, or non-zero bits in the last character).
    static func decode(_ text: some Collection<UInt8>) -> [UInt8]? {
        let input = Array(text)
        guard input.count % 4 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 4 * 3)
        var index = 0
        while index < input.count {
            let isLast = index + 4 == input.count
            var values: [UInt32] = [0, 0, 0, 0]
            var padding = 0
            for offset in 0..<4 {
                let byte = input[index + offset]
                if byte == UInt8(ascii: "=") {
                    guard isLast, offset >= 2 else { return nil }
                    padding += 1
                    continue
                }
                guard padding == 0 else { return nil }
                let value = decodeTable[Int(byte)]
                guard value != 0xFF else { return nil }
                values[offset] = UInt32(value)
            }
            let combined = values[0] << 18 | values[1] << 12 | values[2] << 6 | values[3]
            output.append(UInt8(combined >> 16 & 0xFF))
            if padding < 2 { output.append(UInt8(combined >> 8 & 0xFF)) }
            if padding < 1 { output.append(UInt8(combined & 0xFF)) }
            // Canonical form: the bits the padding hides must be zero.
            if padding == 1, combined & 0xFF != 0 { return nil }
            if padding == 2, combined & 0xFFFF != 0 { return nil }
            index += 4
        }
        return output
    }

    static func decode(_ text: String) -> [UInt8]? {
        decode(Array(text.utf8))
    }
}

/// Base64 (RFC 4648 §4) as SMTP AUTH uses it (RFC 4954 §4): padded, no line breaks, and strict —
/// a character outside the alphabet, bad padding, or non-zero pad bits make the text invalid.
public enum Base64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    /// Encodes bytes.
    public static func encode<Bytes: Collection>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var iterator = bytes.makeIterator()
        while let first = iterator.next() {
            let second = iterator.next()
            let third = iterator.next()
            let value = UInt32(first) << 16 | UInt32(second ?? 0) << 8 | UInt32(third ?? 0)
            output.append(alphabet[Int(value >> 18 & 0x3F)])
            output.append(alphabet[Int(value >> 12 & 0x3F)])
            output.append(second == nil ? UInt8(ascii: "=") : alphabet[Int(value >> 6 & 0x3F)])
            output.append(third == nil ? UInt8(ascii: "=") : alphabet[Int(value & 0x3F)])
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes text; `nil` when it is not strict, padded base64.
    public static func decode<Text: StringProtocol>(_ text: Text) -> [UInt8]? {
        let input = Array(text.utf8)
        guard input.count % 4 == 0 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 4 * 3)
        var index = 0
        while index < input.count {
            let isLast = index + 4 == input.count
            let a = decodeTable[Int(input[index])], b = decodeTable[Int(input[index + 1])]
            let cByte = input[index + 2], dByte = input[index + 3]
            guard a != 0xFF, b != 0xFF else { return nil }
            if cByte == UInt8(ascii: "=") {
                // "xx==": one byte; the low four bits of b must be zero.
                guard isLast, dByte == UInt8(ascii: "="), b & 0x0F == 0 else { return nil }
                output.append(a << 2 | b >> 4)
                break
            }
            let c = decodeTable[Int(cByte)]
            guard c != 0xFF else { return nil }
            if dByte == UInt8(ascii: "=") {
                // "xxx=": two bytes; the low two bits of c must be zero.
                guard isLast, c & 0x03 == 0 else { return nil }
                output.append(a << 2 | b >> 4)
                output.append(b << 4 | c >> 2)
                break
            }
            let d = decodeTable[Int(dByte)]
            guard d != 0xFF else { return nil }
            output.append(a << 2 | b >> 4)
            output.append(b << 4 | c >> 2)
            output.append(c << 6 | d)
            index += 4
        }
        return output
    }
}

/// m4's `eval`: an integer expression with C's operators and precedence (`sm_version_math >=
/// 527104` in Debian's files), in 64-bit arithmetic that wraps rather than traps.
struct MCExpression {
    struct Failure: Error {
        let message: String
    }

    private let bytes: [UInt8]
    private var index = 0
    private var depth = 0

    init(_ text: String) {
        bytes = Array(text.utf8)
    }

    mutating func evaluate() throws(Failure) -> Int {
        let value = try parse(level: 0)
        skipSpace()
        guard index == bytes.count else {
            throw Failure(message: "unexpected \"\(String(decoding: bytes[index...], as: UTF8.self))\"")
        }
        return value
    }

    /// Binary operators by precedence, loosest first.
    private static let levels: [[String]] = [
        ["||"], ["&&"], ["|"], ["^"], ["&"], ["==", "!="], ["<=", ">=", "<", ">"], ["<<", ">>"], ["+", "-"], ["*", "/", "%"],
    ]

    private mutating func skipSpace() {
        while index < bytes.count, bytes[index] == 0x20 || bytes[index] == 0x09 || bytes[index] == 0x0A || bytes[index] == 0x0D {
            index += 1
        }
    }

    private mutating func take(_ symbol: String) -> Bool {
        skipSpace()
        let wanted = Array(symbol.utf8)
        guard index + wanted.count <= bytes.count, bytes[index..<(index + wanted.count)].elementsEqual(wanted) else { return false }
        // `|` is not the start of `||`, `&` not of `&&`, `<` not of `<<` or `<=`, `*` not of `**`.
        if wanted.count == 1, index + 1 < bytes.count {
            let next = bytes[index + 1]
            if (symbol == "|" && next == UInt8(ascii: "|")) || (symbol == "&" && next == UInt8(ascii: "&"))
                || ((symbol == "<" || symbol == ">") && (next == UInt8(ascii: "=") || next == wanted[0]))
                || (symbol == "*" && next == UInt8(ascii: "*")) {
                return false
            }
        }
        index += wanted.count
        return true
    }

    private mutating func parse(level: Int) throws(Failure) -> Int {
        guard level < Self.levels.count else { return try power() }
        var value = try parse(level: level + 1)
        loop: while true {
            for symbol in Self.levels[level] where take(symbol) {
                let right = try parse(level: level + 1)
                value = try Self.apply(symbol, value, right)
                continue loop
            }
            return value
        }
    }

    private static func apply(_ symbol: String, _ left: Int, _ right: Int) throws(Failure) -> Int {
        switch symbol {
        case "||": return (left != 0 || right != 0) ? 1 : 0
        case "&&": return (left != 0 && right != 0) ? 1 : 0
        case "|": return left | right
        case "^": return left ^ right
        case "&": return left & right
        case "==": return left == right ? 1 : 0
        case "!=": return left != right ? 1 : 0
        case "<": return left < right ? 1 : 0
        case "<=": return left <= right ? 1 : 0
        case ">": return left > right ? 1 : 0
        case ">=": return left >= right ? 1 : 0
        case "<<": return left << (right & 63)
        case ">>": return left >> (right & 63)
        case "+": return left &+ right
        case "-": return left &- right
        case "*": return left &* right
        case "/", "%":
            guard right != 0 else { throw Failure(message: "divide by zero") }
            if left == Int.min, right == -1 { return symbol == "/" ? Int.min : 0 }
            return symbol == "/" ? left / right : left % right
        default: throw Failure(message: "unknown operator \(symbol)")
        }
    }

    private mutating func power() throws(Failure) -> Int {
        let base = try unary()
        guard take("**") else { return base }
        let exponent = try power()
        guard exponent >= 0 else { throw Failure(message: "negative exponent") }
        var result = 1
        for _ in 0..<min(exponent, 64) { result = result &* base }
        return result
    }

    private mutating func unary() throws(Failure) -> Int {
        depth += 1
        defer { depth -= 1 }
        guard depth < 200 else { throw Failure(message: "nested too deep") }
        if take("-") { return 0 &- (try unary()) }
        if take("+") { return try unary() }
        if take("!") { return try unary() == 0 ? 1 : 0 }
        if take("~") { return ~(try unary()) }
        if take("(") {
            let value = try parse(level: 0)
            guard take(")") else { throw Failure(message: "a ) is missing") }
            return value
        }
        return try number()
    }

    private mutating func number() throws(Failure) -> Int {
        skipSpace()
        var radix = 10
        if index + 1 < bytes.count, bytes[index] == UInt8(ascii: "0"), bytes[index + 1] == UInt8(ascii: "x") || bytes[index + 1] == UInt8(ascii: "X") {
            radix = 16
            index += 2
        } else if index + 1 < bytes.count, bytes[index] == UInt8(ascii: "0"), bytes[index + 1] == UInt8(ascii: "b") || bytes[index + 1] == UInt8(ascii: "B") {
            radix = 2
            index += 2
        } else if index + 1 < bytes.count, bytes[index] == UInt8(ascii: "0"), (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(bytes[index + 1]) {
            radix = 8
            index += 1
        }
        let start = index
        var value = 0
        while index < bytes.count, let digit = Self.digit(bytes[index]), digit < radix {
            value = value &* radix &+ digit
            index += 1
        }
        guard index > start else {
            let rest = index < bytes.count ? "\"\(String(decoding: bytes[index...], as: UTF8.self))\"" : "the end"
            throw Failure(message: "a number was expected at \(rest)")
        }
        return value
    }

    private static func digit(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "z"): Int(byte - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): Int(byte - UInt8(ascii: "A")) + 10
        default: nil
        }
    }
}

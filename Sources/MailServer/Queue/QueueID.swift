/// A message's queue id: unique in its spool, sortable by arrival, and short enough to log with
/// every event — as Sendmail's (`sendmail(8)`: "the queue ID") and Postfix's are.
///
/// The value is the arrival time (seconds since 1970, times 62⁴) plus a sub-second count that
/// starts at the microsecond and only ever grows, written as ten base-62 digits (`0-9A-Za-z`, in
/// ASCII order so that the text sorts as the value does): `0TAmzW5c3X`. The first six digits
/// change once a second. A spool never hands out the same id twice: each id is greater than every
/// id it issued or recovered before, even when the clock steps back.
public struct QueueID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The number behind the text.
    public let rawValue: UInt64

    /// The id with this value.
    public init(rawValue: UInt64) {
        self.rawValue = rawValue
    }

    /// Parses the ten-digit text form; `nil` for anything else.
    public init?(_ text: some StringProtocol) {
        guard text.utf8.count == Self.digitCount else { return nil }
        var value: UInt64 = 0
        for byte in text.utf8 {
            guard let digit = Self.digitValue(byte) else { return nil }
            let (product, overflow) = value.multipliedReportingOverflow(by: 62)
            guard !overflow else { return nil }
            let (sum, overflowSum) = product.addingReportingOverflow(UInt64(digit))
            guard !overflowSum else { return nil }
            value = sum
        }
        rawValue = value
    }

    /// How many of the value's units make a second.
    static let unitsPerSecond: UInt64 = 62 * 62 * 62 * 62
    static let digitCount = 10
    private static let digits: [UInt8] = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    private static func digitValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte - UInt8(ascii: "A") + 10
        case UInt8(ascii: "a")...UInt8(ascii: "z"): byte - UInt8(ascii: "a") + 36
        default: nil
        }
    }

    /// The smallest id a message arriving at `microseconds` since 1970 may have.
    static func floor(microseconds: UInt64) -> UInt64 {
        (microseconds / 1_000_000) * unitsPerSecond + microseconds % 1_000_000
    }

    /// The arrival second the id encodes.
    public var secondsSince1970: UInt64 { rawValue / Self.unitsPerSecond }

    /// Ten base-62 digits.
    public var description: String {
        var bytes = [UInt8](repeating: UInt8(ascii: "0"), count: Self.digitCount)
        var value = rawValue
        var index = Self.digitCount - 1
        while value > 0, index >= 0 {
            bytes[index] = Self.digits[Int(value % 62)]
            value /= 62
            index -= 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Arrival order.
    public static func < (lhs: QueueID, rhs: QueueID) -> Bool { lhs.rawValue < rhs.rawValue }
}

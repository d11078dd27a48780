/// The BODY parameter of MAIL (RFC 6152 for 8BITMIME, RFC 3030 for BINARYMIME; RFC 1652).
public struct BodyType: Hashable, Sendable, CustomStringConvertible {
    /// The keyword as sent, upper-cased.
    public let keyword: String

    private init(_ keyword: String) { self.keyword = keyword }

    /// `BODY=7BIT`: lines of 7-bit ASCII.
    public static let sevenBit = BodyType("7BIT")
    /// `BODY=8BITMIME`: lines may hold 8-bit octets (RFC 6152).
    public static let eightBitMIME = BodyType("8BITMIME")
    /// `BODY=BINARYMIME`: arbitrary octets, only with BDAT (RFC 3030 §3).
    public static let binaryMIME = BodyType("BINARYMIME")

    /// The body type for a keyword; `nil` for an unknown one.
    public init?(keyword: String) {
        switch SMTPCharacterClass.asciiUppercased(keyword) {
        case "7BIT": self = .sevenBit
        case "8BITMIME": self = .eightBitMIME
        case "BINARYMIME": self = .binaryMIME
        default: return nil
        }
    }

    public var description: String { keyword }
}

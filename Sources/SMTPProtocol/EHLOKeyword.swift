/// An EHLO keyword: the name of a service extension a server advertises (RFC 5321 §4.1.1.1).
public struct EHLOKeyword: Hashable, Sendable, CustomStringConvertible {
    /// The keyword, upper-cased.
    public let name: String

    /// Makes a keyword (ASCII letters upper-cased; RFC 5321 §4.1.1.1 keywords are ASCII).
    public init(_ name: String) {
        self.name = SMTPCharacterClass.asciiUppercased(name)
    }

    /// RFC 2920.
    public static let pipelining = EHLOKeyword("PIPELINING")
    /// RFC 1870; parameter: the maximum size in octets (0 or absent: no fixed limit).
    public static let size = EHLOKeyword("SIZE")
    /// RFC 6152.
    public static let eightBitMIME = EHLOKeyword("8BITMIME")
    /// RFC 2034.
    public static let enhancedStatusCodes = EHLOKeyword("ENHANCEDSTATUSCODES")
    /// RFC 3207.
    public static let startTLS = EHLOKeyword("STARTTLS")
    /// RFC 4954; parameters: the mechanism names.
    public static let auth = EHLOKeyword("AUTH")
    /// RFC 6531.
    public static let smtpUTF8 = EHLOKeyword("SMTPUTF8")
    /// RFC 3461.
    public static let dsn = EHLOKeyword("DSN")
    /// RFC 3030.
    public static let chunking = EHLOKeyword("CHUNKING")
    /// RFC 3030.
    public static let binaryMIME = EHLOKeyword("BINARYMIME")
    /// RFC 8689.
    public static let requireTLS = EHLOKeyword("REQUIRETLS")
    /// RFC 1985.
    public static let etrn = EHLOKeyword("ETRN")
    /// RFC 5321 §4.1.1.8 (advertised by some servers).
    public static let help = EHLOKeyword("HELP")
    /// RFC 5321 §3.5.2.
    public static let verify = EHLOKeyword("VRFY")
    /// RFC 5321 §3.5.2.
    public static let expand = EHLOKeyword("EXPN")

    public var description: String { name }
}

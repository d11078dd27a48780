/// The name of a SASL mechanism, as registered with IANA and sent on the wire (`PLAIN`,
/// `SCRAM-SHA-256`, …).
///
/// RFC 4422 §3.1: a name is 1 to 20 characters from the upper-case letters, digits, hyphen and
/// underscore. Names are case-insensitive on the wire; this type stores them upper-cased so that
/// two spellings compare equal. It is an open set: ``init(_:)`` accepts any well-formed name, and
/// the static members name the mechanisms SwiftMTA knows.
public struct SASLMechanismName: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The upper-cased name.
    public let rawValue: String

    /// Validates and upper-cases `name`; `nil` when it is not a mechanism name by RFC 4422 §3.1.
    public init?(_ name: some StringProtocol) {
        let bytes = Array(name.utf8)
        guard (1...20).contains(bytes.count) else { return nil }
        var upper: [UInt8] = []
        upper.reserveCapacity(bytes.count)
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"):
                upper.append(byte)
            case UInt8(ascii: "a")...UInt8(ascii: "z"):
                upper.append(byte - 32)
            default:
                return nil
            }
        }
        rawValue = String(decoding: upper, as: UTF8.self)
    }

    private init(known: String) {
        rawValue = known
    }

    public var description: String { rawValue }

    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// PLAIN, RFC 4616: authorization identity, authentication identity and password in one message.
    public static let plain = Self(known: "PLAIN")
    /// LOGIN (draft-murchison-sasl-login): user name and password in answer to two prompts.
    public static let login = Self(known: "LOGIN")
    /// CRAM-MD5, RFC 2195: an HMAC-MD5 keyed with the password over the server's challenge.
    public static let cramMD5 = Self(known: "CRAM-MD5")
    /// DIGEST-MD5, RFC 2831 (historic since RFC 6331, still what Outlook and Sendmail set-ups use).
    public static let digestMD5 = Self(known: "DIGEST-MD5")
    /// SCRAM-SHA-1, RFC 5802.
    public static let scramSHA1 = Self(known: "SCRAM-SHA-1")
    /// SCRAM-SHA-1-PLUS, RFC 5802 with channel binding (RFC 5056).
    public static let scramSHA1Plus = Self(known: "SCRAM-SHA-1-PLUS")
    /// SCRAM-SHA-256, RFC 7677.
    public static let scramSHA256 = Self(known: "SCRAM-SHA-256")
    /// SCRAM-SHA-256-PLUS, RFC 7677 with channel binding (RFC 5056).
    public static let scramSHA256Plus = Self(known: "SCRAM-SHA-256-PLUS")
    /// EXTERNAL, RFC 4422 Appendix A: the identity established outside SASL (a TLS client certificate).
    public static let external = Self(known: "EXTERNAL")
    /// XOAUTH2: an OAuth 2.0 bearer token, as Google and Microsoft mail servers accept it.
    public static let xoauth2 = Self(known: "XOAUTH2")
    /// ANONYMOUS, RFC 4505 (never implemented by SwiftMTA; named for policy checks).
    public static let anonymous = Self(known: "ANONYMOUS")
    /// GSSAPI, RFC 4752 (only through the Cyrus SASL bridge).
    public static let gssapi = Self(known: "GSSAPI")
    /// NTLM (only through the Cyrus SASL bridge).
    public static let ntlm = Self(known: "NTLM")
}

internal import COpenSSL

/// A version of the TLS protocol, named as OpenSSL and Sendmail's logs name it (`TLSv1.3`).
///
/// The versions are TLS 1.0 (RFC 2246), 1.1 (RFC 4346), 1.2 (RFC 5246) and 1.3 (RFC 8446).
/// RFC 8996 deprecates 1.0 and 1.1, and RFC 8314 §4.1 asks for 1.2 or later: SwiftMTA's minimum
/// is ``tls1_2`` unless configured otherwise.
public struct TLSProtocolVersion: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The protocol's wire version (`0x0303` for TLS 1.2).
    public let wireValue: UInt16

    private init(_ wireValue: UInt16) {
        self.wireValue = wireValue
    }

    /// TLS 1.0 (RFC 2246), deprecated by RFC 8996.
    public static let tls1_0 = TLSProtocolVersion(UInt16(TLS1_VERSION))
    /// TLS 1.1 (RFC 4346), deprecated by RFC 8996.
    public static let tls1_1 = TLSProtocolVersion(UInt16(TLS1_1_VERSION))
    /// TLS 1.2 (RFC 5246).
    public static let tls1_2 = TLSProtocolVersion(UInt16(TLS1_2_VERSION))
    /// TLS 1.3 (RFC 8446).
    public static let tls1_3 = TLSProtocolVersion(UInt16(TLS1_3_VERSION))

    /// Every version SwiftMTA knows, oldest first.
    public static let all: [TLSProtocolVersion] = [.tls1_0, .tls1_1, .tls1_2, .tls1_3]

    /// The version with this OpenSSL name (`TLSv1.2`) or short name (`1.2`), or `nil`.
    public init?(name: String) {
        let short = name.hasPrefix("TLSv") ? String(name.dropFirst(4)) : name
        switch short {
        case "1", "1.0": self = .tls1_0
        case "1.1": self = .tls1_1
        case "1.2": self = .tls1_2
        case "1.3": self = .tls1_3
        default: return nil
        }
    }

    /// The version OpenSSL negotiated, from its wire value; `nil` for anything else (SSLv3, DTLS).
    init?(negotiated wireValue: Int32) {
        guard let known = Self.all.first(where: { Int32($0.wireValue) == wireValue }) else { return nil }
        self = known
    }

    /// The name OpenSSL gives the version and Sendmail logs as `version=`: `TLSv1`, `TLSv1.1`,
    /// `TLSv1.2`, `TLSv1.3`.
    public var description: String {
        switch wireValue {
        case UInt16(TLS1_VERSION): "TLSv1"
        case UInt16(TLS1_1_VERSION): "TLSv1.1"
        case UInt16(TLS1_2_VERSION): "TLSv1.2"
        case UInt16(TLS1_3_VERSION): "TLSv1.3"
        default: "TLS(0x\(String(wireValue, radix: 16)))"
        }
    }

    /// Whether `lhs` is an older version than `rhs`.
    public static func < (lhs: TLSProtocolVersion, rhs: TLSProtocolVersion) -> Bool {
        lhs.wireValue < rhs.wireValue
    }
}

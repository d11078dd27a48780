/// A TLSA record (RFC 6698 §2.1): how a server's certificate is pinned for DANE (RFC 7672).
public struct TLSARecord: Hashable, Sendable, CustomStringConvertible {
    /// Certificate usage (RFC 6698 §2.1.1): 2 DANE-TA, 3 DANE-EE for SMTP.
    public let usage: UInt8
    /// Selector (§2.1.2): 0 the full certificate, 1 its SubjectPublicKeyInfo.
    public let selector: UInt8
    /// Matching type (§2.1.3): 0 exact, 1 SHA-256, 2 SHA-512.
    public let matchingType: UInt8
    /// The certificate association data.
    public let data: [UInt8]

    /// A TLSA record.
    public init(usage: UInt8, selector: UInt8, matchingType: UInt8, data: [UInt8]) {
        self.usage = usage
        self.selector = selector
        self.matchingType = matchingType
        self.data = data
    }

    /// The presentation form: `3 1 1 a1b2…` (RFC 6698 §2.2).
    public var description: String {
        "\(usage) \(selector) \(matchingType) " + data.map { byte in
            let digits = String(byte, radix: 16)
            return byte < 16 ? "0" + digits : digits
        }.joined()
    }
}

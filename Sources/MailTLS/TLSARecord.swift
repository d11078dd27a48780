/// A TLSA record's data (RFC 6698 §2.1): how a certificate is matched, and the data to match.
///
/// This is SwiftMTA's one TLSA type. MailTLS does not look records up: MailMaps' `DNSResolver`
/// returns each TLSA record's RDATA as octets (`DNSAnswer<[UInt8]>`, with the answer's AD bit in
/// `isAuthenticated`), and the SMTP client turns them into records with ``init(rdata:)`` and
/// into a verification with ``TLSPeerVerification/forTLSARecords(_:isAuthenticated:hostNames:)``
/// (RFC 7672 §2.2). The two libraries are leaves that never import each other, so the DNS side
/// hands over the wire form (RFC 6698 §2.1) rather than a second record type.
///
/// ```swift
/// let record = try TLSARecord(presentation: "3 1 1 8cb0fc6c527506a053f4f14c8464bebbd6dede2738d11468dd953d7d6a3021f1")
/// let fromDNS = try answer.records.map { try TLSARecord(rdata: $0) }   // MailMaps' DNSAnswer<[UInt8]>
/// ```
public struct TLSARecord: Sendable, Hashable, CustomStringConvertible {
    /// The certificate usage field (RFC 6698 §2.1.1, RFC 7218 acronyms).
    public struct Usage: Hashable, Sendable, CustomStringConvertible {
        /// The field's value.
        public let value: UInt8
        /// A usage from its numeric value.
        public init(_ value: UInt8) { self.value = value }
        /// PKIX-TA(0): a CA that must also pass PKIX validation. Unusable in SMTP (RFC 7672 §3.1.3).
        public static let pkixTA = Usage(0)
        /// PKIX-EE(1): the server certificate, which must also pass PKIX validation. Unusable in SMTP.
        public static let pkixEE = Usage(1)
        /// DANE-TA(2): a trust anchor in the server's chain (RFC 7672 §3.1.2).
        public static let daneTA = Usage(2)
        /// DANE-EE(3): the server's own certificate or key (RFC 7672 §3.1.1).
        public static let daneEE = Usage(3)
        /// The RFC 7218 acronym (`DANE-EE`) or the number.
        public var description: String {
            switch value {
            case 0: "PKIX-TA"
            case 1: "PKIX-EE"
            case 2: "DANE-TA"
            case 3: "DANE-EE"
            default: "\(value)"
            }
        }
    }

    /// The selector field (RFC 6698 §2.1.2): which part of the certificate is matched.
    public struct Selector: Hashable, Sendable, CustomStringConvertible {
        /// The field's value.
        public let value: UInt8
        /// A selector from its numeric value.
        public init(_ value: UInt8) { self.value = value }
        /// Cert(0): the whole certificate, DER-encoded.
        public static let certificate = Selector(0)
        /// SPKI(1): the SubjectPublicKeyInfo, DER-encoded.
        public static let subjectPublicKeyInfo = Selector(1)
        /// The RFC 7218 acronym (`SPKI`) or the number.
        public var description: String {
            switch value {
            case 0: "Cert"
            case 1: "SPKI"
            default: "\(value)"
            }
        }
    }

    /// The matching type field (RFC 6698 §2.1.3): how the selected data is compared.
    public struct MatchingType: Hashable, Sendable, CustomStringConvertible {
        /// The field's value.
        public let value: UInt8
        /// A matching type from its numeric value.
        public init(_ value: UInt8) { self.value = value }
        /// Full(0): the selected data itself.
        public static let full = MatchingType(0)
        /// SHA2-256(1): its SHA-256 digest.
        public static let sha256 = MatchingType(1)
        /// SHA2-512(2): its SHA-512 digest.
        public static let sha512 = MatchingType(2)
        /// The RFC 7218 acronym (`SHA2-256`) or the number.
        public var description: String {
            switch value {
            case 0: "Full"
            case 1: "SHA2-256"
            case 2: "SHA2-512"
            default: "\(value)"
            }
        }
    }

    /// The certificate usage.
    public var usage: Usage
    /// The selector.
    public var selector: Selector
    /// The matching type.
    public var matchingType: MatchingType
    /// The certificate association data.
    public var data: [UInt8]

    /// A record from its fields.
    public init(usage: Usage, selector: Selector, matchingType: MatchingType, data: [UInt8]) {
        self.usage = usage
        self.selector = selector
        self.matchingType = matchingType
        self.data = data
    }

    /// A record from its wire form (RFC 6698 §2.1): the usage, selector and matching type octets,
    /// then the certificate association data — the RDATA MailMaps' `DNSResolver.tlsa(_:)` returns.
    ///
    /// - Throws: ``TLSError`` of kind ``TLSError/Kind-swift.struct/malformedTLSARecord`` when the
    ///   RDATA is shorter than the three fixed octets.
    public init(rdata: [UInt8]) throws {
        guard rdata.count >= 3 else {
            throw TLSError(.malformedTLSARecord, "TLSA RDATA of \(rdata.count) octets is shorter than the usage, selector and matching type fields (RFC 6698 §2.1)")
        }
        self.init(
            usage: Usage(rdata[0]), selector: Selector(rdata[1]), matchingType: MatchingType(rdata[2]),
            data: Array(rdata[3...]))
    }

    /// The wire form (RFC 6698 §2.1): usage, selector, matching type, data.
    public var rdata: [UInt8] {
        [usage.value, selector.value, matchingType.value] + data
    }

    /// A record from its presentation form (RFC 6698 §2.2): `3 1 1 HEX…`, the hex digits possibly
    /// split by white space.
    ///
    /// - Throws: ``TLSError`` of kind ``TLSError/Kind-swift.struct/malformedTLSARecord`` naming the
    ///   field that is wrong.
    public init(presentation: String) throws {
        let fields = presentation.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count >= 4 else {
            throw TLSError(.malformedTLSARecord, "TLSA record \"\(presentation)\" has \(fields.count) fields; it needs usage, selector, matching type and data")
        }
        func number(_ text: String, _ name: String) throws -> UInt8 {
            guard let value = UInt8(text) else {
                throw TLSError(.malformedTLSARecord, "TLSA record \"\(presentation)\": \(name) \"\(text)\" is not a number from 0 to 255")
            }
            return value
        }
        let usage = try number(fields[0], "usage")
        let selector = try number(fields[1], "selector")
        let matchingType = try number(fields[2], "matching type")
        let hex = Array(fields[3...].joined().utf8)
        guard hex.count % 2 == 0, !hex.isEmpty else {
            throw TLSError(.malformedTLSARecord, "TLSA record \"\(presentation)\": the data has an odd number of hex digits")
        }
        var data: [UInt8] = []
        data.reserveCapacity(hex.count / 2)
        var index = 0
        while index < hex.count {
            guard let high = Self.hexValue(hex[index]), let low = Self.hexValue(hex[index + 1]) else {
                throw TLSError(.malformedTLSARecord, "TLSA record \"\(presentation)\": the data is not hexadecimal")
            }
            data.append(high << 4 | low)
            index += 2
        }
        self.init(usage: Usage(usage), selector: Selector(selector), matchingType: MatchingType(matchingType), data: data)
    }

    /// Whether an SMTP client uses the record (RFC 7672 §3.1.3, §2.2): DANE-TA or DANE-EE, with a
    /// selector and matching type RFC 6698 defines, and some data to match. (OpenSSL also refuses a
    /// digest of the wrong length when the record is added; such a record counts as unusable too.)
    ///
    /// A record is only usable at all when its RRset was DNSSEC-validated: see
    /// ``TLSPeerVerification/forTLSARecords(_:isAuthenticated:hostNames:)``.
    public var isUsableForSMTP: Bool {
        (usage == .daneTA || usage == .daneEE) && selector.value <= 1 && matchingType.value <= 2 && !data.isEmpty
    }

    /// The presentation form: `3 1 1 8cb0…` (lower-case hex).
    public var description: String {
        "\(usage.value) \(selector.value) \(matchingType.value) " + data.map { Self.hexDigits($0) }.joined()
    }

    private static func hexValue(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): character - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): character - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    static func hexDigits(_ byte: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
    }
}

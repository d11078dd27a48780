/// A mail exchanger: an MX record's preference and host (RFC 5321 §5.1, RFC 1035 §3.3.9).
public struct MXRecord: Hashable, Sendable, CustomStringConvertible {
    /// Lower is tried first.
    public let preference: UInt16
    /// The exchanger's host name, without the trailing dot; `.` for a null MX (RFC 7505).
    public let exchange: String

    /// An MX record.
    public init(preference: UInt16, exchange: String) {
        self.preference = preference
        self.exchange = exchange
    }

    /// Whether this is a null MX (RFC 7505 §3): the domain accepts no mail.
    public var isNullMX: Bool { exchange == "." || exchange.isEmpty }

    /// `preference exchange`.
    public var description: String { "\(preference) \(exchange)" }
}

/// Channel-binding data from the TLS layer, for the `-PLUS` SCRAM mechanisms (RFC 5056, RFC 5802 §6).
///
/// The TLS module supplies it; MailAuth only carries it. `tls-exporter` (RFC 9266) is the type for
/// TLS 1.3; `tls-unique` (RFC 5929 §3) for TLS 1.2 and earlier; `tls-server-end-point` (RFC 5929 §4)
/// works with both.
public struct SASLChannelBinding: Sendable, CustomStringConvertible {
    /// The channel-binding type name as sent in SCRAM's GS2 header (`p=tls-exporter`).
    public let type: String
    /// The channel-binding data.
    public let data: [UInt8]

    /// Channel-binding data of `type`.
    public init(type: String, data: [UInt8]) {
        self.type = type
        self.data = data
    }

    /// `tls-exporter` (RFC 9266): 32 octets exported with the label `EXPORTER-Channel-Binding`.
    public static func tlsExporter(_ data: [UInt8]) -> Self { Self(type: "tls-exporter", data: data) }
    /// `tls-unique` (RFC 5929 §3): the first Finished message of the TLS handshake.
    public static func tlsUnique(_ data: [UInt8]) -> Self { Self(type: "tls-unique", data: data) }
    /// `tls-server-end-point` (RFC 5929 §4): the hash of the server's certificate.
    public static func tlsServerEndPoint(_ data: [UInt8]) -> Self { Self(type: "tls-server-end-point", data: data) }

    public var description: String { "\(type) (\(data.count) octets)" }
}

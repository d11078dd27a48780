public import MailMaps
public import MailTLS
public import NIOCore
internal import NIOPosix
public import SMTPProtocol
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// How the client behaves, whatever the destination: its name, its timeouts, its TLS settings,
/// how it reuses connections, and where its DNS and network work runs.
///
/// ```swift
/// var configuration = SMTPClientConfiguration(hostname: "app.example.com")
/// configuration.tls = .client(caFile: "/etc/mail/certs/ca.pem")
/// configuration.tls.certificateChainFile = "/etc/mail/certs/client.crt"   // confCLIENT_CERT
/// configuration.tls.privateKeyFile = "/etc/mail/certs/client.key"         // confCLIENT_KEY
/// configuration.timeouts[.dataTermination] = .seconds(120)
/// ```
public struct SMTPClientConfiguration: Sendable {
    /// The name sent with EHLO (RFC 5321 §4.1.1.1: the client's fully qualified name). Defaults to
    /// the system's host name.
    public var hostname: String
    /// How long each stage may take (RFC 5321 §4.5.3.2).
    public var timeouts: SMTPClientTimeouts
    /// The TLS settings: trusted CAs (the system's by default), the client certificate and key
    /// presented when a server asks (Sendmail's `confCLIENT_CERT` and `confCLIENT_KEY`), protocol
    /// versions. Loaded off the event loop when a connection first needs TLS.
    public var tls: TLSConfiguration
    /// A TLS context already loaded, used instead of ``tls`` (a server shares one among all its
    /// deliveries).
    public var tlsContext: TLSClientContext?
    /// Whether BDAT is used when the server offers CHUNKING (RFC 3030); BINARYMIME always is.
    public var prefersChunking: Bool
    /// The size of BDAT chunks.
    public var chunkSize: Int
    /// How many messages one connection carries before it is closed (Postfix's
    /// `smtp_connection_reuse_count_limit`).
    public var maximumMessagesPerConnection: Int
    /// A connection idle for longer than this is checked with RSET before it carries the next
    /// message (RFC 5321 §4.1.1.5); `nil` never checks.
    public var resetAfterIdle: Duration?
    /// How many server addresses one attempt tries before it gives up (Postfix's
    /// `smtp_mx_address_limit`).
    public var maximumAddressesTried: Int
    /// Limits on replies (line length, lines).
    public var limits: SMTPLimits
    /// The DNS resolver for MX, A, AAAA and TLSA lookups; its queries run on its own thread pool.
    public var resolver: DNSResolver
    /// The event loops connections run on.
    public var eventLoopGroup: any EventLoopGroup
    /// Called with every command sent and every reply line received, on the connection's event
    /// loop (it must not block): the dialogue Sendmail's `-v` shows. `nil` (the default) shows
    /// nothing. AUTH shows its mechanism only; the SASL exchange and the message text are left out.
    public var transcript: (@Sendable (SMTPClientTranscriptLine) -> Void)?
    /// Whether a host name is this host (Sendmail's class `w`), for the mail-exchanger rule of
    /// RFC 5321 §5.1: an MX record that names this host, and every record whose preference is not
    /// lower, are dropped, so that a backup mail exchanger hands mail to a better one instead of
    /// to itself; when none is left the mail loops back (`554 5.3.5`). `nil` (the default): no
    /// name is this host's.
    public var isLocalHostName: (@Sendable (String) async -> Bool)?

    /// A configuration with the defaults described on each property.
    public init(hostname: String? = nil) {
        self.hostname = hostname ?? Self.systemHostName()
        self.timeouts = .default
        self.tls = .client()
        self.tlsContext = nil
        self.prefersChunking = false
        self.chunkSize = 64 * 1024
        self.maximumMessagesPerConnection = 100
        self.resetAfterIdle = .seconds(10)
        self.maximumAddressesTried = 5
        self.limits = .default
        self.resolver = Self.sharedResolver
        self.eventLoopGroup = MultiThreadedEventLoopGroup.singleton
        self.transcript = nil
        self.isLocalHostName = nil
    }

    /// One resolver for every configuration that is not given another, so that answers are shared.
    static let sharedResolver = DNSResolver()

    /// The system's host name (`gethostname(2)`), or `localhost`.
    static func systemHostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }
}

public import MailTLS
public import SMTPProtocol

/// What an ``SMTPServer`` runs with: its name, listeners, limits, TLS, AUTH and the texts it
/// sends. The embedding API's configuration; `swiftmta serve` builds one from its TOML file.
///
/// ```swift
/// var configuration = ServerConfiguration(
///     hostname: "mx.example.org",
///     listeners: [.init(host: "127.0.0.1", port: 2525, mode: .smtp)])
/// configuration.tls = try TLSServerContext(certificateChainFile: "cert.pem", privateKeyFile: "key.pem")
/// ```
public struct ServerConfiguration: Sendable {
    /// What a listener speaks.
    public struct ListenerMode: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// Mail exchange between servers (port 25, RFC 5321).
        public static let smtp = ListenerMode("smtp")
        /// Message submission from mail clients (port 587, RFC 6409): AUTH before MAIL.
        public static let submission = ListenerMode("submission")
        /// Submission over implicit TLS (port 465, RFC 8314 §3.3): AUTH before MAIL.
        public static let smtps = ListenerMode("smtps")
        /// LMTP (RFC 2033), for delivery agents on this host.
        public static let lmtp = ListenerMode("lmtp")

        /// The mode named `name` (`smtp`, `submission`, `smtps`, `lmtp`).
        public init?(name: String) {
            guard ["smtp", "submission", "smtps", "lmtp"].contains(name) else { return nil }
            self.init(name)
        }

        /// Whether clients must authenticate before MAIL (RFC 6409 §4.3, RFC 8314 §3.3).
        public var requiresAuthentication: Bool { self == .submission || self == .smtps }

        public var description: String { name }
    }

    /// One address the server listens on.
    public struct Listener: Hashable, Sendable {
        /// The IP address to bind (`127.0.0.1`, `::1`, `0.0.0.0`).
        public var host: String
        /// The TCP port; 0 asks the system for a free one.
        public var port: Int
        /// What the listener speaks.
        public var mode: ListenerMode
        /// The most connections open at once on this listener; more get `421 4.7.0` and are
        /// closed. Default 1,000.
        public var maximumConnections: Int
        /// The most connections open at once from one client address. Default 50 (Postfix's
        /// `smtpd_client_connection_count_limit`).
        public var maximumConnectionsPerClient: Int

        /// A listener on `host` (a numeric address) and `port` (0: any) speaking `mode`.
        public init(host: String, port: Int, mode: ListenerMode, maximumConnections: Int = 1000, maximumConnectionsPerClient: Int = 50) {
            self.host = host
            self.port = port
            self.mode = mode
            self.maximumConnections = maximumConnections
            self.maximumConnectionsPerClient = maximumConnectionsPerClient
        }
    }

    /// The host's fully qualified name (Sendmail's `$j`), used in the greeting, the EHLO reply and
    /// `Received:` headers.
    public var hostname: String
    /// The addresses to listen on.
    public var listeners: [Listener]
    /// Size, count and time limits.
    public var limits: SMTPServerLimits
    /// The certificate for STARTTLS (RFC 3207, offered on smtp and submission listeners when set)
    /// and implicit TLS (smtps listeners, which need it).
    public var tls: TLSServerContext?
    /// AUTH (RFC 4954), when offered.
    public var authentication: ServerAuthentication?
    /// The greeting after `220` (confSMTP_LOGIN_MSG), with Sendmail's macros (`$j`, `$b`): the host
    /// name goes first in any case (RFC 5321 §4.3.1).
    public var greeting: String
    /// HELP text; `nil` answers HELP with a pointer to RFC 5321.
    public var help: SendmailHelpFile?
    /// What the server keeps to itself (confPRIVACY_FLAGS).
    public var privacy: PrivacyOptions
    /// Extensions to advertise besides SIZE, STARTTLS and AUTH.
    public var extensions: Set<EHLOKeyword>
    /// Whether the server adds a `Received:` header (RFC 5321 §4.4) before the message text it
    /// hands to the backend.
    public var addsReceivedHeader: Bool
    /// Whether that header names the authenticated user (Postfix's
    /// `smtpd_sasl_authenticated_header`); it reveals the user name to every recipient.
    public var receivedHeaderShowsUser: Bool

    /// A server that announces `hostname` (RFC 5321 §4.1.1.1) on `listeners`, within `limits`.
    public init(hostname: String, listeners: [Listener], limits: SMTPServerLimits = SMTPServerLimits()) {
        self.hostname = hostname
        self.listeners = listeners
        self.limits = limits
        self.tls = nil
        self.authentication = nil
        self.greeting = "$j ESMTP SwiftMTA ready"
        self.help = nil
        self.privacy = []
        self.extensions = [.pipelining, .eightBitMIME, .enhancedStatusCodes, .smtpUTF8, .dsn, .chunking]
        self.addsReceivedHeader = true
        self.receivedHeaderShowsUser = false
    }
}

/// What the server runs with: its name, its listeners and its limits.
///
/// ``embeddedDefault(hostname:)`` is what `swiftmta serve` uses with no configuration file:
/// loopback listeners on unprivileged ports, so that a newcomer sees the server work at once without
/// privileges and without exposing anything to the network.
public struct ServerConfiguration: Sendable {
    /// What a listener speaks.
    public struct ListenerMode: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }

        /// Mail exchange between servers (port 25, RFC 5321).
        public static let smtp = ListenerMode("smtp")
        /// Message submission from mail clients (port 587, RFC 6409).
        public static let submission = ListenerMode("submission")
        /// Submission over implicit TLS (port 465, RFC 8314).
        public static let smtps = ListenerMode("smtps")
        /// LMTP (RFC 2033), for delivery agents on this host.
        public static let lmtp = ListenerMode("lmtp")

        /// The mode named `name` (`smtp`, `submission`, `smtps`, `lmtp`).
        public init?(name: String) {
            guard ["smtp", "submission", "smtps", "lmtp"].contains(name) else { return nil }
            self.init(name)
        }

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

        public init(host: String, port: Int, mode: ListenerMode) {
            self.host = host
            self.port = port
            self.mode = mode
        }
    }

    /// The host's fully qualified name (Sendmail's `$j`), used in the greeting and EHLO reply.
    public var hostname: String
    /// The addresses to listen on.
    public var listeners: [Listener]
    /// Size and count limits.
    public var limits: SMTPServerLimits

    public init(hostname: String, listeners: [Listener], limits: SMTPServerLimits = SMTPServerLimits()) {
        self.hostname = hostname
        self.listeners = listeners
        self.limits = limits
    }

    /// Loopback listeners on unprivileged ports: SMTP on 127.0.0.1:2525, Submission on 127.0.0.1:2587.
    public static func embeddedDefault(hostname: String) -> ServerConfiguration {
        ServerConfiguration(
            hostname: hostname,
            listeners: [
                Listener(host: "127.0.0.1", port: 2525, mode: .smtp),
                Listener(host: "127.0.0.1", port: 2587, mode: .submission),
            ])
    }
}

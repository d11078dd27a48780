public import MailTLS
public import NIOCore

/// What the server knows about a connection when it asks the backend for a session.
public struct SMTPConnectionInfo: Sendable {
    /// The client's address and port.
    public let remoteAddress: SocketAddress?
    /// The server's address and port the client connected to.
    public let localAddress: SocketAddress?
    /// The listener the connection came in on.
    public let listener: ServerConfiguration.Listener
    /// For implicit TLS (`smtps`, RFC 8314 §3.3): the handshake's facts; `nil` otherwise (STARTTLS
    /// is reported later, by ``SMTPSession/tlsEstablished(_:)``).
    public let tls: TLSSessionFacts?

    /// The client's IP address as text (`192.0.2.1`, `2001:db8::1`), or `unknown`.
    public var clientAddress: String {
        remoteAddress?.ipAddress ?? "unknown"
    }

    /// What is known of a connection when it is accepted (and, for smtps, its TLS session).
    public init(remoteAddress: SocketAddress?, localAddress: SocketAddress?, listener: ServerConfiguration.Listener, tls: TLSSessionFacts?) {
        self.remoteAddress = remoteAddress
        self.localAddress = localAddress
        self.listener = listener
        self.tls = tls
    }
}

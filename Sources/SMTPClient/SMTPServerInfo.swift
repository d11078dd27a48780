public import MailAuth
public import MailTLS
public import SMTPProtocol

/// The server a session ran with: how it was reached, what it offered, and how the session was
/// protected — what a `Received:` trace, a log line (Sendmail's `relay=`, `mailer=`, `stat=`) or a
/// DSN's `Remote-MTA` (RFC 3464 §2.3.5) needs.
public struct SMTPServerInfo: Hashable, Sendable, CustomStringConvertible {
    /// The host name connected to: the MX exchange, the smart host, or the address.
    public let host: String
    /// The address connected to (`192.0.2.1`, `2001:db8::1`) or the Unix-domain socket's path.
    public let address: String
    /// The TCP port (0 for a Unix-domain socket).
    public let port: Int
    /// The MX preference of ``host``, when it came from MX records.
    public let mxPreference: UInt16?
    /// The first line of the server's EHLO/LHLO reply (its name and greeting).
    public let greeting: String
    /// What the server advertised (empty after HELO).
    public let capabilities: SMTPCapabilities
    /// The TLS session, when the connection is encrypted.
    public let tls: TLSSessionFacts?
    /// The SASL mechanism the session authenticated with, if it did.
    public let authenticationMechanism: SASLMechanismName?

    /// A description of a server.
    public init(
        host: String, address: String, port: Int, mxPreference: UInt16? = nil, greeting: String,
        capabilities: SMTPCapabilities, tls: TLSSessionFacts? = nil, authenticationMechanism: SASLMechanismName? = nil
    ) {
        self.host = host
        self.address = address
        self.port = port
        self.mxPreference = mxPreference
        self.greeting = greeting
        self.capabilities = capabilities
        self.tls = tls
        self.authenticationMechanism = authenticationMechanism
    }

    /// `mx1.example.org[192.0.2.1]:25`, as Sendmail's `relay=` writes a server.
    public var description: String {
        port == 0 ? "\(host)[\(address)]" : "\(host)[\(address)]:\(port)"
    }
}

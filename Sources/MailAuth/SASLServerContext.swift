/// What a server knows about the session an exchange runs in: the transport's security and what TLS
/// established.
public struct SASLServerContext: Sendable {
    /// Whether the session runs over TLS (STARTTLS or implicit TLS).
    public var isSecure: Bool
    /// Channel-binding data for the `-PLUS` mechanisms (RFC 5056), when TLS is active and the TLS
    /// layer supplies it. When present, the server is taken to have offered the `-PLUS`
    /// mechanisms, and a SCRAM client that says it could have used them (`y` flag) is refused as a
    /// downgrade (RFC 5802 §6).
    public var channelBinding: SASLChannelBinding?
    /// The identity a verified TLS client certificate established, for EXTERNAL (RFC 4422
    /// Appendix A). The server decides how a certificate maps to a user name.
    public var externalIdentity: String?
    /// The client's address, for the Cyrus bridge's `SASL_IPREMOTEPORT` (`a.b.c.d;port`); optional.
    public var remoteAddress: String?
    /// The server's own address, for `SASL_IPLOCALPORT`; optional.
    public var localAddress: String?

    /// A context; the default is a plaintext session with nothing established.
    public init(
        isSecure: Bool = false, channelBinding: SASLChannelBinding? = nil, externalIdentity: String? = nil,
        remoteAddress: String? = nil, localAddress: String? = nil
    ) {
        self.isSecure = isSecure
        self.channelBinding = channelBinding
        self.externalIdentity = externalIdentity
        self.remoteAddress = remoteAddress
        self.localAddress = localAddress
    }
}

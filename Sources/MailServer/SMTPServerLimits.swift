public import SMTPProtocol

/// The server's limits: the protocol's (``SMTPLimits``), the session's timeout and shutdown's
/// grace period.
public struct SMTPServerLimits: Hashable, Sendable {
    /// Line, recipient, size and error-count limits.
    public var protocolLimits: SMTPLimits
    /// How long the server waits for the next command. RFC 5321 §4.5.3.2.7: at least 5 minutes.
    public var commandTimeout: Duration
    /// How long ``SMTPServer/shutdown(gracePeriod:)`` lets open sessions finish by default.
    public var shutdownGracePeriod: Duration

    /// The limits: RFC 5321 §4.5.3's by default, the §4.5.3.2 five-minute command timeout, and a
    /// 30-second grace period at shutdown (RFC 5321 §3.8).
    public init(protocolLimits: SMTPLimits = .default, commandTimeout: Duration = .seconds(300), shutdownGracePeriod: Duration = .seconds(30)) {
        self.protocolLimits = protocolLimits
        self.commandTimeout = commandTimeout
        self.shutdownGracePeriod = shutdownGracePeriod
    }
}

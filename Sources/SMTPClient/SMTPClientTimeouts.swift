public import SMTPProtocol

/// How long the client waits in each stage of a session (RFC 5321 §4.5.3.2), and for a connection.
///
/// The defaults are the RFC's minimums: 5 minutes for the greeting and each command, 2 for DATA's
/// 354, 3 for each block of message text written, 10 for the reply after the final dot; 30
/// seconds to connect (Postfix's `smtp_connect_timeout`) and 5 minutes for a TLS handshake
/// (Postfix's `smtp_starttls_timeout`). A timeout fails the session with an error that names its
/// stage.
public struct SMTPClientTimeouts: Hashable, Sendable {
    /// Opening the TCP connection.
    public var connect: Duration
    /// Each stage of the session.
    private var stages: [SMTPClientStage: Duration]

    /// The RFC 5321 §4.5.3.2 minimums, 30 s to connect.
    public init(connect: Duration = .seconds(30)) {
        self.connect = connect
        self.stages = Dictionary(uniqueKeysWithValues: SMTPClientStage.allCases.map { ($0, $0.minimumTimeout) })
    }

    /// The same timeout for connecting and for every stage (tests, interactive tools).
    public init(every timeout: Duration) {
        self.connect = timeout
        self.stages = Dictionary(uniqueKeysWithValues: SMTPClientStage.allCases.map { ($0, timeout) })
    }

    /// The timeout of `stage`.
    public subscript(stage: SMTPClientStage) -> Duration {
        get { stages[stage] ?? stage.minimumTimeout }
        set { stages[stage] = newValue }
    }

    /// The RFC 5321 §4.5.3.2 minimums.
    public static let `default` = SMTPClientTimeouts()
}

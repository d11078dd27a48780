/// What an application implements to receive mail: one session per connection (go-smtp's
/// `Backend`).
///
/// ```swift
/// struct Inbox: SMTPBackend {
///     func makeSession(for connection: SMTPConnectionInfo) async throws -> any SMTPSession {
///         InboxSession()
///     }
/// }
/// let server = try await SMTPServer.bind(configuration: configuration, backend: Inbox(), logger: logger)
/// try await server.run()
/// ```
///
/// The server does the protocol (RFC 5321 with PIPELINING, SIZE, 8BITMIME, SMTPUTF8, DSN,
/// CHUNKING, STARTTLS and AUTH, and LMTP); the backend only decides. A backend is shared by every
/// connection, so it is `Sendable`; each session is used by its connection alone.
public protocol SMTPBackend: Sendable {
    /// A session for a new connection, before the greeting.
    ///
    /// Throwing refuses the connection: an ``SMTPRefusal``'s reply is sent (a 554 greeting after
    /// which only QUIT is served, RFC 5321 §3.1, or a 421 that closes), any other error gives
    /// `421 4.3.0` and closes.
    func makeSession(for connection: SMTPConnectionInfo) async throws -> any SMTPSession
}

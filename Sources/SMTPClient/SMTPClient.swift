public import NIOCore
public import SMTPProtocol

/// Sending mail in one call: connect, send one message, QUIT.
///
/// ```swift
/// import SMTPClient
/// import SMTPProtocol
///
/// let result = try await SMTPClient.send(
///     "Subject: Hello\r\n\r\nIt works.\r\n",
///     from: try Mailbox(parsing: "alice@example.com"),
///     to: [try Mailbox(parsing: "bob@example.org")],
///     via: .smartHost("mail.example.com", port: 587, tls: .required,
///                     credentials: SMTPClientCredentials(user: "alice", password: "secret")))
/// print(result.allAccepted ? "sent" : result.description)
/// ```
///
/// For many messages to one destination, keep an ``SMTPClientConnection`` instead.
public enum SMTPClient {
    /// Sends `message` (its line ends are made CRLF on the way) and closes the session.
    ///
    /// - Returns: each recipient's outcome.
    /// - Throws: ``SMTPClientError`` naming the stage, the server and its reply when the attempt as a
    ///   whole failed.
    public static func send(
        _ message: String, from sender: Mailbox?, to recipients: [Mailbox], via destination: SMTPDestination,
        configuration: SMTPClientConfiguration = SMTPClientConfiguration()
    ) async throws(SMTPClientError) -> SMTPSendResult {
        try await send(ByteBuffer(string: message), envelope: envelope(sender, recipients), via: destination, configuration: configuration)
    }

    /// Sends a message held in memory and closes the session. Its size is declared with SIZE
    /// (RFC 1870) unless `envelope` says one.
    public static func send(
        _ message: ByteBuffer, envelope: SMTPEnvelope, via destination: SMTPDestination,
        configuration: SMTPClientConfiguration = SMTPClientConfiguration()
    ) async throws(SMTPClientError) -> SMTPSendResult {
        let connection = try await SMTPClientConnection.open(to: destination, configuration: configuration)
        do {
            let result = try await connection.send(message, envelope: envelope)
            await connection.close()
            return result
        } catch {
            await connection.close()
            throw error
        }
    }

    /// Sends a message whose text comes from `body` a piece at a time, and closes the session.
    public static func send<Body: AsyncSequence>(
        _ body: Body, from sender: Mailbox?, to recipients: [Mailbox], via destination: SMTPDestination,
        configuration: SMTPClientConfiguration = SMTPClientConfiguration()
    ) async throws(SMTPClientError) -> SMTPSendResult where Body.Element == ByteBuffer {
        try await send(body, envelope: envelope(sender, recipients), via: destination, configuration: configuration)
    }

    /// Sends a message whose text comes from `body` with a full envelope (parameters such as
    /// BODY=8BITMIME, SMTPUTF8, DSN's RET/ENVID/NOTIFY/ORCPT), and closes the session.
    public static func send<Body: AsyncSequence>(
        _ body: Body, envelope: SMTPEnvelope, via destination: SMTPDestination,
        configuration: SMTPClientConfiguration = SMTPClientConfiguration()
    ) async throws(SMTPClientError) -> SMTPSendResult where Body.Element == ByteBuffer {
        let connection = try await SMTPClientConnection.open(to: destination, configuration: configuration)
        do {
            let result = try await connection.send(body, envelope: envelope)
            await connection.close()
            return result
        } catch {
            await connection.close()
            throw error
        }
    }

    /// The envelope for a sender (`nil`: the null reverse path `<>`) and recipients.
    static func envelope(_ sender: Mailbox?, _ recipients: [Mailbox]) -> SMTPEnvelope {
        SMTPEnvelope(
            reversePath: ReversePath(mailbox: sender),
            recipients: recipients.map { SMTPEnvelope.Recipient(ForwardPath(mailbox: $0)) })
    }
}

import NIOCore
import SMTPProtocol

/// Where the reference server puts the messages it accepts: the durable spool (``QueueStore``).
/// A small protocol of its own, so that the policy backend does not depend on how the store
/// works, and what it uses is decided in one place (``ReferenceSetup``).
///
/// The text arrives piece by piece (``MessageStoreWriter/append(_:)``) and is never held whole;
/// ``MessageStoreWriter/commit(_:)`` returns the queue ID only once the message is on disk and
/// flushed.
protocol MessageStore: Sendable {
    /// Starts a message.
    func beginMessage() async throws -> any MessageStoreWriter

    /// The reply to a committed message (RFC 5321 §4.2.2: 250).
    func acceptedReply(queueID: String) -> SMTPReply

    /// What the log says happened to each recipient (`stat=`).
    var logStatus: String { get }

    /// For the start-up summary: what the store is and where.
    var summary: String { get }
}

/// One message on its way into a ``MessageStore``.
protocol MessageStoreWriter {
    /// Stores the next piece of text.
    mutating func append(_ text: ByteBuffer) async throws
    /// Stores the envelope and returns the queue ID once the message is stored.
    mutating func commit(_ envelope: MessageEnvelope) async throws -> String
    /// Drops the message.
    mutating func abort() async
}

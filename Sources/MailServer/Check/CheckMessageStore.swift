import NIOCore
import SMTPProtocol

/// Where `swiftmta check session` puts the messages the policy accepts: nowhere. The text is
/// read and counted as the real store would take it, the envelope is shown, and nothing is
/// written, queued or delivered (Exim's `-bh` likewise accepts and drops).
struct CheckMessageStore: MessageStore {
    let recorder: SessionRecorder

    var logStatus: String { "check session: nothing stored or delivered" }

    var summary: String { "check session: accepted messages are dropped, not queued or delivered" }

    func acceptedReply(queueID: String) -> SMTPReply {
        SMTPReply(250, .success, "\(queueID) accepted by the policy; check session queues and delivers nothing")
    }

    func beginMessage() async throws -> any MessageStoreWriter {
        CheckMessageWriter(recorder: recorder)
    }
}

/// One message on its way to nowhere.
struct CheckMessageWriter: MessageStoreWriter {
    let recorder: SessionRecorder
    var octets = 0

    mutating func append(_ text: ByteBuffer) async throws {
        octets += text.readableBytes
    }

    mutating func commit(_ envelope: MessageEnvelope) async throws -> String {
        "check-\(recorder.message(envelope))"
    }

    mutating func abort() async {}
}

import MailRouting
import NIOCore
import Synchronization

/// What the server knows of a message it just committed, handed to the runner for the message's
/// first attempt so that the attempt need not fetch it again: the text of a small message (no read
/// from the spool) and each recipient's routing decision made at RCPT (no routing job on the maps'
/// pool). Only a hint: without it, or after a restart, the attempt reads and routes as usual.
struct DeliveryHint: Sendable {
    var text: ByteBuffer?
    var decisions: [RoutingDecision?]

    /// Texts longer than this are not kept.
    static let textLimit = 64 << 10
}

/// The hints waiting for their messages' first attempts, at most ``limit`` octets of text in all.
final class DeliveryHints: Sendable {
    static let limit = 32 << 20

    private let state = Mutex((hints: [QueueID: DeliveryHint](), bytes: 0))

    func store(_ hint: DeliveryHint, for id: QueueID) {
        state.withLock { state in
            var hint = hint
            let size = hint.text?.readableBytes ?? 0
            if state.bytes + size > Self.limit { hint.text = nil }
            state.bytes += hint.text?.readableBytes ?? 0
            state.hints[id] = hint
        }
    }

    func take(_ id: QueueID) -> DeliveryHint? {
        state.withLock { state in
            guard let hint = state.hints.removeValue(forKey: id) else { return nil }
            state.bytes -= hint.text?.readableBytes ?? 0
            return hint
        }
    }
}

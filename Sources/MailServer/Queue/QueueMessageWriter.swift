public import NIOCore
import Synchronization

/// One message being received into the spool: its text arrives piece by piece (``append(_:)``),
/// then ``commit(_:)`` stores the envelope and returns once the message is durable — the moment
/// an SMTP server may answer 250 (RFC 5321 §4.1.1.4) — or ``abort()`` drops it, leaving nothing.
///
/// The text is handed to the spool's writer thread in pieces of the configured chunk size as it
/// arrives; it is never held whole in memory. At most the configured buffered bytes per message
/// wait for the writer: past that, ``append(_:)`` waits (without blocking its thread) until the
/// writer catches up. A writer dropped without commit or abort is aborted.
///
/// Use a writer from one task at a time; its calls are not meant to overlap.
public final class QueueMessageWriter: Sendable {
    /// The message's queue id, assigned when it was begun.
    public let id: QueueID

    private enum Phase {
        case receiving
        case committing
        case committed
        case aborted
        case failed
    }

    private struct State {
        var phase = Phase.receiving
        var pending = ByteBuffer()
        var size = 0
    }

    private let journal: Journal
    private let flow = MessageFlow()
    private let chunkSize: Int
    private let state = Mutex(State())

    init(id: QueueID, journal: Journal, chunkSize: Int) {
        self.id = id
        self.journal = journal
        self.chunkSize = chunkSize
    }

    deinit {
        let abandoned = state.withLock { $0.phase == .receiving }
        if abandoned { _ = journal.submit(.abort(key: id.rawValue)) }
    }

    /// The octets appended so far.
    public var size: Int { state.withLock { $0.size } }

    /// Adds the next piece of the message text (RFC 5322 text with CRLF line ends, after SMTP's
    /// dot-unstuffing).
    ///
    /// - Throws: ``MailQueueError`` `.insufficientStorage` or `.ioError` when the spool cannot take
    ///   the text (answer the client ``MailQueueError/reply``, 452 4.3.1, once its DATA ends; the
    ///   message is dropped), `.invalidUse` after commit or abort, `.closed`.
    public func append(_ piece: ByteBuffer) async throws(MailQueueError) {
        guard piece.readableBytes > 0 else { return }
        let chunk: ByteBuffer? = try state.withLock { (state) throws(MailQueueError) -> ByteBuffer? in
            guard case .receiving = state.phase else {
                throw MailQueueError(.invalidUse, "message \(id) is no longer being received")
            }
            state.size += piece.readableBytes
            if state.pending.readableBytes == 0 {
                if piece.readableBytes >= chunkSize { return piece }
                state.pending = piece
                return nil
            }
            state.pending.writeImmutableBuffer(piece)
            guard state.pending.readableBytes >= chunkSize else { return nil }
            defer { state.pending = ByteBuffer() }
            return state.pending
        }
        guard var chunk else { return }
        do {
            while chunk.readableBytes > 0 {
                let slice = chunk.readSlice(length: min(chunk.readableBytes, chunkSize))!
                try await journal.submitData(key: id.rawValue, bytes: slice, flow: flow)
            }
        } catch {
            state.withLock { $0.phase = .failed }
            _ = journal.submit(.abort(key: id.rawValue))
            throw error
        }
    }

    /// Stores the envelope and returns the queue id once the message — text, envelope and all — is
    /// durable: the journal flush that covers its commit record has returned. Concurrent commits
    /// share flushes.
    ///
    /// - Throws: ``MailQueueError`` `.insufficientStorage` or `.ioError` (answer
    ///   ``MailQueueError/reply``, 452 4.3.1: nothing of the message stays in the spool),
    ///   `.invalidUse` for an envelope without recipients or one that cannot be stored as given,
    ///   `.closed`.
    public func commit(_ envelope: QueueEnvelope) async throws(MailQueueError) -> QueueID {
        let pending: ByteBuffer = try state.withLock { (state) throws(MailQueueError) -> ByteBuffer in
            guard case .receiving = state.phase else {
                throw MailQueueError(.invalidUse, "message \(id) is no longer being received")
            }
            state.phase = .committing
            defer { state.pending = ByteBuffer() }
            return state.pending
        }
        let stored: QueueEnvelope
        var encoded = ByteBuffer()
        do throws(MailQueueError) {
            stored = try Self.storable(envelope, id: id)
            JournalCoding.encode(stored, into: &encoded)
        } catch {
            state.withLock { $0.phase = .failed }
            _ = journal.submit(.abort(key: id.rawValue))
            throw error
        }
        var pieces = pending
        var data: [(ByteBuffer, UInt32)] = []
        while pieces.readableBytes > 0 {
            let slice = pieces.readSlice(length: min(pieces.readableBytes, chunkSize))!
            data.append((slice, slice.withUnsafeReadableBytes { CRC32C.checksum($0) }))
        }
        let key = id.rawValue
        let result: Result<Void, MailQueueError> = await withUnsafeContinuation { continuation in
            journal.lock.lock()
            if journal.stopping {
                journal.lock.unlock()
                continuation.resume(returning: .failure(MailQueueError(.closed, "the spool is closed")))
                return
            }
            for (slice, crc) in data {
                flow.inFlight += slice.readableBytes
                journal.requests.append(.data(key: key, bytes: slice, crc: crc, flow: flow))
            }
            journal.requests.append(.commit(key: key, envelope: stored, encoded: encoded, flow: flow, completion: continuation))
            if journal.writerWaiting { journal.lock.signal(Journal.Wake.writer) }
            journal.lock.unlock()
        }
        switch result {
        case .success:
            state.withLock { $0.phase = .committed }
            journal.logger.debug("spool message queued", metadata: [
                "queue-id": "\(id)", "size": "\(size)", "nrcpts": "\(stored.recipients.count)",
            ])
            return id
        case .failure(let error):
            state.withLock { $0.phase = .failed }
            throw error
        }
    }

    /// Drops the message: nothing of it is visible in the spool, now or after a restart (its text
    /// records, without a commit record, are ignored by recovery and overwritten in time).
    public func abort() {
        let wasReceiving = state.withLock { (state) -> Bool in
            guard case .receiving = state.phase else { return false }
            state.phase = .aborted
            state.pending = ByteBuffer()
            return true
        }
        if wasReceiving { _ = journal.submit(.abort(key: id.rawValue)) }
    }

    /// The envelope as it will be stored, checked to come back unchanged from the journal's
    /// encoding (so that what recovery reads is what was acknowledged).
    static func storable(_ envelope: QueueEnvelope, id: QueueID) throws(MailQueueError) -> QueueEnvelope {
        guard !envelope.recipients.isEmpty else {
            throw MailQueueError(.invalidUse, "message \(id) has no recipients")
        }
        let stored = envelope
        guard JournalCoding.roundTrips(stored) else {
            throw MailQueueError(.invalidUse, "message \(id): the envelope cannot be stored as given (a path or parameter the SMTP grammar refuses)")
        }
        return stored
    }
}

public import NIOCore
import NIOPosix

/// The text of a queued message, read from the spool as a sequence of buffers (one per data
/// record, at most the configured chunk size each). Every record is checked against its CRC-32C
/// as it is read; a mismatch ends the sequence with `.damaged`.
///
/// The segments holding the text stay as they are while this value exists, even if the message is
/// removed or compacted meanwhile; release it (let it go) when done.
public final class QueueMessageBody: AsyncSequence, Sendable {
    /// A piece of the text.
    public typealias Element = ByteBuffer
    /// What reading can fail with.
    public typealias Failure = MailQueueError

    /// The message.
    public let id: QueueID
    /// The text's size in octets.
    public let size: Int

    private let extents: [JournalExtent]
    private let segments: [JournalSegment]
    private let journal: Journal
    private let pool: NIOThreadPool

    init(id: QueueID, size: Int, extents: [JournalExtent], segments: [JournalSegment], journal: Journal, pool: NIOThreadPool) {
        self.id = id
        self.size = size
        self.extents = extents
        self.segments = segments
        self.journal = journal
        self.pool = pool
    }

    deinit {
        journal.releaseReaders(segments)
    }

    /// Reads the pieces in order.
    public struct AsyncIterator: AsyncIteratorProtocol, Sendable {
        /// A piece of the text.
        public typealias Element = ByteBuffer
        /// What reading can fail with.
        public typealias Failure = MailQueueError

        let body: QueueMessageBody
        var next = 0

        /// The next piece, read and checked on a spool read thread; `nil` at the end.
        public mutating func next() async throws(MailQueueError) -> ByteBuffer? {
            guard next < body.extents.count else { return nil }
            let extent = body.extents[next]
            next += 1
            return try await body.read(extent)
        }

        /// The next piece (SE-0421).
        public mutating func next(isolation actor: isolated (any Actor)?) async throws(MailQueueError) -> ByteBuffer? {
            try await next()
        }
    }

    /// An iterator from the first piece.
    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(body: self)
    }

    /// The whole text in one buffer; for messages known to be small, and for tests.
    ///
    /// - Throws: ``MailQueueError`` `.invalidUse` when the text is longer than `limit`.
    public func collect(upTo limit: Int) async throws(MailQueueError) -> ByteBuffer {
        guard size <= limit else { throw MailQueueError(.invalidUse, "message \(id) has \(size) octets, more than \(limit)") }
        var result = ByteBuffer()
        result.reserveCapacity(size)
        for extent in extents {
            var piece = try await read(extent)
            result.writeBuffer(&piece)
        }
        return result
    }

    /// Reads one data record on a spool read thread and checks it.
    private func read(_ extent: JournalExtent) async throws(MailQueueError) -> ByteBuffer {
        guard let segment = segments.first(where: { $0.sequence == extent.sequence }) else {
            throw MailQueueError(.damaged, "message \(id): a data record is in a segment that is gone")
        }
        let id = self.id
        let outcome: Result<ByteBuffer, MailQueueError>
        do {
            outcome = try await pool.runIfActive { Self.readRecord(extent, from: segment, id: id) }
        } catch {
            throw MailQueueError(.closed, "the spool is closed")
        }
        return try outcome.get()
    }

    private static func readRecord(_ extent: JournalExtent, from segment: JournalSegment, id: QueueID) -> Result<ByteBuffer, MailQueueError> {
        let total = JournalRecord.headerSize + extent.length
        var buffer = ByteBufferAllocator().buffer(capacity: total)
        var failure: QueueIOError?
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { raw in
            do throws(QueueIOError) {
                return try QueueFile.read(
                    segment.readDescriptor, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<total]), at: extent.offset,
                    path: segment.slot.path)
            } catch {
                failure = error
                return 0
            }
        }
        if let failure { return .failure(MailQueueError(.ioError, "message \(id): \(failure)")) }
        let intact = buffer.withUnsafeReadableBytes { raw -> Bool in
            guard raw.count == total, let record = try? JournalRecord.decodeHeader(raw), record.kind == .data,
                  record.key == id.rawValue, record.sequence == extent.sequence, record.payloadLength == extent.length
            else { return false }
            return CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[JournalRecord.headerSize...])) == record.payloadCRC
        }
        guard intact else {
            return .failure(MailQueueError(.damaged, "message \(id): the data record at \(segment.slot.path) offset \(extent.offset) is damaged"))
        }
        buffer.moveReaderIndex(forwardBy: JournalRecord.headerSize)
        return .success(buffer)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import NIOCore
import Synchronization

/// The append-only journal behind ``MailQueue``: its threads, its state, and the rules by which a
/// record becomes durable. DurableSpool.md (the DocC article) explains the design; the comments
/// here say which line implements which rule.
///
/// Threads (all of the journal's own; none of them is an event loop or a cooperative thread):
/// - one **writer** owns the head segment: it takes every queued request, lays the records out in
///   a staging buffer, writes them with one `pwrite`, and hands a flush to a flusher;
/// - a few **flushers** each call `fdatasync` on a descriptor of their own; several may be in
///   flight at once, and each one, when it returns, makes everything written before it started
///   durable — the group commit: one flush acknowledges every message in its batch;
/// - one **maintenance** thread makes new segment files (zero-filled, synced, renamed into
///   place, directory synced) and retires dead ones.
///
/// Everything below marked "guarded" is read and written with ``lock`` held.
final class Journal: @unchecked Sendable {
    struct Options {
        var segmentSize: Int
        var flushers: Int
        var chunkSize: Int
        var bufferedBytesPerMessage: Int
        var spareSegments: Int
        var freeSegmentsKept: Int
        var compactionThreshold: Int
        var faults: QueueFaultInjection?
        /// Room kept in the head segment for status and remove records when no other segment can be had.
        var reserve: Int { max(segmentSize / 8, 4 * JournalRecord.blockSize) }
    }

    /// Condition variables of ``lock``.
    enum Wake {
        static let writer = 0
        static let flushers = 1
        static let maintenance = 2
        /// Segment prepared or retired (the writer may wait for one), and the journal stopped.
        static let segments = 3
    }

    typealias Completion = UnsafeContinuation<Result<Void, MailQueueError>, Never>

    /// What sessions and the runner ask the writer to do.
    enum Request {
        case data(key: UInt64, bytes: ByteBuffer, crc: UInt32, flow: MessageFlow)
        case commit(key: UInt64, envelope: QueueEnvelope, encoded: ByteBuffer, flow: MessageFlow, completion: Completion)
        case abort(key: UInt64)
        case status(key: UInt64, changes: [(Int, QueueRecipientStatus)], completion: Completion)
        case remove(key: UInt64, completion: Completion)
    }

    /// Someone waiting for the journal to be durable up to `position`: the end of their record, so
    /// that the flush that resolves them is one that covered all of its octets.
    struct Waiter {
        enum Kind {
            case commit(key: UInt64)
            case update
            /// Compaction's commit record for a message copied forward: nobody waits, but it must be
            /// flushed; if the flush fails, the message goes back to where it was.
            case relocation(key: UInt64, previous: JournalEntry, commit: JournalPosition)
        }
        var position: JournalPosition
        var kind: Kind
        var completion: Completion?
    }

    /// A flush for a flusher: `fdatasync` of the head segment, making it durable up to `position`.
    struct FlushJob {
        var segment: JournalSegment
        var position: JournalPosition
        var descriptors: FlushDescriptors
    }

    let spoolPath: String
    let journalPath: String
    let options: Options
    let logger: Logger
    let lock = QueueLock(conditions: 4)
    private let lastQueueID: Atomic<UInt64>

    // MARK: Guarded state

    var requests: [Request] = []
    var writerWaiting = false
    /// Live messages by queue id value.
    var index: [UInt64: JournalEntry] = [:]
    /// Segments in use, by sequence number.
    var segments: [UInt64: JournalSegment] = [:]
    /// Files ready to become the head.
    var freeSlots: [SegmentSlot] = []
    var preparing = false
    /// Why the last attempt to make a segment failed; cleared by the next success.
    var prepareFailure: QueueIOError?
    var prepareRetryAt: UInt64 = 0
    var highestSequence: UInt64
    var nextSlotNumber: Int
    /// Everything before this position is on the device.
    var durable = JournalPosition.zero
    /// Flushes asked for cover the journal up to here.
    var flushRequested = JournalPosition.zero
    var waiters: [Waiter] = []
    var waiterHead = 0
    var flushJobs: [FlushJob] = []
    var flushesInFlight = 0
    var retirements: [JournalSegment] = []
    /// Free octets left in the head segment, as the writer last saw it.
    var headRoom = 0
    var stopping = false
    var runningThreads = 0
    var closeCompletion: UnsafeContinuation<Void, Never>?
    var statistics = MailQueue.Statistics()
    var segmentFilesClosed = false

    // MARK: Writer-thread state (only the writer touches these)

    /// The segment being appended to, with the writer's descriptor and the flushers' descriptors.
    final class Head {
        let segment: JournalSegment
        let descriptor: Int32
        let flushDescriptors: FlushDescriptors
        /// Where the next record goes.
        var offset: Int
        init(segment: JournalSegment, descriptor: Int32, flushDescriptors: FlushDescriptors, offset: Int) {
            self.segment = segment
            self.descriptor = descriptor
            self.flushDescriptors = flushDescriptors
            self.offset = offset
        }
        deinit { QueueFile.closeDescriptor(descriptor) }
    }

    /// A message whose text is arriving.
    struct OpenMessage {
        var extents: [JournalExtent] = []
        /// The segments its text is in, each counted in the segment's `openMessages`.
        var segments: Set<UInt64> = []
        var length = 0
        var failure: MailQueueError?
    }

    /// A message being copied out of an old segment by compaction.
    struct Relocation {
        var key: UInt64
        var expected: JournalPosition
        var source: [JournalExtent]
        var sourceSegments: [UInt64: JournalSegment]
        var copied: [JournalExtent] = []
        /// The segments the copies are in, each counted in the segment's `openMessages`.
        var copySegments: Set<UInt64> = []
        var next = 0
    }

    /// What a record written in the current unit does once its bytes are in the file.
    enum Effect {
        case data(key: UInt64, flow: MessageFlow, bytes: Int)
        case dataRefused(key: UInt64, flow: MessageFlow, bytes: Int, error: MailQueueError)
        case commit(key: UInt64, entry: JournalEntry, completion: Completion, open: Set<UInt64>)
        case status(key: UInt64, changes: [(Int, QueueRecipientStatus)], end: JournalPosition, completion: Completion)
        case remove(key: UInt64, end: JournalPosition, completion: Completion)
        case relocate(key: UInt64, expected: JournalPosition, extents: [JournalExtent], commit: JournalPosition, commitLength: Int, open: Set<UInt64>)
    }

    var head: Head?
    var staging: UnsafeMutableRawBufferPointer
    var stagingCount = 0
    /// The file offset of `staging[0]`.
    var stagingOffset = 0
    var unitEffects: [Effect] = []
    var unitHasWaiters = false
    var openMessages: [UInt64: OpenMessage] = [:]
    var relocation: Relocation?
    /// Messages relocated in the current unit (their index entries change when it is applied).
    var relocatedThisUnit: Set<UInt64> = []
    /// Messages whose text compaction found damaged: left where they are.
    var unrelocatable: Set<UInt64> = []
    /// The first write failure of the current unit.
    var unitFailure: QueueIOError?
    /// Requests the writer answers without writing anything (resumed at the end of the unit).
    var immediate: [(Completion, Result<Void, MailQueueError>)] = []
    var pendingBytesWritten = 0
    var pendingPaddingBytes = 0
    /// Completions to resume once the lock is released (guarded).
    var readyToResume: [(Completion, Result<Void, MailQueueError>)] = []
    var flowsToResume: [UnsafeContinuation<Void, Never>] = []

    init(spoolPath: String, options: Options, logger: Logger, recovered: JournalRecovery.Result) {
        self.spoolPath = spoolPath
        self.journalPath = spoolPath + "/journal"
        self.options = options
        self.logger = logger
        self.lastQueueID = Atomic(recovered.highestQueueID)
        self.highestSequence = recovered.highestSequence
        self.nextSlotNumber = recovered.nextSlotNumber
        self.freeSlots = recovered.freeSlots
        self.index = recovered.entries
        staging = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: JournalRecord.blockSize)
        for segment in recovered.segments { segments[segment.sequence] = segment }
        for (key, entry) in index { pin(key: key, entry) }
        // Everything recovery found is on the device already.
        durable = JournalPosition(sequence: recovered.highestSequence, offset: Int.max)
        flushRequested = durable
    }

    deinit {
        staging.deallocate()
        closeSegmentFiles()
    }

    /// Closes the segments' read descriptors (at close, once no read can be running any more).
    func closeSegmentFiles() {
        let open: [JournalSegment] = lock.withLock {
            defer { segmentFilesClosed = true }
            return segmentFilesClosed ? [] : Array(segments.values)
        }
        for segment in open { segment.closeDescriptor() }
    }

    /// Starts the threads; `false` when the system would not give them.
    func start() -> Bool {
        lock.withLock { runningThreads = 2 + options.flushers }
        guard QueueThread.start(name: "spool-writer", { self.writerLoop() }) else { return false }
        for index in 0..<options.flushers {
            guard QueueThread.start(name: "spool-flush\(index)", { self.flusherLoop(index) }) else { return false }
        }
        return QueueThread.start(name: "spool-maint", { self.maintenanceLoop() })
    }

    // MARK: Queue ids

    /// A new queue id: the arrival time, and greater than every id before it.
    func issueQueueID() -> QueueID {
        let floor = QueueID.floor(microseconds: QueueFile.wallClockMicroseconds())
        var current = lastQueueID.load(ordering: .relaxed)
        while true {
            let next = max(floor, current + 1)
            let (exchanged, original) = lastQueueID.compareExchange(expected: current, desired: next, ordering: .relaxed)
            if exchanged { return QueueID(rawValue: next) }
            current = original
        }
    }

    var highestQueueID: UInt64 { lastQueueID.load(ordering: .relaxed) }

    // MARK: Requests

    /// Queues requests for the writer (all at once, in order); `false` when the journal is closing.
    func submit(_ new: Request...) -> Bool {
        lock.lock()
        guard !stopping else {
            lock.unlock()
            return false
        }
        requests.append(contentsOf: new)
        if writerWaiting { lock.signal(Wake.writer) }
        lock.unlock()
        return true
    }

    /// Queues a piece of text; waits while the message has more than its share in flight.
    func submitData(key: UInt64, bytes: ByteBuffer, flow: MessageFlow) async throws(MailQueueError) {
        let crc = bytes.withUnsafeReadableBytes { CRC32C.checksum($0) }
        let count = bytes.readableBytes
        let limit = options.bufferedBytesPerMessage
        let (accepted, mustWait): (Bool, Bool) = lock.withLock {
            if stopping { return (false, false) }
            if flow.failure != nil { return (true, false) }
            requests.append(.data(key: key, bytes: bytes, crc: crc, flow: flow))
            flow.inFlight += count
            if writerWaiting { lock.signal(Wake.writer) }
            return (true, flow.inFlight > limit)
        }
        guard accepted else { throw MailQueueError(.closed, "the spool is closed") }
        if mustWait {
            await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
                lock.lock()
                if flow.inFlight > limit && flow.failure == nil {
                    flow.waiter = continuation
                    lock.unlock()
                } else {
                    lock.unlock()
                    continuation.resume()
                }
            }
        }
        if let failure = lock.withLock({ flow.failure }) { throw failure }
    }

    /// Whether a new message can be taken now (a spool that is full says no before the text arrives).
    func admissionError() -> MailQueueError? {
        lock.withLock {
            if stopping { return MailQueueError(.closed, "the spool is closed") }
            if freeSlots.isEmpty, !preparing, let failure = prepareFailure, headRoom < options.reserve + options.chunkSize {
                return MailQueueError(
                    failure.isOutOfSpace ? .insufficientStorage : .ioError,
                    "spool \(spoolPath) cannot take a message: \(failure)")
            }
            return nil
        }
    }

    // MARK: Index and pins (lock held)

    func pin(key: UInt64, _ entry: JournalEntry) {
        for (sequence, bytes) in entry.pins {
            guard let segment = segments[sequence] else { continue }
            segment.keys.insert(key)
            segment.liveBytes += bytes
        }
    }

    func unpin(key: UInt64, _ entry: JournalEntry, at position: JournalPosition) {
        for (sequence, bytes) in entry.pins {
            guard let segment = segments[sequence] else { continue }
            segment.keys.remove(key)
            segment.liveBytes -= bytes
            if segment.keys.isEmpty { segment.deadAt = max(segment.deadAt, position) }
        }
    }

    /// Moves dead segments at the old end of the journal to the maintenance thread: the oldest
    /// segment only, and only when nothing live has records in it, no body is being read from it,
    /// and the records that emptied it are durable — so that no record a recovery would need is
    /// ever overwritten, and no older segment still holds a message one of its records removed.
    func collectRetirements() {
        while let oldest = segments.keys.min(), let segment = segments[oldest], !segment.isHead,
              segment.keys.isEmpty, segment.openMessages == 0, segment.readers == 0, durable >= segment.deadAt
        {
            segments.removeValue(forKey: oldest)
            retirements.append(segment)
            lock.signal(Wake.maintenance)
        }
    }

    /// Counts a message still being written (or copied) in a segment its text went to, so that the
    /// segment is not retired before the message's commit record pins it.
    func holdForOpenMessage(_ sequences: inout Set<UInt64>, _ segment: JournalSegment) {
        guard sequences.insert(segment.sequence).inserted else { return }
        lock.withLock { segment.openMessages += 1 }
    }

    /// Drops those counts (lock held).
    func releaseOpenMessage(_ sequences: Set<UInt64>) {
        for sequence in sequences { segments[sequence]?.openMessages -= 1 }
    }

    /// Takes the readers' pins off segments (a body stream is done).
    func releaseReaders(_ list: [JournalSegment]) {
        lock.withLock {
            for segment in list { segment.readers -= 1 }
            if writerWaiting { lock.signal(Wake.writer) }
        }
    }

    // MARK: Durability (lock held)

    /// Resumes everyone whose record is durable now, and fails those whose segment failed.
    func settleWaiters() {
        while waiterHead < waiters.count {
            let waiter = waiters[waiterHead]
            if waiter.position <= durable {
                if let completion = waiter.completion { readyToResume.append((completion, .success(()))) }
            } else if let segment = segments[waiter.position.sequence], let failedAt = segment.failedAt,
                      waiter.position > failedAt
            {
                fail(waiter, MailQueueError(.ioError, "flushing \(segment.slot.path) failed; the record is not durable"))
            } else {
                break
            }
            waiterHead += 1
        }
        if waiterHead > 1024, waiterHead * 2 > waiters.count {
            waiters.removeFirst(waiterHead)
            waiterHead = 0
        }
    }

    private func fail(_ waiter: Waiter, _ error: MailQueueError) {
        switch waiter.kind {
        case .commit(let key):
            // Not acknowledged: the message is not in the spool as far as anyone is told.
            if let entry = index.removeValue(forKey: key) { unpin(key: key, entry, at: waiter.position) }
        case .relocation(let key, let previous, let commit):
            // The copy may not be on the device: the old records, still pinned, are what counts.
            if var entry = index[key], entry.commit == commit {
                unpin(key: key, entry, at: waiter.position)
                entry.extents = previous.extents
                entry.commit = previous.commit
                entry.commitLength = previous.commitLength
                index[key] = entry
                pin(key: key, entry)
            }
        case .update:
            break
        }
        if let completion = waiter.completion { readyToResume.append((completion, .failure(error))) }
    }

    /// Resumes what was collected (called without the lock).
    func resumeCollected(_ completions: [(Completion, Result<Void, MailQueueError>)], _ flows: [UnsafeContinuation<Void, Never>]) {
        for (completion, result) in completions { completion.resume(returning: result) }
        for flow in flows { flow.resume() }
    }

    // MARK: Flushers

    private func flusherLoop(_ number: Int) {
        lock.lock()
        while true {
            while flushJobs.isEmpty && !writerDone { lock.wait(Wake.flushers) }
            guard !flushJobs.isEmpty else { break }
            let job = flushJobs.removeFirst()
            lock.unlock()
            let started = ContinuousClock.now
            var failure: QueueIOError?
            do {
                try QueueFile.syncData(job.descriptors.descriptors[number], path: job.segment.slot.path, faults: options.faults)
            } catch {
                failure = error
            }
            let elapsed = ContinuousClock.now - started
            lock.lock()
            flushesInFlight -= 1
            statistics.flushes += 1
            statistics.flushTime += elapsed
            if let failure {
                if job.segment.failedAt == nil { job.segment.failedAt = max(durable, JournalPosition(sequence: job.segment.sequence, offset: 0)) }
                logger.error("spool flush failed; moving to a new segment", metadata: ["error": "\(failure)"])
            } else if job.segment.failedAt.map({ job.position <= $0 }) ?? true {
                durable = max(durable, job.position)
            }
            settleWaiters()
            collectRetirements()
            let completions = readyToResume, flows = flowsToResume
            readyToResume.removeAll()
            flowsToResume.removeAll()
            if writerWaiting { lock.signal(Wake.writer) }
            lock.unlock()
            resumeCollected(completions, flows)
            lock.lock()
        }
        runningThreads -= 1
        let completion = runningThreads == 0 ? closeCompletion : nil
        if runningThreads == 0 { closeCompletion = nil }
        lock.unlock()
        completion?.resume()
    }

    /// Set by the writer when it has written and flushed everything, at close.
    var writerDone = false

    // MARK: Maintenance

    private func maintenanceLoop() {
        lock.lock()
        while true {
            let now = Self.monotonicNanoseconds()
            let wantsSegment = freeSlots.count < options.spareSegments && !preparing && now >= prepareRetryAt
            if stopping && writerDone {
                break
            }
            if let segment = retirements.first {
                retirements.removeFirst()
                lock.unlock()
                retire(segment)
                lock.lock()
                continue
            }
            if wantsSegment && !stopping {
                preparing = true
                let number = nextSlotNumber
                nextSlotNumber += 1
                let highest = highestSequence
                lock.unlock()
                let result = prepareSegment(number: number, highestSequence: highest)
                lock.lock()
                preparing = false
                switch result {
                case .success(let slot):
                    if prepareFailure != nil { logger.notice("spool has room again: made \(slot.path)") }
                    prepareFailure = nil
                    freeSlots.append(slot)
                case .failure(let error):
                    if prepareFailure == nil {
                        logger.error("spool cannot make a new segment; new messages get 452 4.3.1 once the current one is full", metadata: ["error": "\(error)"])
                    }
                    prepareFailure = error
                    prepareRetryAt = Self.monotonicNanoseconds() + 500_000_000
                }
                lock.broadcast(Wake.segments)
                if writerWaiting { lock.signal(Wake.writer) }
                continue
            }
            if freeSlots.count > options.spareSegments + options.freeSegmentsKept, let slot = freeSlots.popLast() {
                lock.unlock()
                unlink(slot.path)
                lock.lock()
                continue
            }
            lock.wait(Wake.maintenance, nanoseconds: wantsSegment || prepareFailure != nil ? 100_000_000 : 1_000_000_000)
        }
        runningThreads -= 1
        let completion = runningThreads == 0 ? closeCompletion : nil
        if runningThreads == 0 { closeCompletion = nil }
        lock.unlock()
        completion?.resume()
    }

    /// Marks a dead segment free: a `free` header carrying the highest sequence number, flushed,
    /// before the file may be reused; then it joins the free slots.
    private func retire(_ segment: JournalSegment) {
        let highest = lock.withLock { highestSequence }
        var ok = false
        do {
            let descriptor = try QueueFile.openFile(segment.slot.path, O_WRONLY)
            defer { QueueFile.closeDescriptor(descriptor) }
            try writeHeaderRecord(.free, sequence: highest, into: descriptor, path: segment.slot.path)
            try QueueFile.syncData(descriptor, path: segment.slot.path, faults: options.faults, inject: false)
            ok = true
        } catch {
            logger.error("spool cannot retire a segment; leaving it unused", metadata: ["error": "\(error)"])
        }
        segment.closeDescriptor()
        // A segment of another size (the configured size changed since it was made) is not reused.
        let reusable = ok && segment.size == options.segmentSize
        if ok && !reusable { unlink(segment.slot.path) }
        lock.withLock {
            statistics.segmentsRetired += 1
            if reusable { freeSlots.append(segment.slot) }
            lock.broadcast(Wake.segments)
            if writerWaiting { lock.signal(Wake.writer) }
        }
        logger.debug("spool segment retired", metadata: ["segment": "\(segment.sequence)", "file": "\(segment.slot.path)"])
    }

    /// Makes a new segment file: zeros to its full size and a `free` header, synced, then renamed
    /// to its final name and the directory synced — so that the name, the size and the blocks are
    /// all on the device before a single message record goes into it.
    private func prepareSegment(number: Int, highestSequence: UInt64) -> Result<SegmentSlot, QueueIOError> {
        let name = SegmentSlot.name(number)
        let temporary = "\(journalPath)/.\(name).new"
        let final = "\(journalPath)/\(name)"
        do throws(QueueIOError) {
            if let code = options.faults?.consume(.prepare) { throw QueueIOError(operation: "fallocate", path: temporary, code: code) }
            let descriptor = try QueueFile.openFile(temporary, O_WRONLY | O_CREAT | O_TRUNC)
            var closed = false
            defer { if !closed { QueueFile.closeDescriptor(descriptor) } }
            do throws(QueueIOError) {
                let status = posix_fallocate(descriptor, 0, off_t(options.segmentSize))
                if status != 0, status != EOPNOTSUPP, status != EINVAL {
                    throw QueueIOError(operation: "fallocate", path: temporary, code: status)
                }
                let zeros = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: JournalRecord.blockSize)
                defer { zeros.deallocate() }
                zeros.initializeMemory(as: UInt8.self, repeating: 0)
                var offset = 0
                while offset < options.segmentSize {
                    let count = min(zeros.count, options.segmentSize - offset)
                    try QueueFile.write(descriptor, UnsafeRawBufferPointer(rebasing: zeros[0..<count]), at: offset, path: temporary, faults: options.faults, inject: false)
                    offset += count
                }
                try writeHeaderRecord(.free, sequence: highestSequence, into: descriptor, path: temporary)
                try QueueFile.syncData(descriptor, path: temporary, faults: options.faults, inject: false)
                closed = true
                QueueFile.closeDescriptor(descriptor)
                if rename(temporary, final) != 0 { throw QueueIOError(operation: "rename", path: final, code: errno) }
                try QueueFile.syncDirectory(journalPath)
            } catch {
                unlink(temporary)
                throw error
            }
            lock.withLock { statistics.segmentsCreated += 1 }
            logger.debug("spool segment made", metadata: ["file": "\(final)"])
            return .success(SegmentSlot(number: number, path: final))
        } catch {
            return .failure(error)
        }
    }

    /// Writes a `segment` or `free` record at offset 0.
    func writeHeaderRecord(_ kind: JournalRecord.Kind, sequence: UInt64, into descriptor: Int32, path: String) throws(QueueIOError) {
        let payload = JournalCoding.segmentHeaderPayload(.init(size: options.segmentSize, highestQueueID: highestQueueID))
        let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: JournalRecord.headerSize + payload.readableBytes, alignment: 8)
        defer { raw.deallocate() }
        payload.withUnsafeReadableBytes { source in
            UnsafeMutableRawBufferPointer(rebasing: raw[JournalRecord.headerSize...]).copyMemory(from: source)
        }
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[JournalRecord.headerSize...]))
        JournalRecord(kind: kind, payloadLength: payload.readableBytes, payloadCRC: crc, sequence: sequence, key: 0)
            .encodeHeader(into: raw)
        try QueueFile.write(descriptor, UnsafeRawBufferPointer(raw), at: 0, path: path, faults: options.faults, inject: false)
    }

    static func monotonicNanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }

    // MARK: Closing

    /// Stops taking requests, writes and flushes what was queued, and stops the threads.
    func close() async {
        await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in
            lock.lock()
            if runningThreads == 0 {
                lock.unlock()
                continuation.resume()
                return
            }
            closeCompletion = continuation
            stopping = true
            lock.signal(Wake.writer)
            lock.broadcast(Wake.maintenance)
            lock.unlock()
        }
    }
}

/// Flow control for one message's text between its writer and the journal writer (guarded by the
/// journal's lock): how many octets are queued but not yet written, and whether writing failed.
final class MessageFlow: @unchecked Sendable {
    var inFlight = 0
    var failure: MailQueueError?
    var waiter: UnsafeContinuation<Void, Never>?
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
public import Logging
import NIOCore
import NIOPosix
import Synchronization

/// The durable spool: where an accepted message lives until it is delivered or bounced.
///
/// "250 after DATA" (RFC 5321 §4.1.1.4, §6.1: the server "accepts responsibility for delivering
/// or relaying the message") is a promise this type keeps: ``QueueMessageWriter/commit(_:)``
/// returns a queue id only once the message's text, envelope and the directory entries that make
/// them findable are on the device, and a crash at any instant afterwards loses nothing; a crash
/// before it leaves nothing that a restart would show. <doc:DurableSpool> explains how.
///
/// ```swift
/// let queue = try await MailQueue.open(directory: "/var/spool/swiftmta")
/// let writer = try queue.beginMessage()           // the id is known from here on, for the log
/// for try await piece in messageText { try await writer.append(piece) }
/// let id = try await writer.commit(QueueEnvelope(envelope, client: client))  // now send 250
/// ```
///
/// The runner lists messages (``list()``), reads one (``message(_:)``, ``body(of:)``), records
/// what happened to each recipient (``update(_:recipients:)``) and removes the message once it
/// is done (``remove(_:)``); each of those changes is journaled and flushed like a commit.
///
/// Blocking file work happens on the spool's own threads (a writer, a few flushers, a
/// maintenance thread and a few readers), never on an event loop or a cooperative thread; every
/// call here is `async` or returns at once.
public final class MailQueue: Sendable {
    /// The spool directory.
    public let directory: String
    /// What recovery found at open.
    public let recoveryReport: RecoveryReport

    let journal: Journal
    private let readPool: NIOThreadPool
    private let lockDescriptor: Int32
    private let logger: Logger
    private let chunkSize: Int
    private let closed = Mutex(false)

    private init(directory: String, journal: Journal, readPool: NIOThreadPool, lockDescriptor: Int32, report: RecoveryReport, logger: Logger, chunkSize: Int) {
        self.directory = directory
        self.journal = journal
        self.readPool = readPool
        self.lockDescriptor = lockDescriptor
        self.recoveryReport = report
        self.logger = logger
        self.chunkSize = chunkSize
    }

    /// Opens the spool in `directory` — creating it when missing — and recovers every message in it.
    ///
    /// - Throws: ``MailQueueError`` `.unusableSpool` naming the path when the directory cannot be
    ///   created or written (a start-up error), `.spoolInUse` when another process has it open.
    ///   A spool whose file system is full opens: it delivers what it holds, answers new messages
    ///   with 452 4.3.1, and takes them again once there is room.
    public static func open(
        directory: String, configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "swiftmta.queue")
    ) async throws(MailQueueError) -> MailQueue {
        let options = try configuration.checked(path: directory)
        let pool = NIOThreadPool(numberOfThreads: configuration.readThreads)
        pool.start()
        let opened: Result<(Int32, JournalRecovery.Result), MailQueueError>
        do {
            opened = try await pool.runIfActive { Result { () throws(MailQueueError) in try openDirectory(directory, options: options, logger: logger) } }
        } catch {
            opened = .failure(MailQueueError(.unusableSpool, "spool \(directory): \(error)"))
        }
        let lockDescriptor: Int32
        let recovered: JournalRecovery.Result
        switch opened {
        case .success(let value):
            (lockDescriptor, recovered) = value
        case .failure(let error):
            try? await pool.shutdownGracefully()
            throw error
        }
        let journal = Journal(spoolPath: directory, options: options, logger: logger, recovered: recovered)
        guard journal.start() else {
            QueueFile.closeDescriptor(lockDescriptor)
            try? await pool.shutdownGracefully()
            throw MailQueueError(.unusableSpool, "spool \(directory): cannot start its threads")
        }
        let report = RecoveryReport(
            messages: recovered.report.messages, segmentsScanned: recovered.report.segmentsScanned,
            bytesScanned: recovered.report.bytesScanned, tornTails: recovered.report.tornTails,
            damage: recovered.report.damage, incomplete: recovered.report.incomplete)
        logger.notice("spool opened", metadata: [
            "directory": "\(directory)", "messages": "\(report.messages)", "segments": "\(report.segmentsScanned)",
            "torn-tails": "\(report.tornTails)", "damaged": "\(report.damage.count)",
        ])
        return MailQueue(
            directory: directory, journal: journal, readPool: pool, lockDescriptor: lockDescriptor, report: report,
            logger: logger, chunkSize: configuration.chunkSize)
    }

    /// Creates and checks the directory, takes its lock, and runs recovery (on a pool thread).
    private static func openDirectory(_ directory: String, options: Journal.Options, logger: Logger) throws(MailQueueError) -> (Int32, JournalRecovery.Result) {
        func unusable(_ error: QueueIOError) -> MailQueueError {
            MailQueueError(.unusableSpool, "spool directory \(directory) cannot be used: \(error)")
        }
        let journalPath = directory + "/journal"
        do {
            try QueueFile.makeDirectories(directory)
            if try QueueFile.makeDirectory(journalPath) { try QueueFile.syncDirectory(directory) }
        } catch {
            throw unusable(error)
        }
        let lockPath = directory + "/lock"
        let descriptor: Int32
        do {
            descriptor = try QueueFile.openFile(lockPath, O_RDWR | O_CREAT, mode: 0o600)
        } catch {
            throw unusable(error)
        }
        // A process that is just exiting, or a child between fork and exec that still shares the
        // descriptor, holds the lock for a moment: wait up to a second before calling it in use.
        var lockError: Int32 = 0
        for _ in 0..<40 {
            if flock(descriptor, LOCK_EX | LOCK_NB) == 0 {
                lockError = 0
                break
            }
            lockError = errno
            guard lockError == EWOULDBLOCK || lockError == EINTR else { break }
            usleep(25_000)
        }
        if lockError != 0, lockError != EWOULDBLOCK, lockError != EINTR {
            QueueFile.closeDescriptor(descriptor)
            throw unusable(QueueIOError(operation: "flock", path: lockPath, code: lockError))
        }
        if lockError != 0 {
            var bytes = [UInt8](repeating: 0, count: 32)
            let count = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
            let holder = String(decoding: bytes.prefix(max(0, count)), as: UTF8.self).split(separator: "\n").first.map(String.init) ?? "?"
            QueueFile.closeDescriptor(descriptor)
            throw MailQueueError(.spoolInUse, "spool \(directory) is in use by another process (pid \(holder))")
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = pid.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        // Can files be made where segments go? (A read-only or foreign-owned journal directory.)
        let probe = journalPath + "/.probe"
        do {
            let probeDescriptor = try QueueFile.openFile(probe, O_WRONLY | O_CREAT | O_TRUNC)
            QueueFile.closeDescriptor(probeDescriptor)
            unlink(probe)
        } catch where !error.isOutOfSpace {
            QueueFile.closeDescriptor(descriptor)
            throw unusable(error)
        } catch {
            logger.error("spool file system is full; new messages get 452 4.3.1 until there is room", metadata: ["directory": "\(directory)"])
        }
        do {
            return (descriptor, try JournalRecovery.recover(journalPath: journalPath, segmentSize: options.segmentSize, logger: logger))
        } catch {
            QueueFile.closeDescriptor(descriptor)
            throw unusable(error)
        }
    }

    // MARK: Receiving

    /// Starts a message: its queue id is assigned now (log it from here on), its text goes to
    /// the returned writer as it arrives.
    ///
    /// - Throws: ``MailQueueError`` `.insufficientStorage` (reply ``MailQueueError/reply``,
    ///   452 4.3.1) when the spool is full, so a server can refuse before the text is sent;
    ///   `.closed` after ``close()``.
    public func beginMessage() throws(MailQueueError) -> QueueMessageWriter {
        if let error = journal.admissionError() { throw error }
        return QueueMessageWriter(id: journal.issueQueueID(), journal: journal, chunkSize: chunkSize)
    }

    // MARK: The runner's side

    /// Every message in the spool, in queue-id (arrival) order.
    public func list() -> [QueuedMessage] {
        journal.lock.withLock {
            journal.index.lazy.filter { $0.value.acknowledgedAt <= self.journal.durable }
                .map { $0.value.message(QueueID(rawValue: $0.key)) }
        }.sorted { $0.id < $1.id }
    }

    /// The message with this id, if it is in the spool.
    public func message(_ id: QueueID) -> QueuedMessage? {
        journal.lock.withLock {
            guard let entry = journal.index[id.rawValue], entry.acknowledgedAt <= journal.durable else { return nil }
            return entry.message(id)
        }
    }

    /// The text of a message, to be read as a sequence of buffers. Its segments stay as they are
    /// until the body is released, even if the message is removed meanwhile.
    ///
    /// - Throws: ``MailQueueError`` `.notFound`.
    public func body(of id: QueueID) throws(MailQueueError) -> QueueMessageBody {
        let found: ([JournalExtent], [JournalSegment], Int)? = journal.lock.withLock {
            guard let entry = journal.index[id.rawValue], entry.acknowledgedAt <= journal.durable else { return nil }
            var pinned: [JournalSegment] = []
            for extent in entry.extents where !pinned.contains(where: { $0.sequence == extent.sequence }) {
                guard let segment = journal.segments[extent.sequence] else { continue }
                segment.readers += 1
                pinned.append(segment)
            }
            return (entry.extents, pinned, entry.bodyLength)
        }
        guard let (extents, segments, size) = found else {
            throw MailQueueError(.notFound, "no message \(id) in the spool")
        }
        return QueueMessageBody(id: id, size: size, extents: extents, segments: segments, journal: journal, pool: readPool)
    }

    /// Records new states for some recipients of a message (by their index in the envelope), and
    /// returns once the change is durable.
    ///
    /// - Throws: ``MailQueueError`` `.notFound` for an unknown id or recipient index, or a storage
    ///   error (the change may or may not be on disk then: record it again).
    public func update(_ id: QueueID, recipients changes: [Int: QueueRecipientStatus]) async throws(MailQueueError) {
        let count: Int? = journal.lock.withLock { journal.index[id.rawValue]?.statuses.count }
        guard let count else { throw MailQueueError(.notFound, "no message \(id) in the spool") }
        if let bad = changes.keys.first(where: { $0 < 0 || $0 >= count }) {
            throw MailQueueError(.notFound, "message \(id) has no recipient \(bad) (it has \(count))")
        }
        let list = changes.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        try await perform { .status(key: id.rawValue, changes: list, completion: $0) }
        logger.debug("spool recipients updated", metadata: ["queue-id": "\(id)", "recipients": "\(list.map(\.0))"])
    }

    /// Removes a message (delivered, bounced, or removed by the administrator), returning once the
    /// removal is durable.
    ///
    /// - Throws: ``MailQueueError`` `.notFound`, or a storage error (then the message may come back
    ///   after a restart: remove it again).
    public func remove(_ id: QueueID) async throws(MailQueueError) {
        try await perform { .remove(key: id.rawValue, completion: $0) }
        logger.debug("spool message removed", metadata: ["queue-id": "\(id)"])
    }

    private func perform(_ request: (Journal.Completion) -> Journal.Request) async throws(MailQueueError) {
        let result: Result<Void, MailQueueError> = await withUnsafeContinuation { continuation in
            if !journal.submit(request(continuation)) {
                continuation.resume(returning: .failure(MailQueueError(.closed, "the spool is closed")))
            }
        }
        try result.get()
    }

    /// Counters since open.
    public var statistics: Statistics {
        journal.lock.withLock {
            var statistics = journal.statistics
            statistics.messages = journal.index.count
            statistics.liveSegments = journal.segments.count
            return statistics
        }
    }

    /// Writes and flushes what is queued, stops the spool's threads, closes its files and releases
    /// the directory. Writers still receiving, and bodies still being read, get `.closed`.
    public func close() async {
        guard closed.withLock({ (done: inout Bool) -> Bool in defer { done = true }; return !done }) else { return }
        await journal.close()
        try? await readPool.shutdownGracefully()
        journal.closeSegmentFiles()
        QueueFile.closeDescriptor(lockDescriptor)
        logger.notice("spool closed", metadata: ["directory": "\(directory)"])
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// The writer thread: the only code that appends to the journal.
///
/// A cycle takes every queued request, lays their records out one after another in the staging
/// buffer (a "unit"), writes the unit with one `pwrite`, then — with the lock held — applies what
/// the records do to the index and queues their waiters at their positions, and hands a flush to
/// an idle flusher. Before a flush the unit is padded to a 4 KiB boundary, so the next unit starts
/// in a block no flush has covered: a byte that was flushed is never written again.
extension Journal {
    func writerLoop() {
        var lastCompactionCheck: UInt64 = 0
        var compacting = false
        var unflushedWaiters = false
        lock.lock()
        while true {
            if requests.isEmpty && !stopping && relocation == nil && !compacting
                && !(unflushedWaiters && flushesInFlight < options.flushers)
            {
                writerWaiting = true
                lock.wait(Wake.writer, nanoseconds: 250_000_000)
                writerWaiting = false
            }
            var batch: [Request] = []
            swap(&batch, &requests)
            let closing = stopping
            let now = Self.monotonicNanoseconds()
            let lookForCompaction = !closing && (compacting || now &- lastCompactionCheck > 100_000_000)
            if lookForCompaction { lastCompactionCheck = now }
            collectRetirements()
            let headFailed = head?.segment.failedAt != nil
            lock.unlock()

            if headFailed { abandonHead() }
            // Compaction's commit records go before this batch's records: they carry the
            // recipients' states as the index has them, which includes no change of this batch.
            if lookForCompaction || relocation != nil { compacting = compact(budget: 256 << 10, now: now) }
            for request in batch { place(request) }
            unflushedWaiters = finishUnit(wantFlush: unflushedWaiters || unitHasWaiters)

            lock.lock()
            if closing && requests.isEmpty { break }
        }
        lock.unlock()
        finishAtClose()
    }

    /// Relocates messages out of the oldest segment, up to `budget` octets of text; returns whether
    /// there is more to do at once.
    private func compact(budget: Int, now: UInt64) -> Bool {
        var left = budget
        while left > 0 {
            if relocation == nil {
                relocation = lock.withLock { pickRelocation(now: now, excluding: relocatedThisUnit) }
                if relocation == nil { return false }
            }
            left -= relocationStep(budget: left)
            if relocation != nil { return true }  // a large message: go on next cycle
        }
        return true
    }

    // MARK: Placing records

    private func place(_ request: Request) {
        switch request {
        case .data(let key, let bytes, let crc, let flow):
            var open = openMessages[key] ?? OpenMessage()
            let count = bytes.readableBytes
            if let failure = open.failure {
                unitEffects.append(.dataRefused(key: key, flow: flow, bytes: count, error: failure))
                return
            }
            guard ensureSpace(JournalRecord.headerSize + count, newMessage: true) else {
                let error = storageError()
                open.failure = error
                openMessages[key] = open
                unitEffects.append(.dataRefused(key: key, flow: flow, bytes: count, error: error))
                return
            }
            let position = bytes.withUnsafeReadableBytes { append(.data, key: key, payload: $0, crc: crc) }
            holdForOpenMessage(&open.segments, head!.segment)
            open.extents.append(JournalExtent(sequence: position.sequence, offset: position.offset, length: count))
            open.length += count
            openMessages[key] = open
            unitEffects.append(.data(key: key, flow: flow, bytes: count))

        case .commit(let key, let envelope, let encoded, let flow, let completion):
            let open = openMessages.removeValue(forKey: key) ?? OpenMessage()
            let earlier: MailQueueError? = lock.withLock {
                if let failure = flow.failure { return failure }
                for extent in open.extents {
                    if let failedAt = segments[extent.sequence]?.failedAt, extent.offset >= failedAt.offset {
                        return MailQueueError(.ioError, "writing the message text failed")
                    }
                }
                return nil
            }
            if let failure = open.failure ?? earlier {
                lock.withLock { releaseOpenMessage(open.segments) }
                immediate.append((completion, .failure(failure)))
                return
            }
            let statuses = [QueueRecipientStatus](repeating: .pending, count: envelope.recipients.count)
            let payload = JournalCoding.commitPayload(
                encodedEnvelope: encoded, statuses: statuses, bodyLength: open.length, extents: open.extents)
            guard ensureSpace(JournalRecord.headerSize + payload.readableBytes, newMessage: true) else {
                lock.withLock { releaseOpenMessage(open.segments) }
                immediate.append((completion, .failure(storageError())))
                return
            }
            let position = payload.withUnsafeReadableBytes { append(.commit, key: key, payload: $0, crc: CRC32C.checksum($0)) }
            let entry = JournalEntry(
                envelope: envelope, statuses: statuses, bodyLength: open.length,
                extents: open.extents, commit: position, commitLength: JournalRecord.headerSize + payload.readableBytes,
                writtenAt: Self.monotonicNanoseconds(),
                acknowledgedAt: JournalPosition(sequence: position.sequence, offset: position.offset + JournalRecord.headerSize + payload.readableBytes))
            unitEffects.append(.commit(key: key, entry: entry, completion: completion, open: open.segments))
            unitHasWaiters = true

        case .abort(let key):
            if let open = openMessages.removeValue(forKey: key), !open.segments.isEmpty {
                lock.withLock { releaseOpenMessage(open.segments) }
            }

        case .status(let key, let changes, let completion):
            let payload = JournalCoding.statusPayload(changes)
            guard ensureSpace(JournalRecord.headerSize + payload.readableBytes, newMessage: false) else {
                immediate.append((completion, .failure(storageError())))
                return
            }
            let position = payload.withUnsafeReadableBytes { append(.status, key: key, payload: $0, crc: CRC32C.checksum($0)) }
            let end = JournalPosition(sequence: position.sequence, offset: position.offset + JournalRecord.headerSize + payload.readableBytes)
            unitEffects.append(.status(key: key, changes: changes, end: end, completion: completion))
            unitHasWaiters = true

        case .remove(let key, let completion):
            guard ensureSpace(JournalRecord.headerSize, newMessage: false) else {
                immediate.append((completion, .failure(storageError())))
                return
            }
            let position = append(.remove, key: key, payload: UnsafeRawBufferPointer(start: nil, count: 0), crc: 0)
            let end = JournalPosition(sequence: position.sequence, offset: position.offset + JournalRecord.headerSize)
            unitEffects.append(.remove(key: key, end: end, completion: completion))
            unitHasWaiters = true
        }
    }

    /// The error for a record that found no room.
    private func storageError() -> MailQueueError {
        let failure = lock.withLock { prepareFailure }
        if let failure, !failure.isOutOfSpace {
            return MailQueueError(.ioError, "spool \(spoolPath): \(failure)")
        }
        return MailQueueError(.insufficientStorage, "spool \(spoolPath) is full\(failure.map { ": \($0)" } ?? "")")
    }

    /// Makes sure the head has room for `length` more octets, moving to a new segment when it has
    /// not. A new message's records leave the reserve free when no other segment can be had, so
    /// that the runner can still record deliveries and removals — which is what frees space.
    private func ensureSpace(_ length: Int, newMessage: Bool) -> Bool {
        let limit = options.segmentSize
        guard length + JournalRecord.headerSize * 2 + JournalCoding.segmentHeaderPayloadLength <= limit - options.reserve else {
            return false
        }
        if let head {
            let end = head.offset + length
            if end + options.reserve <= limit { return true }
            if end <= limit {
                if !newMessage { return true }
                let spare = lock.withLock { !freeSlots.isEmpty || preparing || prepareFailure == nil }
                if !spare { return false }
            }
        }
        return switchHead()
    }

    /// Copies a record into the staging buffer at the head's offset; returns its position.
    @discardableResult
    private func append(_ kind: JournalRecord.Kind, key: UInt64, payload: UnsafeRawBufferPointer, crc: UInt32) -> JournalPosition {
        let head = head!
        let total = JournalRecord.headerSize + payload.count
        let region = stagingRegion(total)
        let position = JournalPosition(sequence: head.segment.sequence, offset: head.offset)
        JournalRecord(kind: kind, payloadLength: payload.count, payloadCRC: crc, sequence: head.segment.sequence, key: key)
            .encodeHeader(into: region)
        if payload.count > 0 {
            UnsafeMutableRawBufferPointer(rebasing: region[JournalRecord.headerSize...]).copyMemory(from: payload)
        }
        stagingCount += total
        head.offset += total
        return position
    }

    /// Room for `count` octets at the end of the staging buffer (written out or grown as needed).
    private func stagingRegion(_ count: Int) -> UnsafeMutableRawBufferPointer {
        if stagingCount + count > staging.count {
            writeStaging()
            if count > staging.count {
                staging.deallocate()
                staging = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: JournalRecord.blockSize)
            }
        }
        return UnsafeMutableRawBufferPointer(rebasing: staging[stagingCount..<(stagingCount + count)])
    }

    /// Writes the staged octets to the head segment. A failure is kept for the end of the unit,
    /// which then fails every record in it.
    private func writeStaging() {
        guard stagingCount > 0, let head else { return }
        if unitFailure == nil {
            do {
                try QueueFile.write(
                    head.descriptor, UnsafeRawBufferPointer(rebasing: staging[0..<stagingCount]), at: stagingOffset,
                    path: head.segment.slot.path, faults: options.faults)
                pendingBytesWritten += stagingCount
            } catch {
                unitFailure = error
            }
        }
        stagingOffset += stagingCount
        stagingCount = 0
    }

    /// Pads to the next 4 KiB boundary with a padding record (zeros; a header of its own).
    private func appendPadding() {
        guard let head, head.offset % JournalRecord.blockSize != 0 else { return }
        var gap = JournalRecord.blockSize - head.offset % JournalRecord.blockSize
        if gap < JournalRecord.headerSize { gap += JournalRecord.blockSize }
        gap = min(gap, options.segmentSize - head.offset)
        guard gap >= JournalRecord.headerSize else { return }
        let region = stagingRegion(gap)
        region.initializeMemory(as: UInt8.self, repeating: 0)
        JournalRecord(kind: .padding, payloadLength: gap - JournalRecord.headerSize, payloadCRC: 0, sequence: head.segment.sequence, key: 0)
            .encodeHeader(into: region)
        stagingCount += gap
        head.offset += gap
        pendingPaddingBytes += gap
    }

    // MARK: Ending a unit

    /// Writes the unit, applies its effects, and starts a flush when one is wanted and a flusher is
    /// free. Returns whether waiters are left that no flush covers yet.
    @discardableResult
    func finishUnit(wantFlush: Bool) -> Bool {
        guard let head else {
            failUnit(MailQueueError(.insufficientStorage, "spool \(spoolPath) has no segment to write to"))
            return false
        }
        let flushNow = wantFlush && head.segment.failedAt == nil && lock.withLock { flushesInFlight < options.flushers }
        if flushNow { appendPadding() }
        writeStaging()
        if let failure = unitFailure {
            unitFailure = nil
            lock.withLock { markFailed(head.segment) }
            failUnit(MailQueueError(.ioError, "writing the spool failed: \(failure)"))
            return false
        }
        lock.lock()
        for effect in unitEffects { apply(effect) }
        unitEffects.removeAll(keepingCapacity: true)
        relocatedThisUnit.removeAll(keepingCapacity: true)
        unitHasWaiters = false
        var left = waiterHead < waiters.count && waiters[waiters.count - 1].position > flushRequested
        if flushNow && left {
            let position = JournalPosition(sequence: head.segment.sequence, offset: head.offset)
            flushRequested = position
            flushJobs.append(FlushJob(segment: head.segment, position: position, descriptors: head.flushDescriptors))
            flushesInFlight += 1
            lock.signal(Wake.flushers)
            left = false
        }
        statistics.bytesWritten += pendingBytesWritten
        statistics.paddingBytes += pendingPaddingBytes
        pendingBytesWritten = 0
        pendingPaddingBytes = 0
        headRoom = options.segmentSize - head.offset
        let completions = readyToResume, flows = flowsToResume
        readyToResume.removeAll(keepingCapacity: true)
        flowsToResume.removeAll(keepingCapacity: true)
        lock.unlock()
        resumeCollected(completions, flows)
        resumeImmediate()
        return left
    }

    /// What a record does once its octets are in the file (lock held).
    private func apply(_ effect: Effect) {
        switch effect {
        case .data(_, let flow, let bytes):
            flow.inFlight -= bytes
            if flow.inFlight <= options.bufferedBytesPerMessage, let waiter = flow.waiter {
                flow.waiter = nil
                flowsToResume.append(waiter)
            }
        case .dataRefused(_, let flow, let bytes, let error):
            flow.inFlight -= bytes
            flow.failure = flow.failure ?? error
            if let waiter = flow.waiter {
                flow.waiter = nil
                flowsToResume.append(waiter)
            }
        case .commit(let key, let entry, let completion, let open):
            index[key] = entry
            pin(key: key, entry)
            releaseOpenMessage(open)
            waiters.append(Waiter(position: entry.commitEnd, kind: .commit(key: key), completion: completion))
            statistics.commits += 1
        case .status(let key, let changes, let end, let completion):
            guard var entry = index[key] else {
                readyToResume.append((completion, .failure(MailQueueError(.notFound, "no message \(QueueID(rawValue: key)) in the spool"))))
                return
            }
            for (recipient, status) in changes where recipient < entry.statuses.count {
                entry.statuses[recipient] = status
            }
            index[key] = entry
            waiters.append(Waiter(position: end, kind: .update, completion: completion))
        case .remove(let key, let end, let completion):
            guard let entry = index.removeValue(forKey: key) else {
                readyToResume.append((completion, .failure(MailQueueError(.notFound, "no message \(QueueID(rawValue: key)) in the spool"))))
                return
            }
            unpin(key: key, entry, at: end)
            waiters.append(Waiter(position: end, kind: .update, completion: completion))
            statistics.removals += 1
        case .relocate(let key, let expected, let extents, let commit, let commitLength, let open):
            let end = JournalPosition(sequence: commit.sequence, offset: commit.offset + commitLength)
            defer { releaseOpenMessage(open) }
            guard let previous = index[key], previous.commit == expected else { return }
            var entry = previous
            unpin(key: key, previous, at: end)
            entry.extents = extents
            entry.commit = commit
            entry.commitLength = commitLength
            entry.writtenAt = Self.monotonicNanoseconds()
            index[key] = entry
            pin(key: key, entry)
            statistics.relocations += 1
            waiters.append(Waiter(position: end, kind: .relocation(key: key, previous: previous, commit: commit), completion: nil))
        }
    }

    /// Fails every record of the unit (its write failed, or there was no segment to write it to).
    private func failUnit(_ error: MailQueueError) {
        lock.lock()
        for effect in unitEffects {
            switch effect {
            case .data(let key, let flow, let bytes), .dataRefused(let key, let flow, let bytes, _):
                openMessages[key]?.failure = error
                flow.inFlight -= bytes
                flow.failure = flow.failure ?? error
                if let waiter = flow.waiter {
                    flow.waiter = nil
                    flowsToResume.append(waiter)
                }
            case .commit(_, _, let completion, let open):
                releaseOpenMessage(open)
                readyToResume.append((completion, .failure(error)))
            case .status(_, _, _, let completion), .remove(_, _, let completion):
                readyToResume.append((completion, .failure(error)))
            case .relocate(_, _, _, _, _, let open):
                releaseOpenMessage(open)
            }
        }
        unitEffects.removeAll(keepingCapacity: true)
        relocatedThisUnit.removeAll(keepingCapacity: true)
        unitHasWaiters = false
        settleWaiters()
        let completions = readyToResume, flows = flowsToResume
        readyToResume.removeAll(keepingCapacity: true)
        flowsToResume.removeAll(keepingCapacity: true)
        lock.unlock()
        resumeCollected(completions, flows)
        resumeImmediate()
        stagingCount = 0
    }

    private func resumeImmediate() {
        guard !immediate.isEmpty else { return }
        let list = immediate
        immediate.removeAll(keepingCapacity: true)
        resumeCollected(list, [])
    }

    /// Nothing in `segment` after the durable position is trusted any more (lock held).
    func markFailed(_ segment: JournalSegment) {
        guard segment.failedAt == nil else { return }
        segment.failedAt = durable.sequence == segment.sequence ? durable : JournalPosition(sequence: segment.sequence, offset: 0)
        statistics.failedSegments += 1
    }

    // MARK: Segments

    /// Leaves a head whose flush or write failed: open messages with text in its untrusted part
    /// fail, and the next record goes to a new segment.
    private func abandonHead() {
        guard let head else { return }
        let failedAt = lock.withLock { head.segment.failedAt } ?? JournalPosition(sequence: head.segment.sequence, offset: 0)
        for (key, open) in openMessages where open.failure == nil {
            if open.extents.contains(where: { $0.sequence == failedAt.sequence && $0.offset >= failedAt.offset }) {
                openMessages[key]?.failure = MailQueueError(.ioError, "writing the message text failed")
            }
        }
        stagingCount = 0
        lock.withLock {
            head.segment.isHead = false
            settleWaiters()
        }
        self.head = nil
    }

    /// Ends the head segment — its unit written, then a flush of the whole file on the writer's
    /// own descriptor, so that everything in it is durable before anything goes into the next
    /// one — and makes a free segment the head. `false` when no segment can be had.
    private func switchHead() -> Bool {
        if let old = head {
            finishUnit(wantFlush: false)
            if head === old {
                var syncFailure: QueueIOError?
                if old.segment.failedAt == nil {
                    do {
                        try QueueFile.syncData(old.descriptor, path: old.segment.slot.path, faults: options.faults)
                    } catch {
                        syncFailure = error
                    }
                }
                lock.lock()
                if syncFailure == nil, old.segment.failedAt == nil {
                    durable = max(durable, JournalPosition(sequence: old.segment.sequence, offset: old.offset))
                } else {
                    markFailed(old.segment)
                }
                old.segment.isHead = false
                settleWaiters()
                collectRetirements()
                let completions = readyToResume
                readyToResume.removeAll(keepingCapacity: true)
                lock.unlock()
                resumeCollected(completions, [])
                if let syncFailure { logger.error("spool flush failed; moving to a new segment", metadata: ["error": "\(syncFailure)"]) }
                for (key, open) in openMessages where open.extents.contains(where: { $0.sequence == old.segment.sequence }) {
                    if old.segment.failedAt != nil { openMessages[key]?.failure = MailQueueError(.ioError, "flushing the message text failed") }
                }
            }
            head = nil
        }
        // A free segment, waiting while one is being made.
        lock.lock()
        while freeSlots.isEmpty {
            if !preparing && prepareFailure != nil { break }
            lock.signal(Wake.maintenance)
            lock.wait(Wake.segments, nanoseconds: 100_000_000)
            if stopping && !preparing && freeSlots.isEmpty { break }
        }
        guard !freeSlots.isEmpty else {
            headRoom = 0
            lock.unlock()
            return false
        }
        let slot = freeSlots.removeFirst()
        highestSequence += 1
        let sequence = highestSequence
        lock.signal(Wake.maintenance)
        lock.unlock()

        var descriptors: [Int32] = []
        do throws(QueueIOError) {
            let writeDescriptor = try QueueFile.openFile(slot.path, O_RDWR)
            descriptors.append(writeDescriptor)
            for _ in 0..<options.flushers { descriptors.append(try QueueFile.openFile(slot.path, O_RDWR)) }
            descriptors.append(try QueueFile.openFile(slot.path, O_RDONLY))
        } catch {
            for descriptor in descriptors { QueueFile.closeDescriptor(descriptor) }
            logger.error("spool cannot open a segment", metadata: ["error": "\(error)"])
            lock.withLock { prepareFailure = error }
            return false
        }
        let segment = JournalSegment(sequence: sequence, slot: slot, readDescriptor: descriptors[descriptors.count - 1], size: options.segmentSize)
        segment.isHead = true
        let newHead = Head(
            segment: segment, descriptor: descriptors[0],
            flushDescriptors: FlushDescriptors(descriptors: Array(descriptors[1...options.flushers])), offset: 0)
        lock.withLock {
            segments[sequence] = segment
            headRoom = options.segmentSize
            statistics.segmentsUsed += 1
        }
        head = newHead
        stagingOffset = 0
        stagingCount = 0
        let payload = JournalCoding.segmentHeaderPayload(.init(size: options.segmentSize, highestQueueID: highestQueueID))
        _ = payload.withUnsafeReadableBytes { append(.segment, key: 0, payload: $0, crc: CRC32C.checksum($0)) }
        logger.debug("spool segment in use", metadata: ["segment": "\(sequence)", "file": "\(slot.path)"])
        return true
    }

    // MARK: Compaction

    /// A live message in the oldest segment with live messages, when that segment is mostly dead or
    /// the journal is large for what it holds: copying it to the head lets the segment be retired
    /// (lock held).
    private func pickRelocation(now: UInt64, excluding: Set<UInt64>) -> Relocation? {
        guard freeSlots.count + (preparing ? 1 : 0) > 0 || headRoom > options.reserve * 2 else { return nil }
        let live = segments.values.reduce(0) { $0 + $1.liveBytes }
        // Oldest first; emptied ones wait for the flush that lets them be retired, and the messages
        // copied in this unit are still counted where they were.
        for sequence in segments.keys.sorted() {
            guard let segment = segments[sequence], !segment.isHead else { return nil }
            guard !segment.keys.isEmpty else { continue }
            // Mostly dead, or the journal is more than twice the size of what is live in it (plus
            // two segments): then copying the segment's live messages forward is worth it.
            let mostlyDead = segment.liveBytes <= options.compactionThreshold
            let pressure = segments.count * options.segmentSize > 2 * live + 2 * options.segmentSize
            guard mostlyDead || pressure else { return nil }
            for key in segment.keys where !unrelocatable.contains(key) && !excluding.contains(key) {
                guard let entry = index[key], entry.commitEnd <= durable, now &- entry.writtenAt > 1_000_000_000,
                      entry.extents.allSatisfy({ segments[$0.sequence] != nil })
                else { continue }
                var sources: [UInt64: JournalSegment] = [:]
                for extent in entry.extents where sources[extent.sequence] == nil {
                    let source = segments[extent.sequence]!
                    sources[extent.sequence] = source
                    source.readers += 1
                }
                return Relocation(key: key, expected: entry.commit, source: entry.extents, sourceSegments: sources)
            }
            // Everything here is being copied (or too young): only then look at the next segment,
            // so that the journal empties from its old end.
            if !segment.keys.isSubset(of: excluding) { return nil }
        }
        return nil
    }

    /// Copies up to `budget` octets of the message being relocated, and its commit record once the
    /// text is all copied; returns the octets copied (at least one, so that compaction ends).
    @discardableResult
    private func relocationStep(budget: Int) -> Int {
        guard var job = relocation else { return 1 }
        var left = budget
        while job.next < job.source.count && left > 0 {
            let extent = job.source[job.next]
            let total = JournalRecord.headerSize + extent.length
            guard ensureSpace(total, newMessage: true), let head, let source = job.sourceSegments[extent.sequence] else {
                endRelocation(job)
                return max(1, budget - left)
            }
            let region = stagingRegion(total)
            let valid: Bool
            do {
                let read = try QueueFile.read(source.readDescriptor, into: region, at: extent.offset, path: source.slot.path)
                let record = try? JournalRecord.decodeHeader(UnsafeRawBufferPointer(region))
                valid = read == total && record?.kind == .data && record?.key == job.key && record?.sequence == extent.sequence
                    && record?.payloadLength == extent.length
                    && CRC32C.checksum(UnsafeRawBufferPointer(rebasing: region[JournalRecord.headerSize...])) == record?.payloadCRC
            } catch {
                valid = false
            }
            guard valid, let crc = try? JournalRecord.decodeHeader(UnsafeRawBufferPointer(region)).payloadCRC else {
                logger.error("spool message text is damaged; it stays where it is", metadata: ["queue-id": "\(QueueID(rawValue: job.key))"])
                unrelocatable.insert(job.key)
                endRelocation(job)
                return max(1, budget - left)
            }
            JournalRecord(kind: .data, payloadLength: extent.length, payloadCRC: crc, sequence: head.segment.sequence, key: job.key)
                .encodeHeader(into: region)
            holdForOpenMessage(&job.copySegments, head.segment)
            job.copied.append(JournalExtent(sequence: head.segment.sequence, offset: head.offset, length: extent.length))
            stagingCount += total
            head.offset += total
            left -= total
            job.next += 1
        }
        guard job.next == job.source.count else {
            relocation = job
            return max(1, budget - left)
        }
        let current: JournalEntry? = lock.withLock {
            guard let entry = index[job.key], entry.commit == job.expected else { return nil }
            return entry
        }
        guard let entry = current else {
            endRelocation(job)
            return max(1, budget - left)
        }
        var encoded = ByteBuffer()
        JournalCoding.encode(entry.envelope, into: &encoded)
        let payload = JournalCoding.commitPayload(
            encodedEnvelope: encoded, statuses: entry.statuses, bodyLength: entry.bodyLength, extents: job.copied)
        guard ensureSpace(JournalRecord.headerSize + payload.readableBytes, newMessage: true) else {
            endRelocation(job)
            return max(1, budget - left)
        }
        let position = payload.withUnsafeReadableBytes { append(.commit, key: job.key, payload: $0, crc: CRC32C.checksum($0)) }
        relocatedThisUnit.insert(job.key)
        unitEffects.append(.relocate(
            key: job.key, expected: job.expected, extents: job.copied, commit: position,
            commitLength: JournalRecord.headerSize + payload.readableBytes, open: job.copySegments))
        unitHasWaiters = true
        var done = job
        done.copySegments = []  // the effect releases them
        endRelocation(done)
        return max(1, budget - left)
    }

    /// Ends a relocation: its sources are no longer read; copies not handed to a commit record's
    /// effect are no longer held.
    private func endRelocation(_ job: Relocation) {
        relocation = nil
        if !job.copySegments.isEmpty { lock.withLock { releaseOpenMessage(job.copySegments) } }
        releaseReaders(Array(job.sourceSegments.values))
    }

    // MARK: Closing

    /// Writes what is left, flushes the head on the writer's descriptor, waits for the flushers,
    /// and stops.
    private func finishAtClose() {
        finishUnit(wantFlush: false)
        if let head {
            var failure: QueueIOError?
            if head.segment.failedAt == nil {
                do {
                    try QueueFile.syncData(head.descriptor, path: head.segment.slot.path, faults: options.faults)
                } catch {
                    failure = error
                }
            }
            lock.withLock {
                if failure == nil, head.segment.failedAt == nil {
                    durable = max(durable, JournalPosition(sequence: head.segment.sequence, offset: head.offset))
                } else {
                    markFailed(head.segment)
                }
            }
        }
        lock.lock()
        settleWaiters()
        while flushesInFlight > 0 {
            lock.wait(Wake.writer, nanoseconds: 10_000_000)
        }
        settleWaiters()
        let completions = readyToResume
        readyToResume.removeAll()
        for (key, open) in openMessages where open.failure == nil { openMessages[key]?.failure = MailQueueError(.closed, "the spool is closed") }
        writerDone = true
        lock.broadcast(Wake.flushers)
        lock.broadcast(Wake.maintenance)
        lock.unlock()
        resumeCollected(completions, [])
        head = nil
        lock.lock()
        runningThreads -= 1
        let completion = runningThreads == 0 ? closeCompletion : nil
        if runningThreads == 0 { closeCompletion = nil }
        lock.unlock()
        completion?.resume()
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import NIOCore

/// Recovery at start: reads every segment file and rebuilds the spool's index from the records.
///
/// 1. Each file's first record says what it is: a segment in use (with its sequence number), or a
///    free one. A file whose first record is unreadable is free: a segment gets its header in the
///    same flush as its first records, so an unreadable header means nothing in it was ever
///    acknowledged. Leftover `.segment-N.new` files (a preparation cut short) are deleted.
/// 2. Segments in use are scanned in sequence order, record by record, each header and payload
///    checked against its CRC-32C and its sequence number. Data records are noted; a commit record
///    is accepted only when every data record it lists was found intact before it, so a message
///    whose text is not all there never appears; status records update, remove records delete; a
///    later commit record for the same id (compaction) replaces the earlier one.
/// 3. Where a header is unreadable the scan looks for the next valid header at a 4 KiB boundary
///    (every flushed batch starts at one). Finding none, the rest is a torn tail — the batch whose
///    flush never returned — or unused space, and is ignored; finding one, the damaged stretch is
///    reported with its offsets and the scan goes on. A record whose header is valid but whose
///    payload is not is skipped by its length and reported.
enum JournalRecovery {
    struct Result {
        var entries: [UInt64: JournalEntry] = [:]
        var segments: [JournalSegment] = []
        var freeSlots: [SegmentSlot] = []
        var highestSequence: UInt64 = 0
        var highestQueueID: UInt64 = 0
        var nextSlotNumber = 1
        var report = Report()
    }

    /// What recovery found, for the log and for tests.
    struct Report {
        var segmentsScanned = 0
        var bytesScanned = 0
        /// Segments whose scan ended at a partly written batch.
        var tornTails = 0
        /// Damaged stretches in the middle of a segment, and damaged records.
        var damage: [String] = []
        /// Commit records dropped because their text was not all there.
        var incomplete: [String] = []
        var messages = 0
    }

    static func recover(journalPath: String, segmentSize: Int, logger: Logger) throws(QueueIOError) -> Result {
        var result = Result()
        var live: [(sequence: UInt64, slot: SegmentSlot, descriptor: Int32, size: Int)] = []
        var maxSlot = 0
        var failure: QueueIOError?
        for name in try QueueFile.list(journalPath).sorted() {
            let path = "\(journalPath)/\(name)"
            if name.hasPrefix("."), name.hasSuffix(".new") {
                unlink(path)
                continue
            }
            guard let number = SegmentSlot.number(ofName: name) else { continue }
            maxSlot = max(maxSlot, number)
            let slot = SegmentSlot(number: number, path: path)
            let descriptor: Int32
            do {
                descriptor = try QueueFile.openFile(path, O_RDONLY)
            } catch {
                failure = failure ?? error
                continue
            }
            var status = stat()
            fstat(descriptor, &status)
            let fileSize = Int(status.st_size)
            var first = [UInt8](repeating: 0, count: JournalRecord.blockSize)
            let count = (try? first.withUnsafeMutableBytes { (raw) throws(QueueIOError) in
                try QueueFile.read(descriptor, into: raw, at: 0, path: path)
            }) ?? 0
            let header = first.withUnsafeBytes { raw -> (JournalRecord, JournalCoding.SegmentHeader)? in
                guard count >= JournalRecord.headerSize, let record = try? JournalRecord.decodeHeader(raw),
                      record.kind == .segment || record.kind == .free,
                      record.payloadLength == JournalCoding.segmentHeaderPayloadLength,
                      count >= record.totalLength
                else { return nil }
                let payload = UnsafeRawBufferPointer(rebasing: raw[JournalRecord.headerSize..<record.totalLength])
                guard CRC32C.checksum(payload) == record.payloadCRC else { return nil }
                var buffer = ByteBuffer(bytes: payload)
                guard let segmentHeader = try? JournalCoding.decodeSegmentHeader(&buffer) else { return nil }
                return (record, segmentHeader)
            }
            if fileSize > 1 << 30 {
                // No segment is that large (the largest segment size is 1 GiB): not ours to read.
                result.report.damage.append("\(path): \(fileSize) octets, larger than any segment; not read")
                logger.error("spool segment file is larger than any segment; not read", metadata: ["file": "\(path)"])
                QueueFile.closeDescriptor(descriptor)
                continue
            }
            if let (record, segmentHeader) = header {
                result.highestSequence = max(result.highestSequence, record.sequence)
                result.highestQueueID = max(result.highestQueueID, segmentHeader.highestQueueID)
                if record.kind == .segment, segmentHeader.size == fileSize {
                    live.append((record.sequence, slot, descriptor, fileSize))
                    continue
                }
                if record.kind == .segment {
                    result.report.damage.append("\(path): header says \(segmentHeader.size) octets, the file has \(fileSize); not read")
                    logger.error("spool segment has the wrong size; not read", metadata: ["file": "\(path)"])
                    close(descriptor)
                    continue
                }
            } else if first.prefix(count).contains(where: { $0 != 0 }) {
                logger.notice("spool segment has no valid header (a first flush cut short); reusing it", metadata: ["file": "\(path)"])
            }
            close(descriptor)
            if fileSize == segmentSize {
                result.freeSlots.append(slot)
            } else {
                unlink(path)  // a free file of another size (the segment size was changed)
            }
        }
        if let failure, live.isEmpty, result.freeSlots.isEmpty { throw failure }
        result.nextSlotNumber = maxSlot + 1

        var scanner = Scanner(logger: logger)
        live.sort { $0.sequence < $1.sequence }
        for segment in live {
            do {
                try scanner.scan(sequence: segment.sequence, descriptor: segment.descriptor, size: segment.size, path: segment.slot.path)
            } catch {
                scanner.report.damage.append("\(segment.slot.path): \(error)")
                logger.error("spool segment could not be read", metadata: ["file": "\(segment.slot.path)", "error": "\(error)"])
            }
            result.segments.append(JournalSegment(
                sequence: segment.sequence, slot: segment.slot, readDescriptor: segment.descriptor, size: segment.size))
        }
        scanner.release()
        let fileProblems = result.report.damage
        result.entries = scanner.entries
        result.report = scanner.report
        result.report.damage = fileProblems + scanner.report.damage
        result.report.messages = scanner.entries.count
        for key in scanner.entries.keys { result.highestQueueID = max(result.highestQueueID, key) }
        result.highestQueueID = max(result.highestQueueID, scanner.highestKey)
        return result
    }

    /// The record-by-record scan, across segments in order.
    struct Scanner {
        let logger: Logger
        var entries: [UInt64: JournalEntry] = [:]
        /// Intact data records seen so far: position → (queue id, length).
        var data: [JournalPosition: (key: UInt64, length: Int)] = [:]
        var report = Report()
        var highestKey: UInt64 = 0
        private var buffer: UnsafeMutableRawBufferPointer?

        init(logger: Logger) {
            self.logger = logger
        }

        mutating func scan(sequence: UInt64, descriptor: Int32, size: Int, path: String) throws(QueueIOError) {
            if buffer == nil || buffer!.count < size {
                buffer?.deallocate()
                buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: JournalRecord.blockSize)
            }
            let bytes = UnsafeMutableRawBufferPointer(rebasing: buffer![0..<size])
            let count = try QueueFile.read(descriptor, into: bytes, at: 0, path: path)
            report.segmentsScanned += 1
            report.bytesScanned += count
            try scan(UnsafeRawBufferPointer(rebasing: bytes[0..<count]), sequence: sequence, path: path)
        }

        /// Scans one segment's bytes.
        mutating func scan(_ bytes: UnsafeRawBufferPointer, sequence: UInt64, path: String) throws(QueueIOError) {
            guard let first = try? JournalRecord.decodeHeader(bytes), first.kind == .segment else { return }
            var position = first.totalLength
            while position + JournalRecord.headerSize <= bytes.count {
                if let record = try? JournalRecord.decodeHeader(UnsafeRawBufferPointer(rebasing: bytes[position...])),
                   record.sequence == sequence, record.kind != .segment, record.kind != .free,
                   position + record.totalLength <= bytes.count
                {
                    if record.kind != .padding {
                        let payload = UnsafeRawBufferPointer(rebasing: bytes[(position + JournalRecord.headerSize)..<(position + record.totalLength)])
                        if CRC32C.checksum(payload) == record.payloadCRC {
                            process(record, payload, at: JournalPosition(sequence: sequence, offset: position), path: path)
                        } else if !anythingValid(bytes, after: position, length: record.totalLength, sequence: sequence) {
                            // The last record, its payload cut short: the torn tail.
                            report.tornTails += 1
                            logger.info("spool segment ends in a torn write (never acknowledged); ignored", metadata: ["file": "\(path)", "offset": "\(position)"])
                            return
                        } else {
                            let note = "\(path) offset \(position): \(record.kind) record of \(QueueID(rawValue: record.key)) fails its checksum; skipped"
                            report.damage.append(note)
                            logger.error("spool record damaged", metadata: ["file": "\(path)", "offset": "\(position)", "queue-id": "\(QueueID(rawValue: record.key))"])
                        }
                    }
                    position += record.totalLength
                    continue
                }
                // Lost our place: a torn tail, the end of what was written, or damage.
                let next = resynchronize(bytes, after: position, sequence: sequence)
                guard let next else {
                    if isTorn(bytes, at: position, sequence: sequence) {
                        report.tornTails += 1
                        logger.info("spool segment ends in a torn write (never acknowledged); ignored", metadata: ["file": "\(path)", "offset": "\(position)"])
                    }
                    return
                }
                let note = "\(path) offsets \(position)..<\(next) are unreadable; skipped"
                report.damage.append(note)
                logger.warning("spool segment has an unreadable stretch; skipped", metadata: ["file": "\(path)", "from": "\(position)", "to": "\(next)"])
                position = next
            }
        }

        /// Whether a valid record of this generation follows the record at `position`.
        private func anythingValid(_ bytes: UnsafeRawBufferPointer, after position: Int, length: Int, sequence: UInt64) -> Bool {
            let next = position + length
            if next + JournalRecord.headerSize <= bytes.count,
               let record = try? JournalRecord.decodeHeader(UnsafeRawBufferPointer(rebasing: bytes[next...])),
               record.sequence == sequence
            {
                return true
            }
            return resynchronize(bytes, after: position, sequence: sequence) != nil
        }

        /// The next 4 KiB boundary after `position` holding a valid header of this segment's
        /// generation, if any.
        private func resynchronize(_ bytes: UnsafeRawBufferPointer, after position: Int, sequence: UInt64) -> Int? {
            var candidate = (position / JournalRecord.blockSize + 1) * JournalRecord.blockSize
            while candidate + JournalRecord.headerSize <= bytes.count {
                if let record = try? JournalRecord.decodeHeader(UnsafeRawBufferPointer(rebasing: bytes[candidate...])),
                   record.sequence == sequence, record.kind != .segment, record.kind != .free,
                   candidate + record.totalLength <= bytes.count
                {
                    return candidate
                }
                candidate += JournalRecord.blockSize
            }
            return nil
        }

        /// Whether the scan stopped at a partly written record rather than at zeros (never written)
        /// or a record of an earlier use of the file.
        private func isTorn(_ bytes: UnsafeRawBufferPointer, at position: Int, sequence: UInt64) -> Bool {
            if let record = try? JournalRecord.decodeHeader(UnsafeRawBufferPointer(rebasing: bytes[position...])),
               record.sequence < sequence
            {
                return false
            }
            let end = min(bytes.count, position + JournalRecord.headerSize)
            return bytes[position..<end].contains { $0 != 0 }
        }

        private mutating func process(_ record: JournalRecord, _ payload: UnsafeRawBufferPointer, at position: JournalPosition, path: String) {
            highestKey = max(highestKey, record.key)
            let id = QueueID(rawValue: record.key)
            switch record.kind {
            case .data:
                data[position] = (record.key, record.payloadLength)
            case .commit:
                var buffer = ByteBuffer(bytes: payload)
                let commit: JournalCoding.Commit
                do {
                    commit = try JournalCoding.decodeCommit(&buffer)
                } catch {
                    report.damage.append("\(path) offset \(position.offset): commit record of \(id) does not decode: \(error)")
                    logger.error("spool commit record does not decode", metadata: ["queue-id": "\(id)", "error": "\(error)"])
                    return
                }
                for extent in commit.extents {
                    guard let found = data[JournalPosition(sequence: extent.sequence, offset: extent.offset)],
                          found.key == record.key, found.length == extent.length
                    else {
                        report.incomplete.append("\(id)")
                        logger.warning("spool message text is incomplete; the message was never acknowledged and is dropped", metadata: ["queue-id": "\(id)"])
                        return
                    }
                }
                entries[record.key] = JournalEntry(
                    envelope: commit.envelope, statuses: commit.statuses,
                    bodyLength: commit.bodyLength, extents: commit.extents, commit: position,
                    commitLength: record.totalLength, writtenAt: 0, acknowledgedAt: .zero)
            case .status:
                var buffer = ByteBuffer(bytes: payload)
                guard var entry = entries[record.key] else { return }
                do {
                    for (index, status) in try JournalCoding.decodeStatusChanges(&buffer) where index < entry.statuses.count {
                        entry.statuses[index] = status
                    }
                    entries[record.key] = entry
                } catch {
                    report.damage.append("\(path) offset \(position.offset): status record of \(id) does not decode: \(error)")
                }
            case .remove:
                entries.removeValue(forKey: record.key)
            case .segment, .free, .padding:
                break
            }
        }
    }
}

extension JournalRecovery.Scanner {
    /// Frees the scan buffer (the scanner is a value; call once when done).
    mutating func release() {
        buffer?.deallocate()
        buffer = nil
    }
}

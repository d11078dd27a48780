import Logging
import NIOCore

/// Recovery's scanner and the record decoders over arbitrary bytes, for a fuzzer (MailServerFuzz's
/// `journal` target). Whatever the bytes, recovery must neither crash nor hang, and what it
/// accepts must be whole: every message's data records add up to its length, one state per
/// recipient.
///
/// The input is read as a recipe for one segment, so that a fuzzer gets past the checksums: after
/// the segment header, records are taken from the input as `kind` (1 byte), `key` (1 byte),
/// `length` (2 bytes, little-endian) and that many payload bytes, each written as a valid record
/// of the segment — except kind values with the high bit set, whose bytes go in raw (a torn or
/// damaged stretch). An input whose first byte is `0xFF` is scanned as a raw segment instead.
package enum JournalFuzzing {
    /// Scans the segment the input describes; returns the number of messages recovery accepted.
    @discardableResult
    package static func scanSegment(_ input: UnsafeRawBufferPointer) -> Int {
        var segment: [UInt8]
        let sequence: UInt64 = 7
        if input.first == 0xFF {
            segment = Array(input.dropFirst())
        } else {
            segment = record(.segment, sequence: sequence, key: 0, payload: Array(JournalCoding.segmentHeaderPayload(.init(size: 1 << 20, highestQueueID: 0)).readableBytesView))
            var index = 0
            while index + 4 <= input.count {
                let kindByte = input[index]
                let key = UInt64(input[index + 1])
                let length = Int(input[index + 2]) | Int(input[index + 3]) << 8
                let end = min(input.count, index + 4 + length)
                let payload = Array(input[(index + 4)..<end])
                index = end
                if kindByte & 0x80 != 0 {
                    segment += payload
                } else if let kind = JournalRecord.Kind(rawValue: kindByte % 8) {
                    // Data records get an offset the commit records of the input can name: pad so
                    // that a data record with key k starts at a 4 KiB boundary when k is odd.
                    if kind == .data, key % 2 == 1 {
                        let gap = (JournalRecord.blockSize - segment.count % JournalRecord.blockSize) % JournalRecord.blockSize
                        if gap >= JournalRecord.headerSize {
                            segment += record(.padding, sequence: sequence, key: 0, payload: [UInt8](repeating: 0, count: gap - JournalRecord.headerSize))
                        }
                    }
                    segment += record(kind, sequence: sequence, key: key, payload: payload)
                }
            }
        }
        var scanner = JournalRecovery.Scanner(logger: Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() })
        segment.withUnsafeBytes { bytes in
            try? scanner.scan(bytes, sequence: sequence, path: "fuzz")
        }
        scanner.release()
        for entry in scanner.entries.values {
            precondition(entry.extents.reduce(0) { $0 + $1.length } == entry.bodyLength, "a message's text does not add up")
            precondition(entry.statuses.count == entry.envelope.recipients.count, "a state per recipient")
            precondition(entry.extents.allSatisfy { $0.sequence == sequence && $0.offset + $0.length <= segment.count }, "text outside the segment")
        }
        return scanner.entries.count
    }

    private static func record(_ kind: JournalRecord.Kind, sequence: UInt64, key: UInt64, payload: [UInt8]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: JournalRecord.headerSize + payload.count)
        bytes.withUnsafeMutableBytes { raw in
            let crc = payload.withUnsafeBytes { CRC32C.checksum($0) }
            JournalRecord(kind: kind, payloadLength: payload.count, payloadCRC: crc, sequence: sequence, key: key).encodeHeader(into: raw)
        }
        bytes.replaceSubrange(JournalRecord.headerSize..., with: payload)
        return bytes
    }

    /// Every payload decoder over the same arbitrary bytes: each either throws its typed error or
    /// returns something consistent.
    package static func decodeRecords(_ input: UnsafeRawBufferPointer) {
        _ = try? JournalRecord.decodeHeader(input)
        var buffer = ByteBuffer(bytes: input)
        if let commit = try? JournalCoding.decodeCommit(&buffer) {
            precondition(commit.extents.reduce(0) { $0 + $1.length } == commit.bodyLength, "a commit's text does not add up")
            precondition(commit.statuses.count == commit.envelope.recipients.count, "a state per recipient")
        }
        buffer = ByteBuffer(bytes: input)
        _ = try? JournalCoding.decodeStatusChanges(&buffer)
        buffer = ByteBuffer(bytes: input)
        if let envelope = try? JournalCoding.decodeEnvelope(&buffer) {
            // What decodes must encode to something that decodes to the same envelope.
            precondition(JournalCoding.roundTrips(envelope), "a decoded envelope does not round-trip")
        }
        buffer = ByteBuffer(bytes: input)
        _ = try? JournalCoding.decodeSegmentHeader(&buffer)
    }
}

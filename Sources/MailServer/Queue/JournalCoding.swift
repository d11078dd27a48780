import NIOCore
import SMTPProtocol

/// A payload that does not decode: the record is valid (its checksum matched) but its contents are
/// not what this version writes — a newer format, or a bug.
struct JournalDecodingError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Encodes and decodes the payloads of journal records. Strings are a 32-bit length and UTF-8;
/// optionals a presence byte; integers little-endian. The envelope is kept as the SMTP command
/// lines that carry it (`MAIL FROM:<…> params`, `RCPT TO:<…> params`, RFC 5321 §4.1.1.2–3),
/// written by SMTPProtocol's encoder and read back by its parser, so that every parameter the
/// protocol module knows — now or later — round-trips without a second grammar here.
enum JournalCoding {
    static let formatVersion: UInt8 = 1

    // MARK: Envelope

    static func encode(_ envelope: QueueEnvelope, into buffer: inout ByteBuffer) {
        buffer.writeInteger(formatVersion)
        writeString(commandLine(.mail(envelope.reversePath, envelope.mailParameters)), into: &buffer)
        buffer.writeInteger(UInt32(envelope.recipients.count), endianness: .little)
        for recipient in envelope.recipients {
            writeString(commandLine(.recipient(recipient.path, recipient.parameters)), into: &buffer)
        }
        buffer.writeInteger(envelope.receivedAt.millisecondsSince1970, endianness: .little)
        let client = envelope.client
        writeOptional(client.address, into: &buffer)
        writeOptional(client.hostName, into: &buffer)
        writeOptional(client.heloName, into: &buffer)
        writeString(client.protocolName, into: &buffer)
        writeOptional(client.authenticatedUser, into: &buffer)
        writeOptional(client.tls, into: &buffer)
    }

    static func decodeEnvelope(_ buffer: inout ByteBuffer) throws(JournalDecodingError) -> QueueEnvelope {
        guard let version: UInt8 = buffer.readInteger(), version == formatVersion else {
            throw JournalDecodingError("envelope format version is not \(formatVersion)")
        }
        let mail = try readString(&buffer)
        guard case .mail(let reversePath, let parameters) = try parse(mail) else {
            throw JournalDecodingError("the stored MAIL command does not parse as MAIL")
        }
        let count = try readCount(&buffer, limit: min(1_000_000, buffer.readableBytes / 4))
        var recipients: [SMTPEnvelope.Recipient] = []
        recipients.reserveCapacity(count)
        for _ in 0..<count {
            guard case .recipient(let path, let rcptParameters) = try parse(try readString(&buffer)) else {
                throw JournalDecodingError("a stored RCPT command does not parse as RCPT")
            }
            recipients.append(SMTPEnvelope.Recipient(path, parameters: rcptParameters))
        }
        guard let received: Int64 = buffer.readInteger(endianness: .little) else { throw truncated }
        var client = QueueEnvelope.Client()
        client.address = try readOptional(&buffer)
        client.hostName = try readOptional(&buffer)
        client.heloName = try readOptional(&buffer)
        client.protocolName = try readString(&buffer)
        client.authenticatedUser = try readOptional(&buffer)
        client.tls = try readOptional(&buffer)
        return QueueEnvelope(
            reversePath: reversePath, mailParameters: parameters, recipients: recipients, client: client,
            receivedAt: QueueTimestamp(millisecondsSince1970: received))
    }

    private static func commandLine(_ command: SMTPCommand) -> String {
        var text = command.encoded
        if text.hasSuffix("\r\n") { text.removeLast(1) }  // "\r\n" is one Character
        return text
    }

    private static func parse(_ line: String) throws(JournalDecodingError) -> SMTPCommand {
        do {
            return try SMTPCommand.parse(Substring(line))
        } catch {
            throw JournalDecodingError("stored command \"\(line.prefix(80))\" does not parse: \(error)")
        }
    }

    /// Whether the envelope survives the trip through its command lines unchanged (it does for
    /// anything SMTPProtocol parsed; a programmatically built path with characters the grammar
    /// refuses does not).
    static func roundTrips(_ envelope: QueueEnvelope) -> Bool {
        var buffer = ByteBuffer()
        encode(envelope, into: &buffer)
        return (try? decodeEnvelope(&buffer)) == envelope
    }

    // MARK: Recipient status

    static func encode(_ status: QueueRecipientStatus, into buffer: inout ByteBuffer) {
        switch status.disposition {
        case .pending:
            buffer.writeInteger(UInt8(0))
            buffer.writeInteger(Int64(0), endianness: .little)
        case .deferred(let next):
            buffer.writeInteger(UInt8(1))
            buffer.writeInteger(next.millisecondsSince1970, endianness: .little)
        case .delivered:
            buffer.writeInteger(UInt8(2))
            buffer.writeInteger(Int64(0), endianness: .little)
        case .failed:
            buffer.writeInteger(UInt8(3))
            buffer.writeInteger(Int64(0), endianness: .little)
        }
        buffer.writeInteger(UInt32(clamping: status.attempts), endianness: .little)
        if let last = status.lastAttempt {
            buffer.writeInteger(UInt8(1))
            buffer.writeInteger(last.millisecondsSince1970, endianness: .little)
        } else {
            buffer.writeInteger(UInt8(0))
        }
        writeOptional(status.reply, into: &buffer)
        writeOptional(status.remoteMTA, into: &buffer)
        buffer.writeInteger(UInt8((status.delayNotified ? 1 : 0) | (status.finalNotified ? 2 : 0)))
    }

    static func decodeStatus(_ buffer: inout ByteBuffer) throws(JournalDecodingError) -> QueueRecipientStatus {
        guard let kind: UInt8 = buffer.readInteger(), let time: Int64 = buffer.readInteger(endianness: .little),
              let attempts: UInt32 = buffer.readInteger(endianness: .little), let hasLast: UInt8 = buffer.readInteger()
        else { throw truncated }
        var status = QueueRecipientStatus()
        switch kind {
        case 0: status.disposition = .pending
        case 1: status.disposition = .deferred(nextAttempt: QueueTimestamp(millisecondsSince1970: time))
        case 2: status.disposition = .delivered
        case 3: status.disposition = .failed
        default: throw JournalDecodingError("unknown recipient disposition \(kind)")
        }
        status.attempts = Int(attempts)
        if hasLast == 1 {
            guard let last: Int64 = buffer.readInteger(endianness: .little) else { throw truncated }
            status.lastAttempt = QueueTimestamp(millisecondsSince1970: last)
        }
        status.reply = try readOptional(&buffer)
        status.remoteMTA = try readOptional(&buffer)
        guard let flags: UInt8 = buffer.readInteger() else { throw truncated }
        status.delayNotified = flags & 1 != 0
        status.finalNotified = flags & 2 != 0
        return status
    }

    // MARK: Records

    /// A commit record's payload: the envelope (already encoded by the session), the recipients'
    /// states, the text's length and the list of its data records.
    static func commitPayload(
        encodedEnvelope: ByteBuffer, statuses: [QueueRecipientStatus], bodyLength: Int, extents: [JournalExtent]
    ) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(encodedEnvelope.readableBytes + 64 + statuses.count * 24 + extents.count * 16)
        buffer.writeInteger(formatVersion)
        buffer.writeInteger(UInt32(encodedEnvelope.readableBytes), endianness: .little)
        buffer.writeImmutableBuffer(encodedEnvelope)
        buffer.writeInteger(UInt32(statuses.count), endianness: .little)
        for status in statuses { encode(status, into: &buffer) }
        buffer.writeInteger(UInt64(bodyLength), endianness: .little)
        buffer.writeInteger(UInt32(extents.count), endianness: .little)
        for extent in extents {
            buffer.writeInteger(extent.sequence, endianness: .little)
            buffer.writeInteger(UInt32(extent.offset), endianness: .little)
            buffer.writeInteger(UInt32(extent.length), endianness: .little)
        }
        return buffer
    }

    /// What a commit record holds.
    struct Commit {
        var envelope: QueueEnvelope
        var statuses: [QueueRecipientStatus]
        var bodyLength: Int
        var extents: [JournalExtent]
    }

    static func decodeCommit(_ buffer: inout ByteBuffer) throws(JournalDecodingError) -> Commit {
        guard let version: UInt8 = buffer.readInteger(), version == formatVersion else {
            throw JournalDecodingError("commit format version is not \(formatVersion)")
        }
        let envelopeLength = try readCount(&buffer, limit: buffer.readableBytes)
        guard var envelopeBytes = buffer.readSlice(length: envelopeLength) else { throw truncated }
        let envelope = try decodeEnvelope(&envelopeBytes)
        let statusCount = try readCount(&buffer, limit: min(1_000_000, buffer.readableBytes / statusMinimumSize))
        var statuses: [QueueRecipientStatus] = []
        statuses.reserveCapacity(statusCount)
        for _ in 0..<statusCount { statuses.append(try decodeStatus(&buffer)) }
        guard statuses.count == envelope.recipients.count else {
            throw JournalDecodingError("\(statuses.count) recipient states for \(envelope.recipients.count) recipients")
        }
        guard let bodyLength: UInt64 = buffer.readInteger(endianness: .little) else { throw truncated }
        let extentCount = try readCount(&buffer, limit: buffer.readableBytes / 16)
        var extents: [JournalExtent] = []
        extents.reserveCapacity(extentCount)
        var total: UInt64 = 0
        for _ in 0..<extentCount {
            guard let sequence: UInt64 = buffer.readInteger(endianness: .little),
                  let offset: UInt32 = buffer.readInteger(endianness: .little),
                  let length: UInt32 = buffer.readInteger(endianness: .little)
            else { throw truncated }
            extents.append(JournalExtent(sequence: sequence, offset: Int(offset), length: Int(length)))
            total += UInt64(length)
        }
        guard total == bodyLength else {
            throw JournalDecodingError("data records hold \(total) octets, the commit says \(bodyLength)")
        }
        return Commit(envelope: envelope, statuses: statuses, bodyLength: Int(bodyLength), extents: extents)
    }

    /// A status record's payload: recipient index and new state, for each recipient that changed.
    static func statusPayload(_ changes: [(Int, QueueRecipientStatus)]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(formatVersion)
        buffer.writeInteger(UInt32(changes.count), endianness: .little)
        for (index, status) in changes {
            buffer.writeInteger(UInt32(index), endianness: .little)
            encode(status, into: &buffer)
        }
        return buffer
    }

    static func decodeStatusChanges(_ buffer: inout ByteBuffer) throws(JournalDecodingError) -> [(Int, QueueRecipientStatus)] {
        guard let version: UInt8 = buffer.readInteger(), version == formatVersion else {
            throw JournalDecodingError("status format version is not \(formatVersion)")
        }
        let count = try readCount(&buffer, limit: min(1_000_000, buffer.readableBytes / (4 + statusMinimumSize)))
        var changes: [(Int, QueueRecipientStatus)] = []
        for _ in 0..<count {
            guard let index: UInt32 = buffer.readInteger(endianness: .little) else { throw truncated }
            changes.append((Int(index), try decodeStatus(&buffer)))
        }
        return changes
    }

    /// What a segment's first record says.
    struct SegmentHeader {
        /// The segment file's size.
        var size: Int
        /// The highest queue id issued when the record was written.
        var highestQueueID: UInt64
    }

    static let segmentHeaderPayloadLength = 16

    static func segmentHeaderPayload(_ header: SegmentHeader) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt64(header.size), endianness: .little)
        buffer.writeInteger(header.highestQueueID, endianness: .little)
        return buffer
    }

    static func decodeSegmentHeader(_ buffer: inout ByteBuffer) throws(JournalDecodingError) -> SegmentHeader {
        guard let size: UInt64 = buffer.readInteger(endianness: .little),
              let highest: UInt64 = buffer.readInteger(endianness: .little)
        else { throw truncated }
        guard size <= 1 << 40 else { throw JournalDecodingError("segment size \(size) is out of range") }
        return SegmentHeader(size: Int(size), highestQueueID: highest)
    }

    // MARK: Primitives

    /// The fewest octets an encoded recipient status takes (a count read from a record is never
    /// trusted beyond what the record could hold).
    private static let statusMinimumSize = 1 + 8 + 4 + 1 + 1 + 1 + 1

    private static let truncated = JournalDecodingError("record payload ends early")

    private static func writeString(_ text: String, into buffer: inout ByteBuffer) {
        let count = text.utf8.count
        buffer.writeInteger(UInt32(count), endianness: .little)
        buffer.writeString(text)
    }

    private static func writeOptional(_ text: String?, into buffer: inout ByteBuffer) {
        if let text {
            buffer.writeInteger(UInt8(1))
            writeString(text, into: &buffer)
        } else {
            buffer.writeInteger(UInt8(0))
        }
    }

    private static func readCount(_ buffer: inout ByteBuffer, limit: Int) throws(JournalDecodingError) -> Int {
        guard let count: UInt32 = buffer.readInteger(endianness: .little) else { throw truncated }
        guard Int(count) <= limit else { throw JournalDecodingError("count \(count) is out of range") }
        return Int(count)
    }

    private static func readString(_ buffer: inout ByteBuffer) throws(JournalDecodingError) -> String {
        let count = try readCount(&buffer, limit: buffer.readableBytes)
        guard let bytes = buffer.readSlice(length: count) else { throw truncated }
        guard let text = String(validating: bytes.readableBytesView, as: UTF8.self) else {
            throw JournalDecodingError("a stored string is not UTF-8")
        }
        return text
    }

    private static func readOptional(_ buffer: inout ByteBuffer) throws(JournalDecodingError) -> String? {
        guard let present: UInt8 = buffer.readInteger() else { throw truncated }
        switch present {
        case 0: return nil
        case 1: return try readString(&buffer)
        default: throw JournalDecodingError("bad presence byte \(present)")
        }
    }
}

/// The on-disk form of one journal record: a 32-byte header, then the payload.
///
/// ```
/// offset size
///  0     2    magic "SQ" (0x5153, little-endian)
///  2     1    type (JournalRecord.Kind)
///  3     1    format version (1)
///  4     4    payload length
///  8     4    payload CRC-32C (0 for padding, whose payload is not checked)
/// 12     4    header CRC-32C, over these 32 bytes with this field zero
/// 16     8    segment sequence number: the generation of the segment the record was written into
/// 24     8    key: the queue id of the message the record concerns (0 for segment records)
/// ```
///
/// All integers are little-endian. The sequence number ties a record to one use of its segment
/// file: a recycled segment still holds older records, and they carry an older number, so a scan
/// never mistakes them for new ones. The header has its own checksum so that a record whose
/// payload is damaged can be skipped by its (trusted) length, and a scan that lost its place can
/// look for the next valid header at a 4 KiB boundary, where every flushed batch begins.
struct JournalRecord {
    /// What a record says.
    enum Kind: UInt8 {
        /// Offset 0 of a segment in use: the segment's sequence number and its size.
        case segment = 1
        /// Offset 0 of a segment not in use; the sequence field holds the highest number used so far.
        case free = 2
        /// Message text, a piece at a time, written as it arrives.
        case data = 3
        /// A message's envelope, recipient states and the list of its data records: the record whose
        /// flush makes the message durable. A later commit record for the same key (a message
        /// relocated by compaction) replaces the earlier one.
        case commit = 4
        /// New states for some recipients of a message.
        case status = 5
        /// The message is gone (delivered, bounced or removed).
        case remove = 6
        /// Fills the rest of a 4 KiB block before a flush.
        case padding = 7
    }

    static let headerSize = 32
    static let magic: UInt16 = 0x5153
    static let version: UInt8 = 1
    /// Flushed batches begin at multiples of this.
    static let blockSize = 4096

    var kind: Kind
    var payloadLength: Int
    var payloadCRC: UInt32
    var sequence: UInt64
    var key: UInt64

    /// Writes the header into `bytes` (at least 32 bytes).
    func encodeHeader(into bytes: UnsafeMutableRawBufferPointer) {
        bytes.storeBytes(of: Self.magic.littleEndian, toByteOffset: 0, as: UInt16.self)
        bytes.storeBytes(of: kind.rawValue, toByteOffset: 2, as: UInt8.self)
        bytes.storeBytes(of: Self.version, toByteOffset: 3, as: UInt8.self)
        bytes.storeBytes(of: UInt32(payloadLength).littleEndian, toByteOffset: 4, as: UInt32.self)
        bytes.storeBytes(of: payloadCRC.littleEndian, toByteOffset: 8, as: UInt32.self)
        bytes.storeBytes(of: UInt32(0), toByteOffset: 12, as: UInt32.self)
        bytes.storeBytes(of: sequence.littleEndian, toByteOffset: 16, as: UInt64.self)
        bytes.storeBytes(of: key.littleEndian, toByteOffset: 24, as: UInt64.self)
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[0..<Self.headerSize]))
        bytes.storeBytes(of: crc.littleEndian, toByteOffset: 12, as: UInt32.self)
    }

    /// Why a header could not be read.
    enum HeaderProblem: Error {
        /// Not a header at all (zeros, other data, a torn write).
        case invalid
    }

    /// Reads and checks a header: magic, version, known type and header checksum.
    static func decodeHeader(_ bytes: UnsafeRawBufferPointer) throws(HeaderProblem) -> JournalRecord {
        guard bytes.count >= headerSize,
              UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt16.self)) == magic,
              bytes[3] == version,
              let kind = Kind(rawValue: bytes[2])
        else { throw .invalid }
        let stored = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
        var copy = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        let computed = withUnsafeMutableBytes(of: &copy) { scratch in
            scratch.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[0..<headerSize]))
            scratch.storeBytes(of: UInt32(0), toByteOffset: 12, as: UInt32.self)
            return CRC32C.checksum(UnsafeRawBufferPointer(scratch))
        }
        guard stored == computed else { throw .invalid }
        return JournalRecord(
            kind: kind,
            payloadLength: Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self))),
            payloadCRC: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)),
            sequence: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self)),
            key: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self)))
    }

    /// The total size of the record on disk.
    var totalLength: Int { Self.headerSize + payloadLength }
}

/// Where a record is: its segment's sequence number and its offset in the segment, packed so that
/// positions compare in journal order (segment numbers only grow).
struct JournalPosition: Hashable, Comparable {
    var sequence: UInt64
    var offset: Int

    static let zero = JournalPosition(sequence: 0, offset: 0)

    static func < (lhs: JournalPosition, rhs: JournalPosition) -> Bool {
        (lhs.sequence, lhs.offset) < (rhs.sequence, rhs.offset)
    }
}

/// One data record of a message: where it is and how many octets of text it holds.
struct JournalExtent: Hashable {
    var sequence: UInt64
    var offset: Int
    var length: Int
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A segment file of the journal: a fixed name (`segment-000042`) and a fixed size, written once
/// with zeros when it is made, so that writing into it never allocates blocks and `fdatasync` has
/// no metadata to commit.
struct SegmentSlot: Hashable {
    /// The number in the file name; it says nothing about the order of use.
    var number: Int
    /// The file's path.
    var path: String

    static let prefix = "segment-"

    static func name(_ number: Int) -> String {
        let digits = String(number)
        return prefix + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }

    /// The slot number of a segment file name, or `nil` for other names.
    static func number(ofName name: String) -> Int? {
        guard name.hasPrefix(prefix), let number = Int(name.dropFirst(prefix.count)), number > 0 else { return nil }
        return number
    }
}

/// One use of a segment file — a generation, numbered by ``sequence`` — and what the journal knows
/// about it: which live messages have records in it (its pins), whether bodies are being read from
/// it, and from which journal position on it holds nothing live. Fields other than the constants are
/// guarded by the journal's lock.
final class JournalSegment: @unchecked Sendable {
    let sequence: UInt64
    let slot: SegmentSlot
    /// Opened read-only for body reads and compaction; closed when the segment is retired.
    let readDescriptor: Int32
    let size: Int

    /// Live messages whose commit record or text is in this segment.
    var keys: Set<UInt64> = []
    /// The octets of those records in this segment.
    var liveBytes = 0
    /// Body streams reading from this segment.
    var readers = 0
    /// Messages whose text is (partly) here and whose commit record is not written yet.
    var openMessages = 0
    /// The position of the record that removed the last live message from this segment: once it
    /// is durable, the segment holds nothing that recovery needs.
    var deadAt = JournalPosition.zero
    /// Whether records are still appended to this segment.
    var isHead = false
    /// Set when a flush of this segment failed: nothing written after this position is trusted,
    /// and the writer moves to another segment.
    var failedAt: JournalPosition?

    init(sequence: UInt64, slot: SegmentSlot, readDescriptor: Int32, size: Int) {
        self.sequence = sequence
        self.slot = slot
        self.readDescriptor = readDescriptor
        self.size = size
    }

    func closeDescriptor() {
        close(readDescriptor)
    }
}

/// The descriptors flushers use for one head segment: one each, opened before anything is written
/// to the segment, so that every flusher's `fdatasync` reports a write-back error that happens
/// later (Linux reports such an error once to each open file description). Closed when the last
/// flush job holding them is done.
final class FlushDescriptors: @unchecked Sendable {
    let descriptors: [Int32]

    init(descriptors: [Int32]) {
        self.descriptors = descriptors
    }

    deinit {
        for descriptor in descriptors { QueueFile.closeDescriptor(descriptor) }
    }
}

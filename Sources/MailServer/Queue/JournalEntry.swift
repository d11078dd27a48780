/// What the journal knows of one live message: its envelope, its recipients' states, where its
/// commit record and its text are, and which segments those lie in (its pins, with the octets in
/// each).
struct JournalEntry {
    var envelope: QueueEnvelope
    var statuses: [QueueRecipientStatus]
    var bodyLength: Int
    var extents: [JournalExtent]
    /// The commit record in force.
    var commit: JournalPosition
    /// Octets of the commit record.
    var commitLength: Int

    /// Where the commit record ends: the message is durable once the journal is durable up to here.
    var commitEnd: JournalPosition { JournalPosition(sequence: commit.sequence, offset: commit.offset + commitLength) }
    /// Monotonic nanoseconds when the commit record was written (compaction leaves young messages).
    var writtenAt: UInt64
    /// Where the message's first commit record ends: once the journal is durable to here, the
    /// message is acknowledged and visible, wherever compaction moves it later.
    var acknowledgedAt: JournalPosition

    /// The segments this message has records in, with the octets of its records in each.
    var pins: [(sequence: UInt64, bytes: Int)] {
        var result: [(sequence: UInt64, bytes: Int)] = [(commit.sequence, commitLength)]
        for extent in extents {
            let bytes = extent.length + JournalRecord.headerSize
            if let index = result.firstIndex(where: { $0.sequence == extent.sequence }) {
                result[index].bytes += bytes
            } else {
                result.append((extent.sequence, bytes))
            }
        }
        return result
    }

    var message: (QueueID) -> QueuedMessage {
        { id in QueuedMessage(id: id, envelope: envelope, recipients: statuses, size: bodyLength) }
    }
}

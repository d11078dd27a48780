extension MailQueue {
    /// How the spool lays out its journal and how much it buffers. The defaults suit a server;
    /// tests use small segments.
    public struct Configuration: Sendable {
        /// The size of each journal segment file, a multiple of 4 KiB (default 32 MiB). Segment files
        /// are made at full size ahead of use and reused; a message larger than a segment spans several.
        public var segmentSize: Int = 32 << 20
        /// How many flushes may be in flight at once (default 4). On disks that overlap flushes this
        /// raises the commit rate well above one flush's latency.
        public var flushers: Int = 4
        /// A message's text is handed to the journal writer in pieces of this size (default 64 KiB).
        public var chunkSize: Int = 64 << 10
        /// How much of one message's text may wait for the writer before its writer's `append`
        /// waits (default 256 KiB): the bound on memory per message being received.
        public var bufferedBytesPerMessage: Int = 256 << 10
        /// Segment files kept ready ahead of need (default 1).
        public var spareSegments: Int = 1
        /// Retired segment files kept for reuse beyond the spares before they are deleted (default 4).
        public var freeSegmentsKept: Int = 4
        /// Compaction copies the live messages out of the oldest segment once they fill at most
        /// this fraction of it (default 0.25), so that it can be reused.
        public var compactionThreshold: Double = 0.25
        /// Threads that read message text for ``MailQueue/body(of:)`` (default 2).
        public var readThreads: Int = 2
        /// Failures to inject, for tests of a failing disk.
        package var faults: QueueFaultInjection?

        /// The defaults.
        public init() {}

        /// The settings, checked.
        func checked(path: String) throws(MailQueueError) -> Journal.Options {
            guard segmentSize >= 16 * JournalRecord.blockSize, segmentSize % JournalRecord.blockSize == 0, segmentSize <= 1 << 30 else {
                throw MailQueueError(.invalidUse, "spool \(path): segment size \(segmentSize) must be a multiple of 4 KiB between 64 KiB and 1 GiB")
            }
            guard (1...64).contains(flushers), (1...64).contains(readThreads), spareSegments >= 1, freeSegmentsKept >= 0 else {
                throw MailQueueError(.invalidUse, "spool \(path): flushers and read threads must be 1 to 64, spares at least 1")
            }
            guard chunkSize >= 512, chunkSize <= segmentSize / 8, bufferedBytesPerMessage >= chunkSize else {
                throw MailQueueError(.invalidUse, "spool \(path): chunk size must be 512 octets to an eighth of a segment, and buffered bytes at least one chunk")
            }
            guard compactionThreshold >= 0, compactionThreshold <= 1 else {
                throw MailQueueError(.invalidUse, "spool \(path): compaction threshold must be between 0 and 1")
            }
            return Journal.Options(
                segmentSize: segmentSize, flushers: flushers, chunkSize: chunkSize,
                bufferedBytesPerMessage: bufferedBytesPerMessage, spareSegments: spareSegments,
                freeSegmentsKept: freeSegmentsKept, compactionThreshold: Int(compactionThreshold * Double(segmentSize)),
                faults: faults)
        }
    }

    /// Counters since the spool was opened.
    public struct Statistics: Hashable, Sendable {
        /// Messages committed (acknowledged or about to be).
        public var commits = 0
        /// Messages removed.
        public var removals = 0
        /// Flushes (`fdatasync`) completed by the flushers: with group commit, far fewer than commits.
        public var flushes = 0
        /// The time those flushes took, together.
        public var flushTime: Duration = .zero
        /// Octets written to segments, padding included.
        public var bytesWritten = 0
        /// Octets of padding written to start each flushed batch on a 4 KiB boundary.
        public var paddingBytes = 0
        /// Messages copied out of old segments by compaction.
        public var relocations = 0
        /// Segment files made.
        public var segmentsCreated = 0
        /// Segments taken into use as the head.
        public var segmentsUsed = 0
        /// Segments retired (emptied, marked free, reused or deleted).
        public var segmentsRetired = 0
        /// Segments abandoned after a failed write or flush.
        public var failedSegments = 0
        /// Messages in the spool now.
        public var messages = 0
        /// Segments holding live records now.
        public var liveSegments = 0
    }

    /// What recovery found when the spool was opened.
    public struct RecoveryReport: Hashable, Sendable {
        /// Messages recovered.
        public var messages: Int
        /// Segments read.
        public var segmentsScanned: Int
        /// The octets read from those segments.
        public var bytesScanned: Int
        /// Segments whose last batch was cut short by the crash (never acknowledged; ignored).
        public var tornTails: Int
        /// Damaged records and stretches in the middle of segments (each named with file and offset).
        public var damage: [String]
        /// Messages whose commit record was found but not all of their text (never acknowledged; dropped).
        public var incomplete: [String]
    }
}

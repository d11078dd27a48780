import MailServer

/// The fuzz targets of the spool's readers of disk contents — MailServer's recovery scan and
/// record decoders: whatever a damaged or hostile spool holds, recovery must neither crash nor
/// hang, and what it accepts must be whole. Selected by name (`SWIFTMTA_FUZZ_TARGET` when fuzzing,
/// the first argument when replaying files).
enum FuzzTargets {
    static let all: [String: @Sendable (UnsafeRawBufferPointer) -> Void] = [
        "journal": { JournalFuzzing.scanSegment($0) },
        "records": { JournalFuzzing.decodeRecords($0) },
    ]
}

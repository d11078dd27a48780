import Foundation
@testable import MailServer
import NIOCore
import Testing
import TestSupport

@Suite("Spool recovery: torn tails, damaged records, leftovers")
struct QueueRecoveryTests {
    /// A closed spool holding `count` messages, each committed alone (so each in its own flushed
    /// batch, starting at a 4 KiB boundary), and the messages.
    static func spool(_ directory: TemporaryDirectory, count: Int = 5) async throws -> (String, [(QueueID, String)]) {
        let spool = directory.file("spool")
        let queue = try await QueueFixture.open(spool)
        var messages: [(QueueID, String)] = []
        for index in 0..<count {
            let text = QueueFixture.message("m\(index)", size: 700 + index * 100)
            messages.append((try await QueueFixture.commit(queue, text, pieces: 1), text))
        }
        await queue.close()
        return (spool, messages)
    }

    static func expectAll(_ messages: [(QueueID, String)], in queue: MailQueue, except missing: Set<QueueID> = []) async throws {
        #expect(queue.list().map(\.id) == messages.map(\.0).filter { !missing.contains($0) })
        for (id, text) in messages where !missing.contains(id) {
            #expect(try await QueueFixture.text(id, in: queue) == text)
        }
    }

    /// What a crash can leave after the last acknowledged record of the head segment.
    enum Tail: String, CaseIterable {
        case nothing
        case garbageSector
        case halfHeader
        case dataThenHalfCommit
        case commitWithoutItsData
        case commitWithWrongData
    }

    @Test("A torn tail is ignored and every acknowledged message is found", arguments: Tail.allCases)
    func tornTail(tail: Tail) async throws {
        let directory = try TemporaryDirectory(prefix: "swiftmta-recovery")
        let (spool, messages) = try await Self.spool(directory)
        let (path, sequence) = try #require(try QueueFixture.liveSegments(spool).last)
        let records = try QueueFixture.records(in: path)
        let end = try #require(records.last.map { $0.offset + $0.record.totalLength })
        let key = messages.last!.0.rawValue + 1
        let text = Array(QueueFixture.message("unacknowledged").utf8)
        let dataRecord = QueueFixture.recordBytes(.data, sequence: sequence, key: key, payload: text)
        func commitRecord(extentOffset: Int) throws -> [UInt8] {
            var encoded = ByteBuffer()
            JournalCoding.encode(try QueueFixture.envelope(), into: &encoded)
            let payload = JournalCoding.commitPayload(
                encodedEnvelope: encoded, statuses: [.pending], bodyLength: text.count,
                extents: [JournalExtent(sequence: sequence, offset: extentOffset, length: text.count)])
            return QueueFixture.recordBytes(.commit, sequence: sequence, key: key, payload: Array(payload.readableBytesView))
        }
        var expectTorn = 1
        var expectIncomplete = 0
        var expectDamage = 0
        switch tail {
        case .nothing:
            expectTorn = 0
        case .garbageSector:
            var generator = SystemRandomNumberGenerator()
            try QueueFixture.patch(path, at: end, (0..<512).map { _ in UInt8.random(in: 1...255, using: &generator) })
        case .halfHeader:
            try QueueFixture.patch(path, at: end, Array(dataRecord.prefix(17)))
        case .dataThenHalfCommit:
            let commit = try commitRecord(extentOffset: end)
            try QueueFixture.patch(path, at: end, dataRecord + commit.prefix(commit.count / 2))
        case .commitWithoutItsData:
            // The data record's place holds zeros — its write never reached the disk — while a
            // later batch, starting at the next 4 KiB boundary, holds the commit record.
            let commit = try commitRecord(extentOffset: end)
            let boundary = (end + dataRecord.count + JournalRecord.blockSize - 1) / JournalRecord.blockSize * JournalRecord.blockSize
            try QueueFixture.patch(path, at: boundary, commit)
            expectTorn = 0
            expectIncomplete = 1
            expectDamage = 1
        case .commitWithWrongData:
            var damaged = dataRecord
            damaged[JournalRecord.headerSize + 10] ^= 0xFF
            try QueueFixture.patch(path, at: end, damaged + (try commitRecord(extentOffset: end)))
            expectTorn = 0
            expectIncomplete = 1
            expectDamage = 1
        }
        let queue = try await QueueFixture.open(spool)
        #expect(queue.recoveryReport.tornTails == expectTorn)
        #expect(queue.recoveryReport.incomplete.count == expectIncomplete)
        #expect(queue.recoveryReport.damage.count == expectDamage)
        #expect(queue.message(QueueID(rawValue: key)) == nil)
        try await Self.expectAll(messages, in: queue)
        // The spool goes on from a new segment and keeps all of it.
        let next = try await QueueFixture.commit(queue, "Subject: after\r\n\r\n")
        #expect(next.rawValue > key)
        await queue.close()
        let reopened = try await QueueFixture.open(spool)
        try await Self.expectAll(messages + [(next, "Subject: after\r\n\r\n")], in: reopened)
        await reopened.close()
    }

    @Test("A damaged payload in the middle loses only its message, and says so")
    func damagedPayload() async throws {
        let directory = try TemporaryDirectory(prefix: "swiftmta-recovery")
        let (spool, messages) = try await Self.spool(directory)
        let (path, _) = try #require(try QueueFixture.liveSegments(spool).last)
        let victim = messages[2].0
        let record = try #require(try QueueFixture.records(in: path).first { $0.record.kind == .data && $0.record.key == victim.rawValue })
        let at = record.offset + JournalRecord.headerSize + 5
        try QueueFixture.patch(path, at: at, [try QueueFixture.read(path, at: at, count: 1)[0] ^ 0x01])
        let queue = try await QueueFixture.open(spool)
        #expect(queue.recoveryReport.damage.count == 1)
        #expect(queue.recoveryReport.damage.first?.contains("offset \(record.offset)") == true)
        #expect(queue.recoveryReport.incomplete == ["\(victim)"])
        try await Self.expectAll(messages, in: queue, except: [victim])
        await queue.close()
    }

    @Test("A damaged header in the middle: the scan finds the next batch at a 4 KiB boundary")
    func damagedHeader() async throws {
        let directory = try TemporaryDirectory(prefix: "swiftmta-recovery")
        let (spool, messages) = try await Self.spool(directory)
        let (path, _) = try #require(try QueueFixture.liveSegments(spool).last)
        let victim = messages[1].0
        let record = try #require(try QueueFixture.records(in: path).first { $0.record.kind == .data && $0.record.key == victim.rawValue })
        #expect(record.offset % JournalRecord.blockSize == 0, "each commit alone starts a flushed batch")
        try QueueFixture.patch(path, at: record.offset + 4, [0xFF, 0xFF])
        let queue = try await QueueFixture.open(spool)
        #expect(queue.recoveryReport.damage.count == 1)
        #expect(queue.recoveryReport.tornTails == 0)
        try await Self.expectAll(messages, in: queue, except: [victim])
        await queue.close()
    }

    @Test("A damaged commit record loses only its message")
    func damagedCommit() async throws {
        let directory = try TemporaryDirectory(prefix: "swiftmta-recovery")
        let (spool, messages) = try await Self.spool(directory)
        let (path, _) = try #require(try QueueFixture.liveSegments(spool).last)
        let victim = messages[3].0
        let record = try #require(try QueueFixture.records(in: path).first { $0.record.kind == .commit && $0.record.key == victim.rawValue })
        let at = record.offset + JournalRecord.headerSize + 40
        try QueueFixture.patch(path, at: at, [try QueueFixture.read(path, at: at, count: 1)[0] ^ 0x80])
        let queue = try await QueueFixture.open(spool)
        #expect(queue.recoveryReport.damage.count == 1)
        try await Self.expectAll(messages, in: queue, except: [victim])
        await queue.close()
    }

    @Test("A removal whose record was torn leaves the message in the spool (at least once, never lost)")
    func tornRemoval() async throws {
        let directory = try TemporaryDirectory(prefix: "swiftmta-recovery")
        let (spool, messages) = try await Self.spool(directory, count: 3)
        let (path, sequence) = try #require(try QueueFixture.liveSegments(spool).last)
        let records = try QueueFixture.records(in: path)
        let end = try #require(records.last.map { $0.offset + $0.record.totalLength })
        let remove = QueueFixture.recordBytes(.remove, sequence: sequence, key: messages[0].0.rawValue, payload: [])
        try QueueFixture.patch(path, at: end, Array(remove.prefix(20)))
        // No compaction, so that the segment stays as it is for the second half.
        var configuration = QueueFixture.configuration()
        configuration.compactionThreshold = 0
        let queue = try await QueueFixture.open(spool, configuration)
        try await Self.expectAll(messages, in: queue)
        await queue.close()
        // Whole, the same record removes it.
        let reopenedSegment = try #require(try QueueFixture.liveSegments(spool).first { $0.path == path })
        try QueueFixture.patch(reopenedSegment.path, at: end, remove)
        let again = try await QueueFixture.open(spool)
        try await Self.expectAll(messages, in: again, except: [messages[0].0])
        await again.close()
    }

    @Test("Leftovers of an interrupted segment preparation are removed; a file with a torn first header is reused")
    func leftovers() async throws {
        let directory = try TemporaryDirectory(prefix: "swiftmta-recovery")
        let (spool, messages) = try await Self.spool(directory, count: 2)
        let journal = spool + "/journal"
        try Data(count: 4096).write(to: URL(fileURLWithPath: journal + "/.segment-000099.new"))
        // A segment whose first flush never completed: garbage where its header goes.
        let torn = journal + "/segment-000050"
        var bytes = Data(count: 256 << 10)
        bytes.replaceSubrange(0..<64, with: (0..<64).map { UInt8(truncatingIfNeeded: $0 * 7 + 1) })
        try bytes.write(to: URL(fileURLWithPath: torn))
        let queue = try await QueueFixture.open(spool)
        try await Self.expectAll(messages, in: queue)
        #expect(!FileManager.default.fileExists(atPath: journal + "/.segment-000099.new"))
        #expect(queue.recoveryReport.damage.isEmpty)
        await queue.close()
    }
}

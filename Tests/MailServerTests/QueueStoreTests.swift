import Foundation
@testable import MailServer
import NIOCore
import SMTPProtocol
import Testing
import TestSupport

@Suite("The spool: commit, list, read, update, remove, reopen")
struct QueueStoreTests {
    @Test("A committed message is listed, read back octet for octet, and found again after reopening")
    func commitAndReopen() async throws {
        let directory = try TemporaryDirectory(prefix: "swiftmta-queue")
        let spool = directory.file("spool")
        let queue = try await QueueFixture.open(spool)
        let texts = [QueueFixture.message("one", size: 10), QueueFixture.message("two", size: 5000), QueueFixture.message("three", size: 70000)]
        var ids: [QueueID] = []
        for text in texts { ids.append(try await QueueFixture.commit(queue, text, pieces: 7)) }
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == 3)
        #expect(queue.list().map(\.id) == ids)
        for (id, text) in zip(ids, texts) {
            #expect(try await QueueFixture.text(id, in: queue) == text)
            let message = try #require(queue.message(id))
            #expect(message.size == text.utf8.count)
            #expect(message.envelope == (try QueueFixture.envelope()))
            #expect(message.recipients == [.pending])
        }
        await queue.close()

        let reopened = try await QueueFixture.open(spool)
        #expect(reopened.recoveryReport.messages == 3)
        #expect(reopened.recoveryReport.damage.isEmpty)
        #expect(reopened.recoveryReport.tornTails == 0)
        #expect(reopened.list().map(\.id) == ids)
        for (id, text) in zip(ids, texts) {
            #expect(try await QueueFixture.text(id, in: reopened) == text)
        }
        await reopened.close()
    }

    @Test("Recipient states and removals are journaled and survive a reopen")
    func updatesAndRemovals() async throws {
        let directory = try TemporaryDirectory(prefix: "swiftmta-queue")
        let spool = directory.file("spool")
        let queue = try await QueueFixture.open(spool)
        let first = try await QueueFixture.commit(queue, "Subject: a\r\n\r\nA\r\n", recipients: ["a@example.net", "b@example.net"])
        let second = try await QueueFixture.commit(queue, "Subject: b\r\n\r\nB\r\n")
        let deferred = QueueRecipientStatus(
            disposition: .deferred(nextAttempt: QueueTimestamp(millisecondsSince1970: 1_764_000_600_000)), attempts: 1,
            lastAttempt: QueueTimestamp(millisecondsSince1970: 1_764_000_000_000), reply: "451 4.7.1 greylisted", remoteMTA: "mx.example.net")
        let delivered = QueueRecipientStatus(disposition: .delivered, attempts: 1, reply: "250 2.0.0 ok")
        try await queue.update(first, recipients: [0: deferred, 1: delivered])
        try await queue.remove(second)
        #expect(queue.message(first)?.recipients == [deferred, delivered])
        #expect(queue.message(first)?.nextAttempt == QueueTimestamp(millisecondsSince1970: 1_764_000_600_000))
        #expect(queue.message(second) == nil)
        await #expect(throws: MailQueueError.self) { try await queue.remove(second) }
        await #expect(throws: MailQueueError.self) { try await queue.update(first, recipients: [2: delivered]) }
        #expect(throws: MailQueueError.self) { _ = try queue.body(of: second) }
        await queue.close()

        let reopened = try await QueueFixture.open(spool)
        #expect(reopened.list().map(\.id) == [first])
        #expect(reopened.message(first)?.recipients == [deferred, delivered])
        try await reopened.update(first, recipients: [0: delivered])
        #expect(reopened.message(first)?.isFinished == true)
        await reopened.close()
    }

    @Test("Aborted, abandoned and refused messages leave nothing, before and after a restart")
    func abortsLeaveNothing() async throws {
        let directory = try TemporaryDirectory(prefix: "swiftmta-queue")
        let spool = directory.file("spool")
        let queue = try await QueueFixture.open(spool)
        let kept = try await QueueFixture.commit(queue, QueueFixture.message("kept"))
        let aborted = try queue.beginMessage()
        try await aborted.append(ByteBuffer(string: QueueFixture.message("aborted", size: 30000)))
        aborted.abort()
        await #expect(throws: MailQueueError.self) { try await aborted.append(ByteBuffer(string: "more")) }
        await #expect(throws: MailQueueError.self) { _ = try await aborted.commit(try QueueFixture.envelope()) }
        do {
            let abandoned = try queue.beginMessage()
            try await abandoned.append(ByteBuffer(string: QueueFixture.message("abandoned", size: 9000)))
        }
        let refused = try queue.beginMessage()
        try await refused.append(ByteBuffer(string: "Subject: nobody\r\n\r\n"))
        let noRecipients = QueueEnvelope(reversePath: .null, recipients: [], client: .init())
        await #expect { _ = try await refused.commit(noRecipients) } throws: { ($0 as? MailQueueError)?.kind == .invalidUse }
        // A flush after them all, so that their records are on disk too.
        let last = try await QueueFixture.commit(queue, QueueFixture.message("last"))
        #expect(queue.list().map(\.id) == [kept, last])
        await queue.close()

        let reopened = try await QueueFixture.open(spool)
        #expect(reopened.list().map(\.id) == [kept, last])
        #expect(reopened.recoveryReport.incomplete.isEmpty)
        #expect(reopened.recoveryReport.damage.isEmpty)
        await reopened.close()
    }

    @Test("Queue ids only grow, within a run and across a restart")
    func idsGrow() async throws {
        let directory = try TemporaryDirectory(prefix: "swiftmta-queue")
        let spool = directory.file("spool")
        let queue = try await QueueFixture.open(spool)
        var ids: [QueueID] = []
        for _ in 0..<2000 { ids.append(try queue.beginMessage().id) }
        let committed = try await QueueFixture.commit(queue, "Subject: x\r\n\r\n")
        await queue.close()
        let reopened = try await QueueFixture.open(spool)
        let after = try reopened.beginMessage().id
        await reopened.close()
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == ids.count)
        #expect(committed > ids.last!)
        #expect(after > committed)
    }

    @Test("Fifty sessions committing at once share flushes")
    func groupCommit() async throws {
        let directory = try TemporaryDirectory(prefix: "swiftmta-queue")
        let queue = try await QueueFixture.open(directory.file("spool"), QueueFixture.configuration(segmentSize: 4 << 20))
        let before = queue.statistics
        let ids = try await withThrowingTaskGroup(of: [QueueID].self) { group in
            for session in 0..<50 {
                group.addTask {
                    var ids: [QueueID] = []
                    for message in 0..<10 { ids.append(try await QueueFixture.commit(queue, QueueFixture.message("s\(session)m\(message)", size: 4096))) }
                    return ids
                }
            }
            var all: [QueueID] = []
            for try await list in group { all += list }
            return all
        }
        let after = queue.statistics
        #expect(Set(ids).count == 500)
        #expect(after.commits - before.commits == 500)
        #expect(after.flushes - before.flushes < 250, "flushes: \(after.flushes - before.flushes) for 500 commits")
        #expect(queue.list().count == 500)
        await queue.close()
    }

    @Test("A body being read stays readable after its message is removed")
    func bodyPinsSegments() async throws {
        let directory = try TemporaryDirectory(prefix: "swiftmta-queue")
        let queue = try await QueueFixture.open(directory.file("spool"), QueueFixture.configuration(segmentSize: 64 << 10))
        let text = QueueFixture.message("pinned", size: 20000)
        let id = try await QueueFixture.commit(queue, text)
        let body = try queue.body(of: id)
        try await queue.remove(id)
        // Churn so that segments fill, die and are reused.
        for index in 0..<60 {
            let other = try await QueueFixture.commit(queue, QueueFixture.message("churn\(index)", size: 6000))
            try await queue.remove(other)
        }
        var read = ByteBuffer()
        for try await piece in body { read.writeImmutableBuffer(piece) }
        #expect(String(buffer: read) == text)
        await queue.close()
    }

    @Test("Compaction copies survivors out of mostly dead segments and the journal shrinks back")
    func compaction() async throws {
        let directory = try TemporaryDirectory(prefix: "swiftmta-queue")
        let spool = directory.file("spool")
        let configuration = QueueFixture.configuration(segmentSize: 64 << 10, chunkSize: 2048)
        let queue = try await QueueFixture.open(spool, configuration)
        var survivors: [(QueueID, String)] = []
        for index in 0..<400 {
            let text = QueueFixture.message("c\(index)", size: 2000 + index % 7 * 300)
            let id = try await QueueFixture.commit(queue, text)
            if index % 25 == 0 { survivors.append((id, text)) } else { try await queue.remove(id) }
        }
        // Deferred survivors: their state must travel with them.
        let deferred = QueueRecipientStatus(disposition: .deferred(nextAttempt: QueueTimestamp(millisecondsSince1970: 42)), attempts: 2)
        try await queue.update(survivors[0].0, recipients: [0: deferred])
        let peak = queue.statistics.liveSegments
        var settled = queue.statistics
        for _ in 0..<100 where settled.liveSegments > 3 {
            try await Task.sleep(for: .milliseconds(100))
            settled = queue.statistics
        }
        #expect(settled.liveSegments <= 3, "live segments \(settled.liveSegments), peak \(peak)")
        #expect(settled.relocations > 0)
        #expect(settled.segmentsRetired > 0)
        // Retired segments beyond the spares and the few kept for reuse are deleted.
        let bound = settled.liveSegments + configuration.spareSegments + configuration.freeSegmentsKept + 1
        var files = Int.max
        for _ in 0..<50 {
            files = try FileManager.default.contentsOfDirectory(atPath: spool + "/journal").filter { $0.hasPrefix("segment-") }.count
            if files <= bound { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(files <= bound, "\(files) segment files for \(settled.liveSegments) live segments")
        await queue.close()

        let reopened = try await QueueFixture.open(spool, configuration)
        #expect(reopened.list().map(\.id) == survivors.map(\.0))
        for (id, text) in survivors { #expect(try await QueueFixture.text(id, in: reopened) == text) }
        #expect(reopened.message(survivors[0].0)?.recipients == [deferred])
        await reopened.close()
    }

    @Test("A spool reopened with another segment size reads its old segments and never reuses them")
    func segmentSizeChange() async throws {
        let directory = try TemporaryDirectory(prefix: "swiftmta-queue")
        let spool = directory.file("spool")
        let large = try await QueueFixture.open(spool, QueueFixture.configuration(segmentSize: 256 << 10))
        var kept: [(QueueID, String)] = []
        for index in 0..<30 {
            let text = QueueFixture.message("old\(index)", size: 9000)
            kept.append((try await QueueFixture.commit(large, text), text))
        }
        await large.close()
        let small = try await QueueFixture.open(spool, QueueFixture.configuration(segmentSize: 128 << 10))
        for (id, text) in kept { #expect(try await QueueFixture.text(id, in: small) == text) }
        for (id, _) in kept.prefix(25) { try await small.remove(id) }
        kept.removeFirst(25)
        for index in 0..<40 {
            let text = QueueFixture.message("new\(index)", size: 9000)
            kept.append((try await QueueFixture.commit(small, text), text))
        }
        for _ in 0..<50 where small.statistics.segmentsRetired == 0 { try await Task.sleep(for: .milliseconds(100)) }
        #expect(small.statistics.segmentsRetired > 0)
        await small.close()
        let journal = spool + "/journal"
        for name in try FileManager.default.contentsOfDirectory(atPath: journal) where name.hasPrefix("segment-") {
            let size = try FileManager.default.attributesOfItem(atPath: journal + "/" + name)[.size] as? Int
            let live = try QueueFixture.records(in: journal + "/" + name).first?.record.kind == .segment
            // An old-size file may remain only while it still holds live messages.
            #expect(size == 128 << 10 || live, "\(name) has \(size ?? -1) octets and is free")
        }
        let reopened = try await QueueFixture.open(spool, QueueFixture.configuration(segmentSize: 128 << 10))
        #expect(reopened.list().map(\.id) == kept.map(\.0))
        for (id, text) in kept { #expect(try await QueueFixture.text(id, in: reopened) == text) }
        await reopened.close()
    }

    @Test("A second process (or open) on the same spool is refused by name")
    func spoolInUse() async throws {
        let directory = try TemporaryDirectory(prefix: "swiftmta-queue")
        let spool = directory.file("spool")
        let queue = try await QueueFixture.open(spool)
        await #expect {
            _ = try await QueueFixture.open(spool)
        } throws: { error in
            guard let error = error as? MailQueueError else { return false }
            return error.kind == .spoolInUse && error.message.contains(spool) && error.message.contains("pid \(getpid())")
        }
        await queue.close()
        let again = try await QueueFixture.open(spool)
        await again.close()
    }

    @Test("A spool directory that cannot be made is a start-up error naming the path")
    func unusableDirectory() async throws {
        let directory = try TemporaryDirectory(prefix: "swiftmta-queue")
        let file = try directory.write("plain-file", "not a directory")
        let spool = file + "/spool"
        await #expect {
            _ = try await QueueFixture.open(spool)
        } throws: { error in
            guard let error = error as? MailQueueError else { return false }
            return error.kind == .unusableSpool && error.message.contains(spool)
        }
    }

    @Test("A read-only spool is a start-up error naming the path", .enabled(if: QueueFixture.canMount))
    func readOnlySpool() async throws {
        let directory = try TemporaryDirectory(prefix: "swiftmta-queue")
        let mountPoint = directory.file("ro")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        try await ExternalTool.runChecked("mount", ["-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", mountPoint])
        defer { _ = try? ExternalTool.run("umount", [mountPoint]) }
        await #expect {
            _ = try await QueueFixture.open(mountPoint + "/spool")
        } throws: { error in
            guard let error = error as? MailQueueError else { return false }
            return error.kind == .unusableSpool && error.message.contains(mountPoint + "/spool") && error.message.contains("Read-only")
        }
    }

    @Test("After close the spool refuses new work with .closed")
    func closed() async throws {
        let directory = try TemporaryDirectory(prefix: "swiftmta-queue")
        let queue = try await QueueFixture.open(directory.file("spool"))
        let writer = try queue.beginMessage()
        try await writer.append(ByteBuffer(string: "Subject: late\r\n\r\n"))
        await queue.close()
        #expect { _ = try queue.beginMessage() } throws: { ($0 as? MailQueueError)?.kind == .closed }
        await #expect { _ = try await writer.commit(try QueueFixture.envelope()) } throws: { ($0 as? MailQueueError)?.kind == .closed }
        await queue.close()
    }

    @Test("A 128 MiB message streams through the spool in bounded memory", .timeLimit(.minutes(3)))
    func largeMessageMemory() async throws {
        let directory = try TemporaryDirectory(prefix: "swiftmta-queue")
        let output = try await offThread {
            try ExternalTool.run(QueueFixture.benchmarkExecutable, ["big", directory.file("spool"), "128"], timeout: .seconds(170))
        }
        #expect(output.status == 0, "\(output.standardError)")
        let line = try #require(output.standardOutput.split(separator: "\n").first { $0.hasPrefix("peak-rss-kib ") })
        let peak = try #require(Int(line.dropFirst("peak-rss-kib ".count)))
        // The message is 131,072 KiB; the process (a debug build with its threads) stays far below.
        #expect(peak < 64 * 1024, "peak RSS \(peak) KiB for a 131072 KiB message")
    }
}

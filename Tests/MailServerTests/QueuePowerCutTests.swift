import Foundation
@testable import MailServer
import NIOCore
import Testing
import TestSupport

/// Every write and flush of the spool's files, in order, with the test's own acknowledgements
/// between them.
final class QueueIOLog: QueueIORecorder, @unchecked Sendable {
    enum Event {
        case write(path: String, offset: Int, bytes: [UInt8])
        case flushStart(path: String)
        case flushEnd(start: Int)
        case committed(QueueID)
        /// A removal asked for (the message may be gone from here on).
        case removing(QueueID)
        case removed(QueueID)
    }

    private let lock = NSLock()
    private(set) var events: [Event] = []

    func note(_ event: Event) {
        lock.lock()
        events.append(event)
        lock.unlock()
    }

    func wrote(path: String, offset: Int, bytes: [UInt8]) { note(.write(path: Self.finalName(path), offset: offset, bytes: bytes)) }

    func flushStarts(path: String) -> Int {
        lock.lock()
        defer { lock.unlock() }
        events.append(.flushStart(path: Self.finalName(path)))
        return events.count - 1
    }

    func flushed(_ token: Int) { note(.flushEnd(start: token)) }

    /// A segment being made is written under `.segment-N.new` and renamed once flushed.
    static func finalName(_ path: String) -> String {
        let name = (path as NSString).lastPathComponent
        guard name.hasPrefix("."), name.hasSuffix(".new") else { return path }
        return ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent(String(name.dropFirst().dropLast(4)))
    }
}

@Suite("Spool under a power cut: the writes that no flush covered are lost or torn")
struct QueuePowerCutTests {
    /// The files as a power cut after event `cut` can leave them: every write that a completed
    /// flush covered (it returned before the cut, and the write returned before it started) is
    /// there; of every other write before the cut, each 512-octet sector is there or not, at random.
    static func files(after cut: Int, of events: [QueueIOLog.Event], random: inout some RandomNumberGenerator) -> [String: [UInt8]] {
        var durableBefore: [String: Int] = [:]
        for index in 0..<cut {
            if case .flushEnd(let start) = events[index], case .flushStart(let path) = events[start] {
                durableBefore[path] = max(durableBefore[path] ?? 0, start)
            }
        }
        var files: [String: [UInt8]] = [:]
        for index in 0..<cut {
            guard case .write(let path, let offset, let bytes) = events[index] else { continue }
            var content = files[path] ?? []
            if content.count < offset + bytes.count { content += [UInt8](repeating: 0, count: offset + bytes.count - content.count) }
            if index < (durableBefore[path] ?? 0) {
                content.replaceSubrange(offset..<(offset + bytes.count), with: bytes)
            } else {
                var sector = 0
                while sector < bytes.count {
                    let end = min(bytes.count, (offset + sector) / 512 * 512 + 512 - offset)
                    if Bool.random(using: &random) {
                        content.replaceSubrange((offset + sector)..<(offset + end), with: bytes[sector..<end])
                    }
                    sector = end
                }
            }
            files[path] = content
        }
        return files
    }

    /// Where the records of `id` were written, and which flushes covered them (for a failure).
    static func explain(_ id: QueueID, cut: Int, events: [QueueIOLog.Event]) {
        var key = id.rawValue
        let needle = withUnsafeBytes(of: &key) { Array($0) }
        var lines: [String] = []
        for (index, event) in events.enumerated() {
            switch event {
            case .write(let path, let offset, let bytes):
                var start = 0
                while start + 32 <= bytes.count {
                    if Array(bytes[(start + 24)..<(start + 32)]) == needle, bytes[start] == 0x53, bytes[start + 1] == 0x51 {
                        lines.append("#\(index) write \((path as NSString).lastPathComponent) @\(offset + start) kind \(bytes[start + 2]) seq \(bytes[start + 16]) (write \(offset)..<\(offset + bytes.count))")
                    }
                    start += 1
                }
            case .flushStart(let path): if index < cut + 50 { lines.append("#\(index) flushStart \((path as NSString).lastPathComponent)") }
            case .flushEnd(let start): if index < cut + 50 { lines.append("#\(index) flushEnd of #\(start)") }
            case .committed(let other): if other == id { lines.append("#\(index) ACK \(id)") }
            case .removing(let other): if other == id { lines.append("#\(index) REMOVING \(id)") }
            case .removed(let other): if other == id { lines.append("#\(index) REMOVED \(id)") }
            }
        }
        print("EXPLAIN \(id) cut \(cut):\n" + lines.filter { !$0.contains("flush") || true }.suffix(400).joined(separator: "\n"))
    }

    @Test("At 40 cut points across a busy run: every acknowledged message is there whole, every acknowledged removal holds", .timeLimit(.minutes(4)))
    func powerCuts() async throws {
        let directory = try TemporaryDirectory(prefix: "swiftmta-powercut")
        let spool = directory.file("spool")
        let log = QueueIOLog()
        var configuration = QueueFixture.configuration(segmentSize: 64 << 10, chunkSize: 2048)
        configuration.faults = QueueFaultInjection(recorder: log)
        let queue = try await QueueFixture.open(spool, configuration)
        let texts = try await withThrowingTaskGroup(of: [QueueID: String].self) { group in
            for task in 0..<8 {
                group.addTask {
                    var mine: [QueueID: String] = [:]
                    var live: [QueueID] = []
                    for step in 0..<120 {
                        let text = QueueFixture.message("t\(task)s\(step)", size: 200 + (task * 7919 + step * 104_729) % 9000)
                        let id = try await QueueFixture.commit(queue, text, pieces: 1 + step % 4)
                        log.note(.committed(id))
                        mine[id] = text
                        live.append(id)
                        if step % 2 == 1, live.count > 2 {
                            let victim = live.remove(at: (step * 31) % live.count)
                            log.note(.removing(victim))
                            try await queue.remove(victim)
                            log.note(.removed(victim))
                        } else if step % 5 == 0, let target = live.first {
                            try await queue.update(target, recipients: [0: QueueRecipientStatus(disposition: .deferred(nextAttempt: .now), attempts: step)])
                        }
                    }
                    return mine
                }
            }
            var all: [QueueID: String] = [:]
            for try await part in group { all.merge(part) { first, _ in first } }
            return all
        }
        await queue.close()
        let events = log.events
        #expect(queue.statistics.segmentsRetired > 0 && queue.statistics.segmentsUsed > 5, "the run should cycle segments: \(queue.statistics)")

        var random = SystemRandomNumberGenerator()
        var cuts = (0..<39).map { _ in Int.random(in: 1...events.count, using: &random) }
        cuts.append(events.count)
        var checked = (messages: 0, removals: 0, unacknowledged: 0)
        for (round, cut) in cuts.sorted().enumerated() {
            let image = directory.file("image-\(round)")
            try FileManager.default.createDirectory(atPath: image + "/journal", withIntermediateDirectories: true)
            for (path, content) in Self.files(after: cut, of: events, random: &random) {
                let name = (path as NSString).lastPathComponent
                try Data(content).write(to: URL(fileURLWithPath: image + "/journal/" + name))
            }
            var acknowledged: Set<QueueID> = []
            var removing: Set<QueueID> = []
            var removed: Set<QueueID> = []
            for index in 0..<cut {
                switch events[index] {
                case .committed(let id): acknowledged.insert(id)
                case .removing(let id): removing.insert(id)
                case .removed(let id): removed.insert(id)
                case .write, .flushStart, .flushEnd: break
                }
            }
            var plain = QueueFixture.configuration(segmentSize: 64 << 10, chunkSize: 2048)
            plain.compactionThreshold = 0
            let recovered = try await QueueFixture.open(image, plain)
            let present = Set(recovered.list().map(\.id))
            // A removal under way at the cut may have reached the disk, or not.
            for id in acknowledged.subtracting(removing) {
                #expect(present.contains(id), "cut \(cut) of \(events.count): acknowledged \(id) is missing")
                if !present.contains(id) && ProcessInfo.processInfo.environment["POWERCUT_DEBUG"] != nil {
                    Self.explain(id, cut: cut, events: events)
                }
            }
            for id in removed {
                #expect(!present.contains(id), "cut \(cut) of \(events.count): removed \(id) is back")
            }
            for id in present {
                // No half message, and nothing that was never committed.
                let text = try #require(texts[id], "cut \(cut): \(id) was never committed")
                #expect(try await QueueFixture.text(id, in: recovered) == text, "cut \(cut): \(id) is not what was written")
            }
            checked.messages += acknowledged.subtracting(removing).count
            checked.removals += removed.count
            checked.unacknowledged += present.subtracting(acknowledged).count
            await recovered.close()
            try? FileManager.default.removeItem(atPath: image)
        }
        print("power cuts: \(cuts.count) cuts of \(events.count) events; \(checked.messages) acknowledged messages and \(checked.removals) removals checked, \(checked.unacknowledged) unacknowledged commits found whole")
    }
}

import Foundation
@testable import MailServer
import NIOCore
import Testing
import TestSupport

@Suite("Spool crash safety: SIGKILL at random moments")
struct QueueCrashTests {
    /// What the child acknowledged: lines it printed once a call had returned.
    struct Ledger {
        var committed: [QueueID: String] = [:]
        var removed: Set<QueueID> = []
        /// Removals asked for whose answer was not printed: the message may or may not be gone.
        var removing: Set<QueueID> = []
        var attempts: [QueueID: Int] = [:]

        mutating func read(_ output: String) {
            // Only whole lines: the child writes each with one write(2), so a kill never splits one,
            // but be strict anyway.
            var lines = output.split(separator: "\n", omittingEmptySubsequences: false)
            if !output.hasSuffix("\n") { lines.removeLast() }
            for line in lines {
                let words = line.split(separator: " ")
                switch words.first {
                case "C":
                    if words.count == 3, let id = QueueID(words[1]) { committed[id] = String(words[2]) }
                case "D":
                    if words.count == 2, let id = QueueID(words[1]) { removing.insert(id) }
                case "R":
                    if words.count == 2, let id = QueueID(words[1]) {
                        removed.insert(id)
                        removing.remove(id)
                    }
                case "U":
                    if words.count == 4, let id = QueueID(words[1]), let count = Int(words[3]) { attempts[id] = max(attempts[id] ?? 0, count) }
                default:
                    break
                }
            }
        }
    }

    /// The crash-test child's message text for `unique` (MailQueueBenchmark's crashMessage).
    static func expectedText(_ unique: String) -> [UInt8] {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in unique.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        var state = hash
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let length = 200 + Int(next() % 12_000)
        var text = Array("X-Crash-Id: \(unique)\r\nSubject: crash test\r\n\r\n".utf8)
        while text.count < length {
            let line = 20 + Int(next() % 60)
            for _ in 0..<line { text.append(UInt8(97 + next() % 26)) }
            text.append(contentsOf: [13, 10])
        }
        text.append(contentsOf: Array("END \(unique)\r\n".utf8))
        return text
    }

    /// Starts the child, waits `delay` after it is ready (or kills it during start-up when `delay`
    /// is nil), SIGKILLs it, and returns what it printed.
    static func runChild(spool: String, seed: UInt64, delay: Duration?, output: String) async throws -> String {
        try await offThread {
            _ = FileManager.default.createFile(atPath: output, contents: nil)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
            defer { try? handle.close() }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: QueueFixture.benchmarkExecutable)
            process.arguments = ["writer", spool, String(256 << 10), String(seed)]
            process.standardOutput = handle
            process.standardError = handle
            try process.run()
            let started = ContinuousClock.now
            if let delay {
                // Wait for READY (recovery done), then let it write for `delay`.
                while !(((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").contains("READY")) {
                    guard process.isRunning, ContinuousClock.now - started < .seconds(60) else { break }
                    usleep(5000)
                }
                let ready = ContinuousClock.now
                while ContinuousClock.now - ready < delay, process.isRunning { usleep(2000) }
            } else {
                usleep(useconds_t.random(in: 0...150_000))
            }
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        }
    }

    @Test("24 SIGKILLs: every acknowledged message is recovered whole, every acknowledged removal stays done", .timeLimit(.minutes(5)))
    func killLoop() async throws {
        let executable = QueueFixture.benchmarkExecutable
        try #require(FileManager.default.isExecutableFile(atPath: executable), "build MailQueueBenchmark first (swift build)")
        let directory = try TemporaryDirectory(prefix: "swiftmta-crash")
        let spool = directory.file("spool")
        var ledger = Ledger()
        var verified: [String: Int] = [:]
        var totals = (acknowledged: 0, unacknowledgedRecovered: 0, duplicates: 0, lost: 0, resurrected: 0, removalsInFlight: 0)
        var rng = SystemRandomNumberGenerator()
        for cycle in 1...24 {
            // Most kills land while it writes; every sixth during start-up (recovery, segment making).
            let delay: Duration? = cycle % 6 == 0 ? nil : .milliseconds(Int.random(in: 50...900, using: &rng))
            let output = try await Self.runChild(spool: spool, seed: UInt64(cycle), delay: delay, output: directory.file("child-\(cycle).out"))
            #expect(!output.contains("MailQueueBenchmark:"), "cycle \(cycle): the child failed: \(output.suffix(300))")
            ledger.read(output)

            let queue = try await QueueFixture.open(spool, QueueFixture.configuration(segmentSize: 256 << 10))
            let listed = queue.list()
            var seen: [String: QueueID] = [:]
            for message in listed {
                // No half message: every listed message reads back whole and exactly as written.
                let text = Array(try await queue.body(of: message.id).collect(upTo: 1 << 20).readableBytesView)
                let header = String(decoding: text.prefix(64), as: UTF8.self)
                let unique = try #require(header.split(separator: "\r\n").first?.split(separator: " ").last.map(String.init), "cycle \(cycle): \(message.id) has no id")
                if let length = verified[unique] {
                    // Compared octet for octet in an earlier cycle; the read checked every record's
                    // CRC-32C again, and the length and the ends must still agree.
                    #expect(text.count == length && text.suffix(unique.utf8.count + 6) == Array("END \(unique)\r\n".utf8),
                            "cycle \(cycle): \(message.id) (\(unique)) changed since it was verified")
                } else {
                    #expect(text == Self.expectedText(unique), "cycle \(cycle): \(message.id) (\(unique)) is not the text written")
                    verified[unique] = text.count
                }
                if let earlier = seen[unique] {
                    totals.duplicates += 1
                    Issue.record("cycle \(cycle): \(unique) is in the spool twice, as \(earlier) and \(message.id)")
                }
                seen[unique] = message.id
                if let attempts = ledger.attempts[message.id] {
                    #expect(message.recipients[0].attempts >= attempts, "cycle \(cycle): \(message.id) lost an acknowledged status update")
                }
            }
            let present = Set(listed.map(\.id))
            for (id, unique) in ledger.committed where !ledger.removed.contains(id) {
                if !present.contains(id) && ledger.removing.contains(id) {
                    // Its removal was under way when the child was killed, and it went through.
                    ledger.removed.insert(id)
                    ledger.removing.remove(id)
                    totals.removalsInFlight += 1
                } else if !present.contains(id) {
                    totals.lost += 1
                    Issue.record("cycle \(cycle): acknowledged message \(id) (\(unique)) was lost")
                }
            }
            for id in ledger.removed where present.contains(id) {
                totals.resurrected += 1
                Issue.record("cycle \(cycle): removed message \(id) came back")
            }
            // A removal under way that did not go through: the message is still there, as it may be.
            ledger.removing.subtract(present)
            totals.unacknowledgedRecovered += present.subtracting(ledger.committed.keys).count
            // Messages committed but not yet acknowledged are legitimately there; the child adopts them.
            for id in present where ledger.committed[id] == nil {
                if let unique = seen.first(where: { $0.value == id })?.key { ledger.committed[id] = unique }
            }
            await queue.close()
            totals.acknowledged = ledger.committed.count
        }
        print("crash test: \(totals.acknowledged) messages committed over 24 kills (\(ledger.removed.count) removals, \(totals.removalsInFlight) of them in flight at a kill), \(totals.unacknowledgedRecovered) recovered without an acknowledgement, \(totals.duplicates) duplicates, \(totals.lost) lost, \(totals.resurrected) removals undone")
        #expect(totals.acknowledged > 500, "the child did little work: \(totals.acknowledged) commits")
        #expect(totals.lost == 0)
        #expect(totals.resurrected == 0)
        #expect(totals.duplicates == 0)
    }
}

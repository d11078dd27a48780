import Foundation
import Testing
import TestSupport

/// Crash safety end to end: `swiftmta serve` is killed with SIGKILL at random moments while a
/// client sends messages with unique ids and records which got 250; after each restart the spool's
/// leftovers are delivered; at the end every acknowledged message has reached the sink, whole.
/// Duplicates (a delivery done but not yet recorded when the server died) are counted and
/// reported; a loss fails the test.
@Suite("Queue runner crash safety: SIGKILL while receiving and delivering")
struct RunnerCrashTests {
    static let cycles = 20

    /// `swiftmta serve` on `directory`'s configuration; returns once it listens, with its port.
    static func start(_ directory: TemporaryDirectory) async throws -> (BackgroundProcess, Int) {
        let process = try BackgroundProcess(
            ServeProcess.executable, ["serve", "--config", directory.file("swiftmta.toml"), "--log-level", "notice", "--allow-root"], directory: directory.path)
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            let output = process.output()
            if output.contains(" ready; "), let line = output.split(separator: "\n").first(where: { $0.hasPrefix("swiftmta: listening on ") }) {
                let words = line.split(separator: " ")
                if let index = words.firstIndex(of: "port"), let port = Int(words[index + 1]) { return (process, port) }
            }
            if let status = process.exitStatus(within: .zero) {
                throw TestSupportError("swiftmta serve exited with \(status): \(output)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestSupportError("swiftmta serve did not start: \(process.output())")
    }

    static func dumpedIDs(_ sink: DeliverySink) -> (ids: [String: Int], torn: [String]) {
        var counts: [String: Int] = [:]
        var torn: [String] = []
        for text in sink.dumped() {
            guard let range = text.range(of: "X-Test-Id: ") else { continue }
            let id = String(text[range.upperBound...].prefix { !$0.isNewline })
            counts[id, default: 0] += 1
            if !text.contains("END \(id)") { torn.append(id) }
        }
        return (counts, torn)
    }

    @Test("20 SIGKILLs of the server while a client sends: every message that got 250 reaches the sink whole")
    func killAndRestart() async throws {
        let sink = try await offThread { try DeliverySink(dump: true) }
        let directory = try TemporaryDirectory(prefix: "swiftmta-crash")
        try directory.write("access", "Connect:127.0.0.1 RELAY\n")
        try directory.write("swiftmta.toml", """
            hostname = "mx.example.test"
            local_users = "any"
            [maps]
            access = "text:access"
            [routing]
            smart_host = "relay:[127.0.0.1]"
            relay_mailer_port = \(sink.port)
            [relay]
            accept_unresolvable_domains = true
            [queue]
            directory = "var/spool"
            min_queue_age = "1s"
            max_queue_age = "2s"
            [[listen]]
            address = "127.0.0.1:0"
            mode = "smtp"
            """)
        let portFile = directory.file("port")
        let acked = directory.file("acked")
        let stop = directory.file("stop")
        try "".write(toFile: portFile, atomically: true, encoding: .utf8)
        let client = try BackgroundProcess(
            "python3", ["\(ExternalTool.repositoryRoot)/Tests/MailServerTests/Peers/crash_client.py", portFile, acked, stop, "m"],
            directory: directory.path)
        defer { client.stop() }

        var recovered: [Int] = []
        for _ in 0..<Self.cycles {
            let (server, port) = try await Self.start(directory)
            if let line = server.output().split(separator: "\n").first(where: { $0.contains("spool holds ") }),
               let count = line.components(separatedBy: "spool holds ").last.flatMap({ Int($0.prefix { $0.isNumber }) }) {
                recovered.append(count)
            } else {
                recovered.append(0)
            }
            try "\(port)".write(toFile: portFile, atomically: true, encoding: .utf8)
            try await Task.sleep(for: .milliseconds(Int.random(in: 150...900)))
            server.stop()  // SIGKILL
            try "".write(toFile: portFile, atomically: true, encoding: .utf8)
        }
        // The last start: the client stops, the queue drains.
        try "".write(toFile: stop, atomically: true, encoding: .utf8)
        _ = client.exitStatus(within: .seconds(15))
        let (server, _) = try await Self.start(directory)
        defer { server.stop() }
        let acknowledged = Set(((try? String(contentsOfFile: acked, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init))
        #expect(acknowledged.count > Self.cycles, "the client got too few messages through to test anything: \(acknowledged.count)")
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            let (ids, _) = Self.dumpedIDs(sink)
            if acknowledged.isSubset(of: Set(ids.keys)) {
                let listed = try await ExternalTool.run(ServeProcess.executable, ["queue", "list", "--json", "--config", directory.file("swiftmta.toml")])
                if listed.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == "[]" { break }
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        let (ids, torn) = Self.dumpedIDs(sink)
        let lost = acknowledged.subtracting(ids.keys).sorted()
        let duplicates = ids.filter { $0.value > 1 }
        let unacknowledged = Set(ids.keys).subtracting(acknowledged)
        print("runner crash test: \(Self.cycles) kills, \(acknowledged.count) messages acknowledged, \(ids.count) distinct at the sink, \(lost.count) lost, \(duplicates.count) delivered more than once (\(duplicates.values.reduce(0, +) - duplicates.count) extra copies), \(unacknowledged.count) delivered without an acknowledgement (committed, 250 not seen), recovered per restart: \(recovered)")
        #expect(lost.isEmpty, "acknowledged but never delivered: \(lost.prefix(20))")
        #expect(torn.isEmpty, "delivered cut short: \(torn.prefix(20))")
        let listed = try await ExternalTool.run(ServeProcess.executable, ["queue", "list", "--json", "--config", directory.file("swiftmta.toml")])
        #expect(listed.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines) == "[]", "the queue drained: \(listed.standardOutput)")
    }
}

import Foundation
@testable import MailServer
import NIOCore
import SMTPProtocol
import Testing
import TestSupport

/// Retry, warning and return with a clock the test moves: a deferred recipient is tried again at
/// its retry time, a bounce goes to the sender when the next hop refuses for good or when
/// queuereturn passes, a warning once after queuewarn, and nothing ever goes to `<>`.
@Suite("Queue runner: retries, bounces and warnings on a test clock", .serialized)
struct RunnerRetryTests {
    static func relayConfiguration(port: Int) -> String {
        """
        [routing]
        smart_host = "relay:[127.0.0.1]"
        relay_mailer_port = \(port)
        [queue]
        min_queue_age = "5m"
        max_queue_age = "1h"
        queuewarn = "4h"
        queuereturn = "5d"
        """
    }

    static let text = "From: alice@localhost\r\nTo: bob@example.org\r\nSubject: retry test\r\nMessage-ID: <retry@example.test>\r\n\r\nHello.\r\n"

    @Test("451 then 250: deferred with the next attempt 5 minutes on, delivered when the clock gets there")
    func temporaryThenDelivered() async throws {
        let port = try LoopbackPort.free()
        var refusing: DeliverySink? = try await offThread { try DeliverySink(["-r", "rcpt"], port: port) }
        let harness = try await RunnerHarness(Self.relayConfiguration(port: port))
        let id = try await harness.submit(from: "alice@localhost", to: ["bob@example.org"], text: Self.text)
        try await harness.wait("the first attempt") { harness.state(id)?.attempts == 1 }
        let status = try #require(harness.state(id))
        let start = harness.clock.now()
        guard case .deferred(let next) = status.disposition else {
            Issue.record("not deferred: \(status)")
            return
        }
        #expect(next == start.advanced(by: .seconds(300)))
        #expect(status.reply?.hasPrefix("45") == true, "\(status.reply ?? "")")
        refusing?.stop()
        refusing = nil
        let accepting = try await offThread { try DeliverySink(port: port) }
        // Not yet due: nothing happens.
        harness.clock.advance(by: .seconds(200))
        try await Task.sleep(for: .milliseconds(300))
        #expect(harness.state(id)?.attempts == 1)
        harness.clock.advance(by: .seconds(100))
        try await harness.wait("delivery on retry") { harness.queue.message(id) == nil }
        #expect(accepting.count == 1)
        #expect(harness.logs.text.contains("\(id): to=<bob@example.org>") && harness.logs.text.contains("stat=Sent"))
        // No DSN was owed (NOTIFY absent: FAILURE,DELAY; it was neither).
        #expect(try harness.mailbox("alice").isEmpty)
        await harness.close()
    }

    @Test("550 from the next hop: failed at once, and an RFC 3464 bounce to the sender")
    func permanentFailureBounces() async throws {
        let sink = try await offThread { try DeliverySink(["-f", "rcpt"]) }
        let harness = try await RunnerHarness(Self.relayConfiguration(port: sink.port))
        let id = try await harness.submit(from: "alice@localhost", to: ["bob@example.org"], text: Self.text)
        try await harness.wait("the bounce") { harness.queue.list().isEmpty && ((try? harness.mailbox("alice").count) ?? 0) == 1 }
        let bounce = try #require(try harness.mailbox("alice").first)
        let headers = try #require(bounce["headers"] as? [String: String])
        #expect(headers["Return-Path"] == "<>")
        #expect(headers["Subject"] == "Undelivered Mail Returned to Sender")
        #expect(bounce["type"] as? String == "multipart/report")
        let report = try #require(bounce["report"] as? [[String: String]])
        #expect(report.count == 2, "\(report)")
        #expect(report.first?["Reporting-MTA"] == "dns; mx.example.test")
        #expect(report.last?["Final-Recipient"] == "rfc822; bob@example.org")
        #expect(report.last?["Action"] == "failed")
        #expect(report.last?["Status"]?.hasPrefix("5.") == true, "\(report)")
        #expect(report.last?["Diagnostic-Code"]?.hasPrefix("smtp; 5") == true, "\(report)")
        #expect(report.last?["Remote-MTA"] == "dns; 127.0.0.1")
        let parts = (bounce["parts"] as? [[String: Any]] ?? []).compactMap { $0["type"] as? String }
        #expect(parts.contains("message/rfc822"), "the original comes back whole: \(parts)")
        #expect(harness.logs.text.contains("\(id): "), "\(harness.logs.text)")
        await harness.close()
    }

    @Test("Unreachable: deferred with backoff, one warning after queuewarn, a bounce after queuereturn")
    func unreachableUntilReturn() async throws {
        let closed = try LoopbackPort.free()  // nothing listens there: connection refused
        let harness = try await RunnerHarness(Self.relayConfiguration(port: closed))
        let id = try await harness.submit(from: "alice@localhost", to: ["bob@example.org"], text: Self.text)
        var attempts = 1
        try await harness.wait("the first attempt") { harness.state(id)?.attempts == 1 }
        var delays: [Int64] = []
        var last = harness.clock.now()
        while let status = harness.state(id), case .deferred(let next) = status.disposition {
            delays.append(last.duration(to: next).components.seconds)
            harness.clock.advance(by: harness.clock.now().duration(to: next))
            last = harness.clock.now()
            attempts += 1
            try await harness.wait("attempt \(attempts)") { harness.state(id).map { $0.attempts >= attempts } ?? true }
            if attempts > 200 { break }
        }
        // 5 m, 10 m, 20 m, 40 m, then every hour (max_queue_age) until 5 days had passed.
        #expect(Array(delays.prefix(5)) == [300, 600, 1200, 2400, 3600], "\(delays.prefix(8))")
        #expect(delays.dropFirst(4).allSatisfy { $0 == 3600 })
        try await harness.wait("the bounce") { harness.queue.message(id) == nil && ((try? harness.mailbox("alice").count) ?? 0) == 2 }
        let notices = try harness.mailbox("alice")
        let subjects = notices.compactMap { ($0["headers"] as? [String: String])?["Subject"] }
        #expect(subjects == ["Delayed Mail (still being retried)", "Undelivered Mail Returned to Sender"], "\(subjects)")
        let warning = try #require(notices.first?["report"] as? [[String: String]])
        #expect(warning.last?["Action"] == "delayed")
        #expect(warning.last?["Will-Retry-Until"] != nil)
        let bounce = try #require(notices.last?["report"] as? [[String: String]])
        #expect(bounce.last?["Action"] == "failed")
        #expect(bounce.last?["Status"]?.hasPrefix("5.") == true, "\(bounce)")
        let deliveryStatus = (notices.last?["parts"] as? [[String: Any]] ?? []).compactMap { $0["type"] as? String }
        #expect(deliveryStatus.contains("message/rfc822"))
        await harness.close()
    }

    @Test("A bounce that fails goes to the postmaster once; one to the postmaster that fails is only logged; nothing to <>")
    func neverToNullSender() async throws {
        let sink = try await offThread { try DeliverySink(["-f", "rcpt"]) }
        let harness = try await RunnerHarness(Self.relayConfiguration(port: sink.port))
        // A message from <> (a bounce arriving from elsewhere) whose recipient refuses it.
        let bounced = try await harness.submit(from: nil, to: ["bob@example.org"], text: Self.text)
        try await harness.wait("the postmaster notice") { harness.queue.message(bounced) == nil && ((try? harness.mailbox("postmaster").count) ?? 0) == 1 }
        let notice = try #require(try harness.mailbox("postmaster").first)
        #expect((notice["headers"] as? [String: String])?["Return-Path"] == "<>")
        #expect((notice["report"] as? [[String: String]])?.last?["Final-Recipient"] == "rfc822; bob@example.org")

        // A notice to the postmaster that cannot be delivered: logged, no further notice.
        try FileManager.default.removeItem(atPath: harness.directory.file("var/mail/postmaster"))
        try "not a Maildir".write(toFile: harness.directory.file("var/mail/postmaster"), atomically: true, encoding: .utf8)
        let second = try await harness.submit(from: nil, to: ["bob@example.org"], text: Self.text)
        try await harness.wait("the second message gone") { harness.queue.message(second) == nil }
        try await harness.wait("the queue empty") { harness.queue.list().isEmpty }
        #expect(harness.logs.text.contains("a message from <> to the postmaster failed"), "\(harness.logs.text)")
        // Every message the runner made was from <>, and none was ever addressed to <>.
        #expect(!harness.logs.text.contains("to <>"))
        #expect(try harness.mailbox("alice").isEmpty)
        await harness.close()
    }

    @Test("NOTIFY=SUCCESS: `relayed` when the next hop does not do DSN, nothing when it does; NOTIFY=NEVER: no bounce")
    func successNotifications() async throws {
        let noDSN = try await offThread { try DeliverySink(["-e"]) }  // -e: HELO only, so no DSN offered
        let harness = try await RunnerHarness(Self.relayConfiguration(port: noDSN.port))
        let relayed = try await harness.submit(from: "alice@localhost", to: ["bob@example.org"], text: Self.text, notify: .on([.success]))
        try await harness.wait("the success report") { harness.queue.message(relayed) == nil && ((try? harness.mailbox("alice").count) ?? 0) == 1 }
        let report = try #require(try harness.mailbox("alice").first?["report"] as? [[String: String]])
        #expect(report.last?["Action"] == "relayed", "\(report)")
        await harness.close()

        let withDSN = try await offThread { try DeliverySink() }
        let second = try await RunnerHarness(Self.relayConfiguration(port: withDSN.port))
        let passed = try await second.submit(from: "alice@localhost", to: ["bob@example.org"], text: Self.text, notify: .on([.success]))
        try await second.wait("delivery") { second.queue.message(passed) == nil }
        try await Task.sleep(for: .milliseconds(300))
        #expect(try second.mailbox("alice").isEmpty, "the next hop reports success itself (RFC 3461 §6.2.2)")
        await second.close()

        let refusing = try await offThread { try DeliverySink(["-f", "rcpt"]) }
        let third = try await RunnerHarness(Self.relayConfiguration(port: refusing.port))
        let never = try await third.submit(from: "alice@localhost", to: ["bob@example.org"], text: Self.text, notify: .never)
        try await third.wait("the failure") { third.queue.message(never) == nil }
        try await Task.sleep(for: .milliseconds(300))
        #expect(try third.mailbox("alice").isEmpty)
        await third.close()
    }

    @Test("Local delivery: NOTIFY=SUCCESS gets `delivered`; RET=HDRS returns only the header")
    func localSuccessAndHeaders() async throws {
        let harness = try await RunnerHarness("")
        let id = try await harness.submit(from: "alice@localhost", to: ["carol@localhost"], text: Self.text, notify: .on([.success, .failure]), ret: .headers)
        try await harness.wait("delivery and report") { harness.queue.message(id) == nil && ((try? harness.mailbox("alice").count) ?? 0) == 1 }
        #expect(try harness.mailbox("carol").count == 1)
        let report = try #require(try harness.mailbox("alice").first)
        #expect((report["report"] as? [[String: String]])?.last?["Action"] == "delivered")
        let parts = (report["parts"] as? [[String: Any]] ?? []).compactMap { $0["type"] as? String }
        #expect(parts.contains("text/rfc822-headers"), "\(parts)")
        await harness.close()
    }
}

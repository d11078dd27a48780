import Foundation
@testable import MailServer
import NIOCore
import Testing
import TestSupport

/// Sendmail's `authwarnings`: a local user who sets another sender with `-f` is named in an
/// `X-Authentication-Warning:` header of the stored message; root and the server's user are not.
@Suite("Local submissions: X-Authentication-Warning for -f by an untrusted user")
struct LocalSubmissionWarningTests {
    static func stored(senderGiven: Bool, trusted: Bool, authWarnings: Bool) async throws -> String {
        let directory = try TemporaryDirectory()
        let queue = try await MailQueue.open(directory: directory.file("spool"))
        let submission = QueueControl.Submission(sender: "boss@example.org", recipients: ["bob@example.org"], senderGiven: senderGiven)
        let submitter = LocalSubmission.Submitter(user: "alice", uid: 1000, trusted: trusted)
        let text = [ByteBuffer(string: "Subject: x\r\n\r\nhi\r\n")].async
        let id = try await LocalSubmission.store(
            submission, text: text, submitter: submitter, queue: queue, hostname: "mx.example.test", authWarnings: authWarnings)
        let body = try await queue.body(of: id).collect(upTo: 1 << 20)
        await queue.close()
        return String(buffer: body)
    }

    @Test("the warning, and each case that has none", arguments: [
        (true, false, true, true),    // -f by alice: warned
        (true, false, false, false),  // privacy without authwarnings
        (true, true, true, false),    // a trusted user
        (false, false, true, false),  // no -f
    ])
    func warning(senderGiven: Bool, trusted: Bool, authWarnings: Bool, warned: Bool) async throws {
        let text = try await Self.stored(senderGiven: senderGiven, trusted: trusted, authWarnings: authWarnings)
        #expect(text.hasPrefix("Received: (from alice@localhost)"), "\(text)")
        let line = "X-Authentication-Warning: mx.example.test: alice set sender to boss@example.org using -f\r\n"
        #expect(text.contains(line) == warned, "\(text)")
        #expect(text.hasSuffix("Subject: x\r\n\r\nhi\r\n"))
    }

    @Test("[smtp] privacy: authwarnings by default, as Sendmail's; [] turns it off")
    func configurationDefault() throws {
        let directory = try TemporaryDirectory()
        let unset = try directory.write("a.toml", "hostname = \"mx.example.test\"\n")
        let none = try directory.write("b.toml", "hostname = \"mx.example.test\"\n[smtp]\nprivacy = []\n")
        #expect(try #require(SwiftMTAConfiguration.check(path: unset).0).smtp.privacy == ["authwarnings"])
        #expect(try #require(SwiftMTAConfiguration.check(path: none).0).smtp.privacy == [])
    }
}

extension Array where Element == ByteBuffer {
    /// The buffers as an async sequence, as the control socket hands a message's text over.
    var async: AsyncStream<ByteBuffer> {
        AsyncStream { continuation in
            for buffer in self { continuation.yield(buffer) }
            continuation.finish()
        }
    }
}

import Foundation
@testable import MailServer
import NIOCore
import SMTPProtocol
import Testing

/// The runner's pieces that need no peer: the TLS policy map's values, header masquerading's
/// address rewriting, the retry timers, the control socket's requests, sendmail's arguments.
@Suite("Queue runner: policy values, header rewriting, timers, control requests, sendmail options")
struct RunnerUnitTests {
    @Test("TLS policy values", arguments: [
        ("none", "none", false),
        ("may", "opportunistic", false),
        ("encrypt", "required(encrypt only)", false),
        ("verify match=mx.example:relay.example", "required(host name)", false),
        ("secure", "required(host name)", false),
        ("dane", "dane", false),
        ("MAY auth_without_tls=yes", "opportunistic", true),
    ] as [(String, String, Bool)])
    func policies(value: String, client: String, plaintext: Bool) throws {
        let policy = try OutboundTLSPolicy(parsing: value)
        #expect(policy.clientPolicy(nextHop: "example.org").description == client)
        #expect(policy.authWithoutTLS == plaintext)
    }

    @Test("Bad TLS policy values are errors that say why", arguments: ["", "optional", "may match", "may colour=blue", "may auth_without_tls=maybe"])
    func badPolicies(value: String) {
        #expect(throws: OutboundTLSPolicy.PolicyError.self) { try OutboundTLSPolicy(parsing: value) }
    }

    @Test("Credentials raise none and may to encrypt, unless auth_without_tls=yes")
    func credentialsNeedTLS() throws {
        #expect(OutboundTLSPolicy.default.withCredentials().level == .encrypt)
        #expect(try OutboundTLSPolicy(parsing: "none").withCredentials().level == .encrypt)
        #expect(try OutboundTLSPolicy(parsing: "verify").withCredentials().level == .verify)
        #expect(try OutboundTLSPolicy(parsing: "may auth_without_tls=yes").withCredentials().level == .may)
    }

    @Test("Sender headers: every address rewritten in place, display names, comments and groups kept", arguments: [
        (" alice@here.example", " alice@there.example"),
        (" Alice <alice@here.example>", " Alice <alice@there.example>"),
        (" \"Smith, Alice\" <alice@here.example>, bob@here.example (Bob)", " \"Smith, Alice\" <alice@there.example>, bob@there.example (Bob)"),
        (" Team: alice@here.example, carol@other.example;", " Team: alice@there.example, carol@other.example;"),
        (" carol@other.example", nil),
        (" \"alice@here.example\" <carol@other.example>", nil),
    ] as [(String, String?)])
    func headerAddresses(value: String, expected: String?) {
        let rewritten = SenderMasquerade.rewriteAddresses(value) { address in
            address.hasSuffix("@here.example") ? address.replacingOccurrences(of: "@here.example", with: "@there.example") : nil
        }
        #expect(rewritten == expected)
    }

    @Test("Only sender fields are rewritten; continuation lines stay with their field")
    func headerFields() throws {
        let header = "Received: from a (alice@here.example)\r\nFrom: Alice\r\n <alice@here.example>\r\nTo: bob@here.example\r\nReply-To: alice@here.example\r\n\r\n"
        let rewritten = try #require(SenderMasquerade.rewriteHeader(header) { address in
            address.replacingOccurrences(of: "@here.example", with: "@there.example")
        })
        #expect(rewritten == "Received: from a (alice@here.example)\r\nFrom: Alice\r\n <alice@there.example>\r\nTo: bob@here.example\r\nReply-To: alice@there.example\r\n\r\n")
    }

    @Test("The timer heap gives the earliest first")
    func timerHeap() {
        var heap = TimerHeap()
        let times = (0..<200).map { _ in Int64.random(in: 0...10_000) }
        for (index, time) in times.enumerated() { heap.insert(QueueTimestamp(millisecondsSince1970: time), QueueID(rawValue: UInt64(index))) }
        var popped: [Int64] = []
        while let (time, _) = heap.pop() { popped.append(time.millisecondsSince1970) }
        #expect(popped == times.sorted())
    }

    @Test("Control requests survive the trip, split anywhere", arguments: [
        QueueControl.Request.list(json: true),
        .show("0TAmzW5c3X", json: false),
        .remove("0TAmzW5c3X"),
        .run(selection: "all", verbose: true),
        .submit(QueueControl.Submission(sender: "alice@example.org", recipients: ["bob@example.org", "carol"], parameters: ["RET=HDRS"], senderGiven: true)),
    ])
    func controlRequests(request: QueueControl.Request) throws {
        let bytes = Array(QueueControl.encode(request).utf8)
        for split in 0..<bytes.count {
            var buffer = ByteBuffer(bytes: bytes[..<split])
            #expect(try QueueControl.decode(&buffer) == nil)
        }
        var buffer = ByteBuffer(bytes: bytes)
        #expect(try QueueControl.decode(&buffer) == request)
        #expect(buffer.readableBytes == 0)
    }

    @Test("Malformed control requests are refused", arguments: ["frobnicate\n", "show\n", "submit\nwhat is this\ndata\n", String(repeating: "x", count: 5000)])
    func badControlRequests(text: String) {
        var buffer = ByteBuffer(string: text)
        #expect(throws: QueueControl.ProtocolError.self) { try QueueControl.decode(&buffer) }
    }

    @Test("sendmail's options, as cron and PHP give them", arguments: [
        (["-t", "-i"], true, true, nil, [String]()),
        (["-oi", "-f", "root@example.org", "bob@example.org"], false, true, "root@example.org", ["bob@example.org"]),
        (["-froot@example.org", "-FCron Daemon", "--", "-weird@example.org"], false, false, "root@example.org", ["-weird@example.org"]),
        (["-r", "a@b.example", "-odq", "c@d.example"], false, false, "a@b.example", ["c@d.example"]),
    ] as [([String], Bool, Bool, String?, [String])])
    func sendmailOptions(arguments: [String], readRecipients: Bool, ignoreDots: Bool, sender: String?, recipients: [String]) throws {
        let options = try SendmailCommandLine.parse(arguments, invokedAs: "sendmail").get()
        #expect(options.readRecipients == readRecipients)
        #expect(options.ignoreDots == ignoreDots)
        #expect(options.sender == sender)
        #expect(options.recipients == recipients)
    }

    @Test("sendmail's modes and refusals")
    func sendmailModes() throws {
        #expect(try SendmailCommandLine.parse([], invokedAs: "mailq").get().mode == .print)
        #expect(try SendmailCommandLine.parse(["-bs"], invokedAs: "sendmail").get().mode == .smtp)
        #expect(try SendmailCommandLine.parse(["-q", "-v"], invokedAs: "sendmail").get().mode == .queueRun)
        #expect(try SendmailCommandLine.parse(["-bv", "x"], invokedAs: "sendmail").get().mode == .verify)
        #expect(throws: SendmailCommandLine.UsageError.self) { try SendmailCommandLine.parse(["-bd"], invokedAs: "sendmail").get() }
        #expect(throws: SendmailCommandLine.UsageError.self) { try SendmailCommandLine.parse(["-f"], invokedAs: "sendmail").get() }
        #expect(throws: SendmailCommandLine.UsageError.self) { try SendmailCommandLine.parse(["-Z"], invokedAs: "sendmail").get() }
    }

    @Test("A message header as sendmail edits it")
    func messageHeader() {
        var header = MessageHeader(text: "To: a@b.example,\r\n c@d.example\r\nBCC: secret@e.example\r\nSubject: x\r\n")
        #expect(header.values(of: "to") == [" a@b.example, c@d.example"])
        #expect(header.contains("bcc"))
        header.remove("bcc")
        header.append("From", "\(MessageHeader.displayName("Smith, Al")) <al@example.org>")
        #expect(header.encoded == "To: a@b.example,\r\n c@d.example\r\nSubject: x\r\nFrom: \"Smith, Al\" <al@example.org>\r\n\r\n")
    }
}

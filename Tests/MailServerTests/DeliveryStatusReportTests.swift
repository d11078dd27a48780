import Foundation
import MailServer
import SMTPProtocol
import Testing
import TestSupport

/// Delivery status notifications (RFC 3464), parsed back by Python's `email` package, which knows
/// multipart/report and message/delivery-status.
@Suite("Delivery status reports")
struct DeliveryStatusReportTests {
    static let original = "Received: from client\r\nSubject: the original\r\nFrom: alice@example.org\r\n\r\n" +
        String(repeating: "body line\r\n", count: 100)

    static func report(kind: DeliveryStatusReport.Kind = .failure, ret: DSNReturn? = nil, limit: Int = 50_000, utf8: Bool = false) -> DeliveryStatusReport {
        DeliveryStatusReport(
            kind: kind, reportingMTA: "mx.example.test",
            recipientOfReport: try! Mailbox(parsing: "alice@example.org"), envelopeID: "QQ314159",
            arrivalDate: 1_796_115_821, returnContent: ret, internationalized: utf8,
            recipients: [
                .init(originalRecipient: try! .init(type: "rfc822", address: "Bob@Example.com"),
                      finalRecipient: "bob@example.com", action: .failed, status: EnhancedStatusCode(5, 1, 1)!,
                      remoteMTA: "mx.example.com", diagnostic: "550 5.1.1 <bob@example.com>: no such\r\nuser",
                      lastAttempt: 1_796_115_900),
                .init(finalRecipient: "carol@example.net", action: kind == .delay ? .delayed : .failed,
                      status: EnhancedStatusCode(4, 4, 1)!, diagnostic: "connection refused",
                      lastAttempt: 1_796_115_900, willRetryUntil: kind == .delay ? 1_796_547_821 : nil),
            ],
            returnedMessageLimit: limit, date: 1_796_116_000, uniqueToken: "4AbCdEf")
    }

    static func render(_ report: DeliveryStatusReport, original: String = original, pieces: Int = 13) throws -> String {
        let bytes = Array(original.utf8)
        var offset = 0
        var output: [UInt8] = []
        try report.write(originalSize: bytes.count, original: {
            guard offset < bytes.count else { return nil }
            let end = min(bytes.count, offset + pieces)
            defer { offset = end }
            return Array(bytes[offset..<end])
        }, to: { output += $0 })
        return String(decoding: output, as: UTF8.self)
    }

    /// Python's reading of the report: content types, the per-recipient fields, the returned part.
    static func parse(_ text: String) async throws -> [String: String] {
        let directory = try TemporaryDirectory()
        let file = try directory.write("report.eml", text)
        let output = try await ExternalTool.runChecked("python3", ["-c", """
            import email, email.policy, sys, json
            raw = open(sys.argv[1], 'rb').read()
            assert b'\\n' not in raw.replace(b'\\r\\n', b''), 'a bare LF'
            assert all(len(l) <= 998 for l in raw.split(b'\\r\\n')), 'a line over 998 octets'
            m = email.message_from_bytes(raw, policy=email.policy.compat32)
            parts = m.get_payload()
            status = parts[1].get_payload()
            out = {
              'type': m.get_content_type(), 'report-type': m.get_param('report-type'),
              'to': m['To'], 'subject': m['Subject'], 'auto': m['Auto-Submitted'],
              'parts': ','.join(p.get_content_type() for p in parts),
              'reporting': status[0]['Reporting-MTA'], 'envid': status[0]['Original-Envelope-Id'],
              'blocks': str(len(status) - 1),
              'final1': status[1]['Final-Recipient'], 'orig1': status[1]['Original-Recipient'] or '',
              'action1': status[1]['Action'], 'status1': status[1]['Status'], 'diag1': status[1]['Diagnostic-Code'],
              'action2': status[2]['Action'], 'retry2': status[2]['Will-Retry-Until'] or '',
            }
            third = parts[2]
            if third.get_content_type() in ('message/rfc822', 'message/global'):
                inner = third.get_payload()[0]
                out["returned-subject"] = inner["Subject"] or ""
                out['returned-body-lines'] = str(inner.get_payload().count('body line'))
            else:
                out['returned-headers'] = third.get_payload()
            print(json.dumps(out))
            """, file])
        let object = try JSONSerialization.jsonObject(with: Data(output.standardOutput.utf8))
        return try #require(object as? [String: String])
    }

    @Test("A bounce: multipart/report with the notification, one status block per recipient, the whole message",
          arguments: [1, 13, 4096])
    func failure(pieces: Int) async throws {
        let fields = try await Self.parse(try Self.render(Self.report(), pieces: pieces))
        #expect(fields["type"] == "multipart/report")
        #expect(fields["report-type"] == "delivery-status")
        #expect(fields["parts"] == "text/plain,message/delivery-status,message/rfc822")
        #expect(fields["to"] == "alice@example.org")
        #expect(fields["auto"] == "auto-replied")
        #expect(fields["subject"] == "Undelivered Mail Returned to Sender")
        #expect(fields["reporting"] == "dns; mx.example.test")
        #expect(fields["envid"] == "QQ314159")
        #expect(fields["blocks"] == "2")
        #expect(fields["final1"] == "rfc822; bob@example.com")
        #expect(fields["orig1"] == "rfc822;Bob@Example.com")
        #expect(fields["action1"] == "failed")
        #expect(fields["status1"] == "5.1.1")
        // The remote reply's CR LF is not carried into the header.
        #expect(fields["diag1"] == "smtp; 550 5.1.1 <bob@example.com>: no such user")
        #expect(fields["returned-subject"] == "the original")
        #expect(fields["returned-body-lines"] == "100")
    }

    @Test("RET=HDRS, a delay warning, or a message over the limit return the header only",
          arguments: [(DSNReturn?.some(.headers), DeliveryStatusReport.Kind.failure, 50_000),
                      (nil, .delay, 50_000), (nil, .failure, 100)])
    func headersOnly(ret: DSNReturn?, kind: DeliveryStatusReport.Kind, limit: Int) async throws {
        let text = try Self.render(Self.report(kind: kind, ret: ret, limit: limit), pieces: 5)
        #expect(!text.contains("body line"))
        let fields = try await Self.parse(text)
        #expect(fields["parts"] == "text/plain,message/delivery-status,text/rfc822-headers")
        #expect(fields["returned-headers"]?.contains("Subject: the original") == true)
        if kind == .delay {
            #expect(fields["action2"] == "delayed")
            #expect(fields["retry2"] == "Sun, 06 Dec 2026 09:03:41 +0000")
            #expect(fields["subject"]?.contains("Delayed") == true)
        }
    }

    @Test("An original without a body, or without a final line end, still makes a well-formed report")
    func oddOriginals() async throws {
        for original in ["Subject: only a header\r\n", "Subject: x\r\n\r\nno final line end", ""] {
            let fields = try await Self.parse(try Self.render(Self.report(), original: original))
            #expect(fields["blocks"] == "2")
            let hdrs = try await Self.parse(try Self.render(Self.report(ret: .headers), original: original))
            #expect(hdrs["parts"] == "text/plain,message/delivery-status,text/rfc822-headers")
        }
    }

    @Test("SMTPUTF8 messages get RFC 6533's global types")
    func internationalized() throws {
        let text = try Self.render(Self.report(utf8: true))
        #expect(text.contains("Content-Type: message/global-delivery-status"))
        #expect(text.contains("Content-Type: message/global\r\n"))
        #expect(text.contains("Final-Recipient: utf-8; bob@example.com"))
    }
}

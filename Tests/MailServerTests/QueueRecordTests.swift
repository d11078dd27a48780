@testable import MailServer
import NIOCore
import SMTPProtocol
import Testing

@Suite("Spool records: checksums, headers, ids and the envelope's encoding")
struct QueueRecordTests {
    @Test("CRC-32C gives RFC 3720's check value and continues across pieces")
    func crcCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
        let text = Array("The quick brown fox jumps over the lazy dog, twice over and more.".utf8)
        for split in [0, 1, 7, 8, 9, 33, text.count] {
            let first = text[..<split].withUnsafeBytes { CRC32C.checksum($0) }
            let whole = text[split...].withUnsafeBytes { CRC32C.checksum($0, continuing: first) }
            #expect(whole == CRC32C.checksum(text), "split at \(split)")
        }
    }

    static let header = JournalRecord(kind: .commit, payloadLength: 321, payloadCRC: 0xDEAD_BEEF, sequence: 77, key: 0x0123_4567_89AB)

    @Test("A header decodes to what was encoded")
    func headerRoundTrip() throws {
        var bytes = [UInt8](repeating: 0, count: 32)
        bytes.withUnsafeMutableBytes { Self.header.encodeHeader(into: $0) }
        let decoded = try bytes.withUnsafeBytes { try JournalRecord.decodeHeader($0) }
        #expect(decoded.kind == .commit)
        #expect(decoded.payloadLength == 321)
        #expect(decoded.payloadCRC == 0xDEAD_BEEF)
        #expect(decoded.sequence == 77)
        #expect(decoded.key == 0x0123_4567_89AB)
    }

    @Test("Any damaged octet of a header makes it invalid", arguments: 0..<32)
    func headerDamage(offset: Int) {
        var bytes = [UInt8](repeating: 0, count: 32)
        bytes.withUnsafeMutableBytes { Self.header.encodeHeader(into: $0) }
        bytes[offset] ^= 0x10
        #expect(throws: JournalRecord.HeaderProblem.self) { try bytes.withUnsafeBytes { try JournalRecord.decodeHeader($0) } }
    }

    @Test("Zeros and short input are not headers", arguments: [0, 16, 31, 32, 4096])
    func notHeaders(count: Int) {
        let bytes = [UInt8](repeating: 0, count: count)
        #expect(throws: JournalRecord.HeaderProblem.self) { try bytes.withUnsafeBytes { try JournalRecord.decodeHeader($0) } }
    }

    @Test("Queue ids are ten base-62 digits that sort as their values", arguments: [
        UInt64(0), 1, 61, 62, 1_764_000_000 * QueueID.unitsPerSecond + 999_999, 839_299_365_868_340_223,
    ])
    func queueIDText(value: UInt64) throws {
        let id = QueueID(rawValue: value)
        #expect(id.description.utf8.count == 10)
        #expect(QueueID(id.description) == id)
        let next = QueueID(rawValue: value + 1)
        if value + 1 <= 839_299_365_868_340_223 { #expect(id.description < next.description) }
    }

    @Test("Text that is not a queue id is refused", arguments: ["", "abc", "0123456789A", "012345678-", "zzzzzzzzzz!", "ééééé"])
    func notQueueIDs(text: String) {
        #expect(QueueID(text) == nil)
    }

    @Test("A queue id encodes its arrival second")
    func queueIDSecond() {
        let id = QueueID(rawValue: QueueID.floor(microseconds: 1_764_000_000_250_000))
        #expect(id.secondsSince1970 == 1_764_000_000)
    }

    /// MAIL and RCPT lines as clients send them, with every parameter SMTPProtocol knows.
    static let transactions: [(String, [String])] = [
        ("MAIL FROM:<>", ["RCPT TO:<postmaster@example.net>"]),
        ("MAIL FROM:<a@example.org> SIZE=12345 BODY=8BITMIME RET=HDRS ENVID=QQ314159 AUTH=<>",
         ["RCPT TO:<b@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@example.net", "RCPT TO:<Postmaster>"]),
        ("MAIL FROM:<\"john doe\"@example.org> BODY=BINARYMIME SMTPUTF8 REQUIRETLS XFOO=bar",
         ["RCPT TO:<用户@例子.广告> NOTIFY=NEVER", "RCPT TO:<c@[192.0.2.1]>", "RCPT TO:<d@[IPv6:2001:db8::1]> XBAR"]),
        ("MAIL FROM:<a+tag@example.org> AUTH=alice+2Bsecond@example.org",
         ["RCPT TO:<e@example.net> ORCPT=utf-8;e@example.net NOTIFY=DELAY"]),
        ("MAIL FROM:<@relay.example,@hop.example:f@example.org>", ["RCPT TO:<@relay.example:g@example.net>"]),
    ]

    @Test("An envelope comes back from its journal encoding unchanged", arguments: transactions)
    func envelopeRoundTrip(mail: String, recipients: [String]) throws {
        guard case .mail(let path, let parameters) = try SMTPCommand.parse(Substring(mail)) else {
            Issue.record("not MAIL: \(mail)")
            return
        }
        var list: [SMTPEnvelope.Recipient] = []
        for line in recipients {
            let command = try SMTPCommand.parse(Substring(line))
            let (forward, rcptParameters) = try #require({ () -> (ForwardPath, RecipientParameters)? in
                if case .recipient(let forward, let rcptParameters) = command { return (forward, rcptParameters) }
                return nil
            }())
            list.append(.init(forward, parameters: rcptParameters))
        }
        let envelope = QueueEnvelope(
            reversePath: path, mailParameters: parameters, recipients: list,
            client: .init(address: "2001:db8::7", hostName: nil, heloName: "[IPv6:2001:db8::7]", protocolName: "UTF8SMTPS", authenticatedUser: "ü", tls: nil),
            receivedAt: QueueTimestamp(millisecondsSince1970: -5))
        var buffer = ByteBuffer()
        JournalCoding.encode(envelope, into: &buffer)
        #expect(try JournalCoding.decodeEnvelope(&buffer) == envelope)
        #expect(buffer.readableBytes == 0)
        #expect(JournalCoding.roundTrips(envelope))
    }

    static let statuses: [QueueRecipientStatus] = [
        .pending,
        QueueRecipientStatus(disposition: .deferred(nextAttempt: QueueTimestamp(millisecondsSince1970: 1_764_000_300_000)), attempts: 3,
                             lastAttempt: QueueTimestamp(millisecondsSince1970: 1_764_000_000_000), reply: "451 4.3.0 try later", remoteMTA: "mx.example.net", delayNotified: true),
        QueueRecipientStatus(disposition: .delivered, attempts: 1, lastAttempt: .now, reply: "250 2.0.0 ok queued as 12345", remoteMTA: "[192.0.2.9]", finalNotified: true),
        QueueRecipientStatus(disposition: .failed, attempts: 7, reply: "550 5.1.1 <x@example.net>: user unknown ✉", delayNotified: true, finalNotified: true),
    ]

    @Test("A recipient status comes back from its encoding unchanged", arguments: statuses)
    func statusRoundTrip(status: QueueRecipientStatus) throws {
        var buffer = ByteBuffer()
        JournalCoding.encode(status, into: &buffer)
        #expect(try JournalCoding.decodeStatus(&buffer) == status)
        #expect(buffer.readableBytes == 0)
        var changes = JournalCoding.statusPayload([(2, status), (0, .pending)])
        let decoded = try JournalCoding.decodeStatusChanges(&changes)
        #expect(decoded.map(\.0) == [2, 0])
        #expect(decoded.map(\.1) == [status, .pending])
    }

    @Test("A commit record's payload round-trips, and one whose lengths disagree is refused")
    func commitPayload() throws {
        let envelope = try QueueFixture.envelope(["a@example.net", "b@example.net"])
        var encoded = ByteBuffer()
        JournalCoding.encode(envelope, into: &encoded)
        let extents = [JournalExtent(sequence: 4, offset: 4096, length: 100), JournalExtent(sequence: 5, offset: 32, length: 23)]
        var payload = JournalCoding.commitPayload(encodedEnvelope: encoded, statuses: [.pending, Self.statuses[1]], bodyLength: 123, extents: extents)
        let commit = try JournalCoding.decodeCommit(&payload)
        #expect(commit.envelope == envelope)
        #expect(commit.statuses == [.pending, Self.statuses[1]])
        #expect(commit.bodyLength == 123)
        #expect(commit.extents == extents)
        var wrong = JournalCoding.commitPayload(encodedEnvelope: encoded, statuses: [.pending, .pending], bodyLength: 124, extents: extents)
        #expect(throws: JournalDecodingError.self) { try JournalCoding.decodeCommit(&wrong) }
        var short = JournalCoding.commitPayload(encodedEnvelope: encoded, statuses: [.pending], bodyLength: 123, extents: extents)
        #expect(throws: JournalDecodingError.self) { try JournalCoding.decodeCommit(&short) }
        var truncated = JournalCoding.commitPayload(encodedEnvelope: encoded, statuses: [.pending, .pending], bodyLength: 123, extents: extents)
        truncated.moveWriterIndex(to: truncated.writerIndex - 3)
        #expect(throws: JournalDecodingError.self) { try JournalCoding.decodeCommit(&truncated) }
    }

    @Test("Durations are read as Sendmail writes them", arguments: [
        ("90", 90), ("30s", 30), ("5m", 300), ("4h", 14400), ("5d", 432_000), ("2w", 1_209_600), ("1h30m", 5400), ("1d2h3m4s", 93784),
    ] as [(String, Int64)])
    func durations(text: String, seconds: Int64) {
        #expect(QueueSettings.parseDuration(text) == .seconds(seconds))
    }

    @Test("Text that is not a duration is refused", arguments: ["", "h", "5x", "-5m", "5 m", "1.5h", "99999999999999999999w"])
    func badDurations(text: String) {
        #expect(QueueSettings.parseDuration(text) == nil)
    }

    @Test("The retry delay doubles from min_queue_age up to max_queue_age")
    func retrySchedule() {
        let settings = QueueSettings(minQueueAge: .seconds(300), maxQueueAge: .seconds(3600))
        #expect((1...6).map { settings.retryDelay(afterAttempts: $0) } == [300, 600, 1200, 2400, 3600, 3600].map { Duration.seconds($0) })
    }

    @Test("The fuzz target's recipe builds segments that recovery reads: a message, then its removal")
    func fuzzRecipe() throws {
        var encoded = ByteBuffer()
        JournalCoding.encode(try QueueFixture.envelope(), into: &encoded)
        let text = Array("Subject: x\r\n\r\nhello\r\n".utf8)
        let commit = JournalCoding.commitPayload(
            encodedEnvelope: encoded, statuses: [.pending], bodyLength: text.count,
            extents: [JournalExtent(sequence: 7, offset: 4096, length: text.count)])
        func step(_ kind: UInt8, _ key: UInt8, _ payload: [UInt8]) -> [UInt8] {
            [kind, key, UInt8(payload.count & 0xFF), UInt8(payload.count >> 8)] + payload
        }
        let recipe = step(3, 1, text) + step(4, 1, Array(commit.readableBytesView))
        #expect(recipe.withUnsafeBytes { JournalFuzzing.scanSegment($0) } == 1)
        let removed = recipe + step(6, 1, [])
        #expect(removed.withUnsafeBytes { JournalFuzzing.scanSegment($0) } == 0)
        let torn = step(3, 1, text) + step(0x83, 0, Array(repeating: 0x5A, count: 40)) + step(4, 1, Array(commit.readableBytesView))
        #expect(torn.withUnsafeBytes { JournalFuzzing.scanSegment($0) } == 0)
    }
}

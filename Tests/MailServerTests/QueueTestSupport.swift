import Foundation
import Logging
@testable import MailServer
import NIOCore
import SMTPProtocol
import Testing
import TestSupport

/// Builders and helpers shared by the spool's tests.
enum QueueFixture {
    static var logger: Logger {
        var logger = Logger(label: "swiftmta.queue.test") { _ in SwiftLogNoOpLogHandler() }
        logger.logLevel = .critical
        return logger
    }

    static func envelope(_ recipients: [String] = ["rcpt@example.net"], sender: String? = "sender@example.org") throws -> QueueEnvelope {
        QueueEnvelope(
            reversePath: ReversePath(mailbox: try sender.map { try Mailbox(parsing: $0) }),
            mailParameters: MailParameters(size: 1000, body: .eightBitMIME, dsnReturn: .headers, envelopeID: "env-1"),
            recipients: try recipients.map {
                SMTPEnvelope.Recipient(
                    ForwardPath(mailbox: try Mailbox(parsing: $0)),
                    parameters: RecipientParameters(notify: .on([.failure]), originalRecipient: try .init(type: "rfc822", address: $0)))
            },
            client: .init(address: "192.0.2.1", hostName: "client.example.org", heloName: "client.example.org", protocolName: "ESMTPSA", authenticatedUser: "alice", tls: "TLSv1.3 TLS_AES_128_GCM_SHA256"),
            receivedAt: QueueTimestamp(millisecondsSince1970: 1_764_000_000_123))
    }

    static func configuration(segmentSize: Int = 256 << 10, chunkSize: Int = 4096) -> MailQueue.Configuration {
        var configuration = MailQueue.Configuration()
        configuration.segmentSize = segmentSize
        configuration.chunkSize = chunkSize
        configuration.bufferedBytesPerMessage = max(chunkSize, 16384)
        return configuration
    }

    static func open(_ path: String, _ configuration: MailQueue.Configuration = configuration()) async throws -> MailQueue {
        try await MailQueue.open(directory: path, configuration: configuration, logger: logger)
    }

    /// Commits `text` in `pieces` appends.
    @discardableResult
    static func commit(_ queue: MailQueue, _ text: String, pieces: Int = 3, recipients: [String] = ["rcpt@example.net"]) async throws -> QueueID {
        let writer = try queue.beginMessage()
        let bytes = Array(text.utf8)
        let size = max(1, (bytes.count + pieces - 1) / pieces)
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset + size)
            try await writer.append(ByteBuffer(bytes: bytes[offset..<end]))
            offset = end
        }
        return try await writer.commit(try envelope(recipients))
    }

    static func text(_ id: QueueID, in queue: MailQueue) async throws -> String {
        String(buffer: try await queue.body(of: id).collect(upTo: 64 << 20))
    }

    /// A message text of about `size` octets that names itself.
    static func message(_ name: String, size: Int = 1500) -> String {
        var text = "Subject: \(name)\r\n\r\n"
        var line = 0
        while text.utf8.count < size {
            text += "\(name) line \(line) " + String(repeating: "z", count: 40) + "\r\n"
            line += 1
        }
        return text
    }

    /// The records of a segment file, walked header by header from offset 0 until the first
    /// invalid header.
    static func records(in path: String) throws -> [(offset: Int, record: JournalRecord)] {
        let data = try Array(Data(contentsOf: URL(fileURLWithPath: path)))
        var result: [(Int, JournalRecord)] = []
        var offset = 0
        data.withUnsafeBytes { raw in
            while offset + JournalRecord.headerSize <= raw.count,
                  let record = try? JournalRecord.decodeHeader(UnsafeRawBufferPointer(rebasing: raw[offset...])),
                  result.isEmpty || record.sequence == result[0].1.sequence
            {
                result.append((offset, record))
                offset += record.totalLength
            }
        }
        return result
    }

    /// The segment files of a spool that are in use (a `segment` header), newest last.
    static func liveSegments(_ spool: String) throws -> [(path: String, sequence: UInt64)] {
        let journal = spool + "/journal"
        var result: [(String, UInt64)] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: journal) where name.hasPrefix("segment-") {
            let path = journal + "/" + name
            if let first = try records(in: path).first, first.record.kind == .segment { result.append((path, first.record.sequence)) }
        }
        return result.sorted { $0.1 < $1.1 }
    }

    /// Overwrites octets of a file.
    static func patch(_ path: String, at offset: Int, _ bytes: [UInt8]) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(offset))
        try handle.write(contentsOf: Data(bytes))
    }

    static func read(_ path: String, at offset: Int, count: Int) throws -> [UInt8] {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(offset))
        return Array(try handle.read(upToCount: count) ?? Data())
    }

    /// A whole record's octets (header and payload) for writing into a segment by hand.
    static func recordBytes(_ kind: JournalRecord.Kind, sequence: UInt64, key: UInt64, payload: [UInt8]) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: JournalRecord.headerSize + payload.count)
        bytes.withUnsafeMutableBytes { raw in
            let crc = payload.withUnsafeBytes { CRC32C.checksum($0) }
            JournalRecord(kind: kind, payloadLength: payload.count, payloadCRC: crc, sequence: sequence, key: key).encodeHeader(into: raw)
        }
        bytes.replaceSubrange(JournalRecord.headerSize..., with: payload)
        return bytes
    }

    /// Whether this process may mount file systems (root with CAP_SYS_ADMIN, as in this project's
    /// containers); the disk-full test then uses a real small file system.
    static let canMount: Bool = {
        guard getuid() == 0, let directory = try? TemporaryDirectory(prefix: "swiftmta-mount-probe") else { return false }
        let mounted = (try? ExternalTool.run("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", directory.path]))?.status == 0
        if mounted { _ = try? ExternalTool.run("umount", [directory.path]) }
        return mounted
    }()

    /// The crash-test child, built beside the tests.
    static var benchmarkExecutable: String { "\(ExternalTool.repositoryRoot)/.build/debug/MailQueueBenchmark" }
}

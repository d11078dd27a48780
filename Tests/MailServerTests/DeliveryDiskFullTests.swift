import Foundation
import Testing
import TestSupport

/// A full disk end to end: `swiftmta serve` with its spool on a small loop-mounted ext4 file
/// system. When the spool can take no more, DATA gets `452 4.3.1` (RFC 3463 X.3.1), nothing of the
/// refused message is left in the queue, the server keeps running, and once space returns it takes
/// mail again and delivers everything it acknowledged.
@Suite("Full disk end to end: 452 4.3.1, nothing half-stored, recovery", .serialized,
       .enabled(if: QueueFixture.canMount && ExternalTool.find("mkfs.ext4") != nil, "needs root to loop-mount a file system"))
struct DeliveryDiskFullTests {
    /// Sends `count` messages of `size` octets with smtplib; one line per message: the DATA reply.
    static let sender = """
        import smtplib, sys
        port, count, size, tag = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
        line = ("x" * 76 + "\\r\\n").encode()
        for n in range(count):
            body = ("Subject: %s %d\\r\\nX-Fill: %s-%d\\r\\n\\r\\n" % (tag, n, tag, n)).encode() + line * (size // 78)
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=30) as s:
                    s.ehlo("filler.example")
                    s.mail("alice@example.test")
                    s.rcpt("bob@localhost")
                    code, text = s.data(body)
                    print(code, text.decode(errors="replace"), flush=True)
                    if code != 250:
                        break
            except smtplib.SMTPResponseException as error:
                print(error.smtp_code, error.smtp_error.decode(errors="replace"), flush=True)
                break
        """

    @Test("452 4.3.1 when the spool's file system is full; the refused message is nowhere; mail flows again when space returns")
    func fullDiskEndToEnd() async throws {
        let directory = try TemporaryDirectory(prefix: "swiftmta-e2e-full")
        let image = directory.file("fs.img")
        let mount = directory.file("mnt")
        try await ExternalTool.runChecked("truncate", ["-s", "160M", image])
        try await ExternalTool.runChecked("mkfs.ext4", ["-q", "-m", "0", "-F", image])
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        try await ExternalTool.runChecked("mount", ["-o", "loop", image, mount])
        defer { _ = try? ExternalTool.run("umount", ["-l", mount]) }

        let server = try await offThread {
            try ServeProcess("""
                local_users = "any"
                [queue]
                directory = "\(mount)/spool"
                delivery_mode = "queue"
                [local]
                mail_directory = "var/mail"
                """, modes: ["smtp"])
        }
        defer { server.process.stop() }
        // Take the rest of the space away.
        let filler = mount + "/filler"
        try await offThread {
            let descriptor = open(filler, O_CREAT | O_WRONLY, 0o600)
            let block = [UInt8](repeating: 0, count: 1 << 20)
            while block.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) > 0 {}
            fsync(descriptor)
            close(descriptor)
        }
        let first = try await ExternalTool.run("python3", ["-c", Self.sender, "\(server["smtp"])", "400", "\(1 << 20)", "fill"], timeout: .seconds(600))
        let replies = first.standardOutput.split(separator: "\n").map(String.init)
        let accepted = replies.filter { $0.hasPrefix("250 ") }.count
        let refusal = try #require(replies.last, "\(first.standardError)")
        #expect(refusal.hasPrefix("452 4.3.1"), "the spool filled up and said so: \(replies.suffix(3)) \(first.standardError)")
        #expect(accepted > 0)

        // Nothing half-stored: the queue holds exactly the acknowledged messages.
        let config = server.directory.file("swiftmta.toml")
        let listed = try await ExternalTool.runChecked(ServeProcess.executable, ["queue", "list", "--json", "--config", config])
        let queued = try #require(try JSONSerialization.jsonObject(with: Data(listed.standardOutput.utf8)) as? [[String: Any]])
        #expect(queued.count == accepted, "\(queued.count) queued, \(accepted) acknowledged")
        #expect(server.process.exitStatus(within: .zero) == nil, "the server is still running")

        // Space returns: mail is taken again (the spool tries to make a segment again within seconds).
        try FileManager.default.removeItem(atPath: filler)
        var again = false
        let deadline = ContinuousClock.now + .seconds(60)
        while !again, ContinuousClock.now < deadline {
            let retry = try await ExternalTool.run("python3", ["-c", Self.sender, "\(server["smtp"])", "1", "4096", "after"])
            again = retry.standardOutput.hasPrefix("250 ")
            if !again { try await Task.sleep(for: .milliseconds(500)) }
        }
        #expect(again, "the spool took mail again once there was room")
        let flushed = try await ExternalTool.runChecked(ServeProcess.executable, ["queue", "flush", "--config", config], timeout: .seconds(600))
        #expect(flushed.standardOutput.contains("0 messages in the queue"), "\(flushed.standardOutput.suffix(300))")
        let delivered = try MailboxReader.maildir(server.directory.file("var/mail/bob"))
        #expect(delivered.count == accepted + 1)
    }
}

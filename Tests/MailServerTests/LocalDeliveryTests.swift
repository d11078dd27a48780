import Foundation
import MailServer
import SMTPProtocol
import Testing
import TestSupport

/// Local delivery into Maildir and mbox, read back by Python's `mailbox` module (a real reader of
/// both formats) and checked byte for byte where the format fixes the bytes.
@Suite("Local delivery")
struct LocalDeliveryTests {
    static let sender = ReversePath(mailbox: try! Mailbox(parsing: "alice@example.org"))

    /// A message in SMTP form (CRLF), handed over in pieces of `size` octets.
    static func message(_ text: String, recipient: String = "bob@example.test", pieces size: Int = 7, sender: ReversePath = sender) -> LocalMessage {
        let bytes = Array(text.utf8)
        var offset = 0
        return LocalMessage(reversePath: sender, recipient: recipient) {
            guard offset < bytes.count else { return nil }
            let end = min(bytes.count, offset + size)
            defer { offset = end }
            return Array(bytes[offset..<end])
        }
    }

    static let text = "Subject: hello\r\nFrom: alice@example.org\r\n\r\nFrom the start\r\n>From quoted\r\nline with a bare\rCR\r\nlast"

    @Test("CRLF becomes LF across every split of the text, From lines escaped for mbox only",
          arguments: [1, 2, 3, 5, 64])
    func lineEncoding(pieces: Int) throws {
        let directory = try TemporaryDirectory()
        let maildir = MaildirMailbox(directory: directory.file("Maildir"), hostname: "mx.example.test")
        let path = try maildir.deliver(Self.message(Self.text, pieces: pieces))
        let stored = try String(contentsOfFile: path, encoding: .utf8)
        #expect(stored == "Return-Path: <alice@example.org>\nDelivered-To: bob@example.test\nSubject: hello\nFrom: alice@example.org\n\nFrom the start\n>From quoted\nline with a bare\rCR\nlast\n")

        let mbox = MboxMailbox(path: directory.file("mbox"))
        try mbox.deliver(Self.message(Self.text, pieces: pieces), date: 1_796_115_821)
        let box = try String(contentsOfFile: directory.file("mbox"), encoding: .utf8)
        #expect(box == "From alice@example.org Tue Dec  1 09:03:41 2026\nReturn-Path: <alice@example.org>\nDelivered-To: bob@example.test\nSubject: hello\nFrom: alice@example.org\n\n>From the start\n>>From quoted\nline with a bare\rCR\nlast\n\n")
    }

    @Test("Maildir: a file per message in new/, nothing left in tmp/, read by Python's mailbox.Maildir")
    func maildir() async throws {
        let directory = try TemporaryDirectory()
        let maildir = MaildirMailbox(directory: directory.file("bob"), hostname: "mx/ex:ample")
        var paths: [String] = []
        for index in 0..<20 {
            paths.append(try maildir.deliver(Self.message("Subject: number \(index)\r\n\r\nbody \(index)\r\n")))
        }
        #expect(Set(paths).count == 20)
        #expect(paths.allSatisfy { $0.hasSuffix(".mx\\057ex\\072ample") })
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.file("bob/tmp")).isEmpty)
        let mode = try FileManager.default.attributesOfItem(atPath: directory.file("bob"))[.posixPermissions] as? Int
        #expect(mode == 0o700)
        let output = try await ExternalTool.runChecked("python3", ["-c", """
            import mailbox, sys
            box = mailbox.Maildir(sys.argv[1], create=False)
            for key in sorted(box.keys(), key=lambda k: int(box[k]['Subject'].split()[1])):
                m = box[key]
                print(m['Subject'], m['Return-Path'], m.get_payload().strip())
            """, directory.file("bob")])
        let lines = output.standardOutput.split(separator: "\n")
        #expect(lines.count == 20)
        #expect(lines.first == "number 0 <alice@example.org> body 0")
        #expect(lines.last == "number 19 <alice@example.org> body 19")
    }

    @Test("mbox: concurrent deliveries serialize on the locks; Python reads every message whole")
    func mboxConcurrent() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("bob.mbox")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<8 {
                group.addTask {
                    try await offThread {
                        let mbox = MboxMailbox(path: path)
                        for index in 0..<10 {
                            let body = String(repeating: "From line \(writer)-\(index)\r\n", count: 50)
                            try mbox.deliver(Self.message("Subject: \(writer)-\(index)\r\n\r\n\(body)", pieces: 100))
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(!FileManager.default.fileExists(atPath: path + ".lock"))
        let output = try await ExternalTool.runChecked("python3", ["-c", """
            import mailbox, sys
            box = mailbox.mbox(sys.argv[1], create=False)
            subjects = set()
            for m in box:
                body = m.get_payload()
                assert body.count('>From line ' + m['Subject']) == 50, (m['Subject'], body[:200])
                assert m.get_from().startswith('alice@example.org '), m.get_from()
                subjects.add(m['Subject'])
            print(len(box), len(subjects))
            """, path])
        #expect(output.standardOutput == "80 80\n")
    }

    @Test("mbox: a held dot-lock makes delivery wait, then fail temporarily; a stale one is removed")
    func mboxLocks() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("box")
        try directory.write("box.lock", "")
        let mbox = MboxMailbox(path: path, lockTimeout: .milliseconds(200))
        let error = try #require(throws: LocalDeliveryError.self) { try mbox.deliver(Self.message("x\r\n")) }
        #expect(error.isTemporary)
        #expect(error.status.description == "4.2.0")
        #expect(!FileManager.default.fileExists(atPath: path))

        // A lock older than five minutes was left by a crash.
        let old = Date(timeIntervalSinceNow: -600)
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: path + ".lock")
        try mbox.deliver(Self.message("Subject: after\r\n\r\nx\r\n"))
        #expect(try String(contentsOfFile: path, encoding: .utf8).contains("Subject: after"))
        #expect(!FileManager.default.fileExists(atPath: path + ".lock"))
    }

    @Test("mbox: a failure half way cuts the file back; nothing of the message is left")
    func mboxRollback() throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("box")
        let mbox = MboxMailbox(path: path)
        try mbox.deliver(Self.message("Subject: first\r\n\r\nkept\r\n"))
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        struct SpoolBroke: Error {}
        var handed = 0
        let failing = LocalMessage(reversePath: Self.sender, recipient: "bob") {
            handed += 1
            if handed > 3 { throw SpoolBroke() }
            return Array(String(repeating: "a line of the message\r\n", count: 5000).utf8)
        }
        let error = try #require(throws: LocalDeliveryError.self) { try mbox.deliver(failing) }
        #expect(error.isTemporary)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }

    @Test("Maildir: a spool read failure leaves nothing in new/ or tmp/")
    func maildirRollback() throws {
        let directory = try TemporaryDirectory()
        let maildir = MaildirMailbox(directory: directory.file("md"), hostname: "h")
        struct SpoolBroke: Error {}
        let failing = LocalMessage(reversePath: .null, recipient: "bob") { throw SpoolBroke() }
        let error = try #require(throws: LocalDeliveryError.self) { try maildir.deliver(failing) }
        #expect(error.isTemporary)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.file("md/new")).isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.file("md/tmp")).isEmpty)
    }

    @Test("A path that cannot be a mailbox is a permanent error naming it; an unwritable one a temporary error")
    func badPaths() throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write("plain", "not a folder")
        let error = try #require(throws: LocalDeliveryError.self) {
            try MaildirMailbox(directory: file, hostname: "h").deliver(Self.message("x\r\n"))
        }
        #expect(!error.isTemporary)
        #expect(error.message.contains(file))

        let folder = directory.file("folder")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let notFile = try #require(throws: LocalDeliveryError.self) {
            try MboxMailbox(path: folder).deliver(Self.message("x\r\n"))
        }
        #expect(notFile.message.contains(folder))

        let unwritable = directory.file("ro")
        try FileManager.default.createDirectory(atPath: unwritable, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o500], ofItemAtPath: unwritable)
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: unwritable) }
        if getuid() != 0 {  // root writes anywhere
            let denied = try #require(throws: LocalDeliveryError.self) {
                try MboxMailbox(path: unwritable + "/box").deliver(Self.message("x\r\n"))
            }
            #expect(denied.isTemporary)
        }
    }

    @Test("The null sender is MAILER-DAEMON in mbox's From line and <> in Return-Path")
    func nullSender() throws {
        let directory = try TemporaryDirectory()
        try MboxMailbox(path: directory.file("box")).deliver(Self.message("x\r\n", sender: .null), date: 0)
        let box = try String(contentsOfFile: directory.file("box"), encoding: .utf8)
        #expect(box.hasPrefix("From MAILER-DAEMON Thu Jan  1 00:00:00 1970\nReturn-Path: <>\n"))
    }
}

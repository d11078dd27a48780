import Foundation
import Testing
import TestSupport

/// `swiftmta sendmail` and `swiftmta queue` as an administrator and a script use them: -bs, -bv,
/// -bt, exit statuses, queue show/deliver/remove, and who may do what over the control socket.
@Suite("swiftmta sendmail and swiftmta queue")
struct RunnerCommandTests {
    static func sendmail(_ server: ServeProcess, _ arguments: [String], input: String = "", user: String? = nil) async throws -> ExternalTool.Output {
        let config = server.directory.file("swiftmta.toml")
        if let user {
            return try await ExternalTool.run("runuser", ["-u", user, "--", ServeProcess.executable, "sendmail", "-C", config] + arguments, input: input)
        }
        return try await ExternalTool.run(ServeProcess.executable, ["sendmail", "-C", config] + arguments, input: input)
    }

    @Test("sendmail -bs: an SMTP session on standard input and output, as a local submission (it may relay)")
    func smtpOnStandardIO() async throws {
        let sink = try await offThread { try DeliverySink() }
        let server = try await RunnerEndToEndTests.server("""
            [routing]
            smart_host = "relay:[127.0.0.1]"
            relay_mailer_port = \(sink.port)
            """)
        let session = "EHLO script.example\r\nMAIL FROM:<cron@mx.example.test>\r\nRCPT TO:<ops@elsewhere.example>\r\nDATA\r\nSubject: bs\r\n\r\nover -bs\r\n.\r\nQUIT\r\n"
        let result = try await Self.sendmail(server, ["-bs"], input: session)
        #expect(result.standardOutput.hasPrefix("220 mx.example.test"), "\(result.standardOutput)")
        #expect(result.standardOutput.contains("250 2.1.5"), "relaying allowed for a local submission: \(result.standardOutput)")
        #expect(result.standardOutput.contains("Message accepted for delivery"), "\(result.standardOutput)")
        #expect(result.standardOutput.contains("221 "))
        try await RunnerEndToEndTests.wait("the relayed message", server) { sink.count == 1 }
    }

    @Test("sendmail -bv and -bt route as swiftmta route does; an address that does not parse exits 65, none at all 64")
    func verifyAndTest() async throws {
        let server = try await RunnerEndToEndTests.server("")
        let verify = try await Self.sendmail(server, ["-bv", "bob@localhost"])
        #expect(verify.status == 0)
        #expect(verify.standardOutput.contains("mailer local"), "\(verify.standardOutput)")
        let test = try await Self.sendmail(server, ["-bt"], input: "/parse friend@elsewhere.example\n")
        #expect(test.standardOutput.contains("mailer esmtp, host elsewhere.example"), "\(test.standardOutput)")
        let bad = try await Self.sendmail(server, ["-f", "not an address", "bob@localhost"], input: "Subject: x\n\nx\n")
        #expect(bad.status == 65, "\(bad.standardError)")
        let none = try await Self.sendmail(server, [], input: "Subject: x\n\nx\n")
        #expect(none.status == 64, "\(none.standardError)")
    }

    @Test("queue show, deliver and remove over the control socket; unknown ids exit 66")
    func showDeliverRemove() async throws {
        let server = try await offThread {
            try ServeProcess("local_users = \"any\"", modes: ["smtp"])  // delivery_mode = "queue"
        }
        let config = server.directory.file("swiftmta.toml")
        for subject in ["keep", "drop"] {
            _ = try await swaks(server["smtp"], ["--from", "alice@example.test", "--to", "bob@localhost", "--header", "Subject: \(subject)"])
        }
        let listed = try await ExternalTool.runChecked(ServeProcess.executable, ["queue", "list", "--json", "--config", config])
        let messages = try #require(try JSONSerialization.jsonObject(with: Data(listed.standardOutput.utf8)) as? [[String: Any]])
        let ids = messages.compactMap { $0["id"] as? String }
        #expect(ids.count == 2)
        let shown = try await ExternalTool.runChecked(ServeProcess.executable, ["queue", "show", ids[1], "--config", config])
        #expect(shown.standardOutput.contains("recipient <bob@localhost> pending"), "\(shown.standardOutput)")
        #expect(shown.standardOutput.contains("Subject: drop"))
        let removed = try await ExternalTool.runChecked(ServeProcess.executable, ["queue", "remove", ids[1], "--config", config])
        #expect(removed.standardOutput.contains("removed"))
        let delivered = try await ExternalTool.runChecked(ServeProcess.executable, ["queue", "deliver", ids[0], "--config", config])
        #expect(delivered.standardOutput.contains("stat=Sent"), "\(delivered.standardOutput)")
        let box = try MailboxReader.maildir(server.directory.file("var/mail/bob"))
        #expect(box.compactMap { ($0["headers"] as? [String: String])?["Subject"] } == ["keep"])
        let missing = try await ExternalTool.run(ServeProcess.executable, ["queue", "show", "0000000000", "--config", config])
        #expect(missing.status == 66)
        let nonsense = try await ExternalTool.run(ServeProcess.executable, ["queue", "remove", "not-an-id", "--config", config])
        #expect(nonsense.status == 64)
    }

    @Test("Over the control socket any local user may submit, and only root and the server's user may work the queue",
          .enabled(if: getuid() == 0, "needs root to act as another user"))
    func peerCredentials() async throws {
        let server = try await offThread {
            try ServeProcess("local_users = \"any\"", modes: ["smtp"])
        }
        // The spool folder (and those above it) searchable by others, as docs/configuration.md says.
        var path = server.directory.file("var/spool")
        while path != "/" && path.count > 1 {
            _ = chmod(path, 0o711)
            if path == server.directory.path { break }
            path = (path as NSString).deletingLastPathComponent
        }
        _ = chmod(server.directory.file("swiftmta.toml"), 0o644)
        let submitted = try await Self.sendmail(server, ["-oi", "bob@localhost"], input: "Subject: from nobody\n\nhi\n", user: "nobody")
        #expect(submitted.status == 0, "\(submitted.standardError)")
        let listed = try await ExternalTool.run("runuser", ["-u", "nobody", "--", ServeProcess.executable, "queue", "list", "--config", server.directory.file("swiftmta.toml")])
        #expect(listed.status == 77, "\(listed.standardOutput)\(listed.standardError)")
        let shown = try await ExternalTool.runChecked(ServeProcess.executable, ["queue", "show", "all", "--config", server.directory.file("swiftmta.toml")])
        #expect(shown.standardOutput.contains("Received: (from nobody@localhost)"), "\(shown.standardOutput)")
    }
}

import Foundation
import MailServer
import Testing
import TestSupport

/// `swiftmta serve` as a daemon, with real processes: the metrics endpoint scraped while mail
/// flows, SIGHUP with a changed map and with a broken configuration while a session is open,
/// SIGTERM in the middle of DATA, the switch to an unprivileged user after binding a privileged
/// port, and the permission checks at start.
@Suite("swiftmta serve as a daemon: metrics, reload, shutdown, privileges, permissions", .serialized)
struct OperationsDaemonTests {
    static var executable: String { ServeProcess.executable }
    static var isRoot: Bool { geteuid() == 0 }

    // MARK: - Metrics

    @Test("the metrics endpoint: counters move as mail flows (connections, sessions, accepted, refused by reason, map lookups)")
    func metricsMove() async throws {
        let server = try await offThread {
            try DaemonProcess("[maps]\naccess = \"text:access\"\n[daemon]\nmetrics_address = \"127.0.0.1:0\"\n") { directory in
                try directory.write("access", "From:spammer@example.test REJECT\n")
            }
        }
        let before = try await server.scrape()
        #expect(before["swiftmta_build_info{version=\"\(ServerCommandLine.version)\"}"] == 1)
        #expect(before["swiftmta_messages_accepted_total"] ?? 0 == 0)

        let accepted = try await swaks(server.port, ["--from", "alice@example.test", "--to", "postmaster@localhost"])
        #expect(accepted.status == 0, "\(accepted.standardOutput)")
        let refused = try await swaks(server.port, ["--from", "spammer@example.test", "--to", "postmaster@localhost"])
        #expect(refused.standardOutput.contains("550 5.7.1"), "\(refused.standardOutput)")
        let relay = try await swaks(server.port, ["--from", "alice@example.test", "--to", "bob@elsewhere.example"])
        #expect(relay.standardOutput.contains("550 5.7.1"), "\(relay.standardOutput)")

        let after = try await server.scrape()
        #expect(after["swiftmta_messages_accepted_total"] == 1, "\(after)")
        #expect(after["swiftmta_connections_total{listener=\"smtp\",admitted=\"true\"}"] == 3, "\(after)")
        #expect(after["swiftmta_messages_rejected_total{stage=\"mail\",status=\"5.7.1\"}"] == 1, "\(after)")
        #expect(after["swiftmta_messages_rejected_total{stage=\"rcpt\",status=\"5.7.1\"}"] == 1, "\(after)")
        #expect((after["swiftmta_sessions_total{listener=\"smtp\",outcome=\"quit\"}"] ?? 0) >= 1, "\(after)")
        #expect(after["swiftmta_sessions_open{listener=\"smtp\"}"] == 0, "\(after)")
        #expect((after["swiftmta_map_lookup_duration_seconds_count{table=\"maps.access\"}"] ?? 0) >= 3, "\(after)")
        #expect(after["swiftmta_queue_messages"] != nil, "\(after)")
        #expect(after["swiftmta_queue_oldest_age_seconds"] != nil, "\(after)")

        // The queue runner delivers the accepted message to the local mailbox.
        var delivered: Double?
        for _ in 0..<100 {
            let samples = try await server.scrape()
            delivered = samples["swiftmta_deliveries_total{result=\"delivered\",destination=\"local\"}"]
            if delivered != nil, samples["swiftmta_queue_messages"] == 0 { break }
            try await Task.sleep(for: .milliseconds(200))
        }
        #expect(delivered == 1, "\(server.output)")
        #expect(try await server.scrape()["swiftmta_queue_messages"] == 0)
        try await server.stop()
    }

    @Test("metrics_address must be loopback: check-config names the key and why", arguments: [
        ("0.0.0.0:9465", "daemon.metrics_address: 0.0.0.0 is not a loopback address"),
        ("127.0.0.1:99999", "daemon.metrics_address: the port must be a number from 0 to 65535"),
        ("localhost", "daemon.metrics_address: must be ADDRESS:PORT"),
    ])
    func metricsAddressChecked(address: String, message: String) async throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write("swiftmta.toml", "hostname = \"mx.example.test\"\n[daemon]\nmetrics_address = \"\(address)\"\n")
        let result = try await ExternalTool.run(Self.executable, ["check-config", file])
        #expect(result.status == 78)
        #expect(result.standardOutput.contains("\(file):3: \(message)"), "\(result.standardOutput)")
    }

    // MARK: - SIGHUP

    // File maps also notice a rewritten file by themselves; the configuration's map spec changes
    // only with a reload: the new configuration names another access file.
    @Test("SIGHUP with another access map: an open session is not dropped and finishes its message with the old one, the next session gets the new")
    func reloadChangedMap() async throws {
        let server = try await offThread {
            try DaemonProcess("[maps]\naccess = \"text:access\"\n[daemon]\nmetrics_address = \"127.0.0.1:0\"\n") { directory in
                try directory.write("access", "# nothing refused yet\n")
            }
        }
        let open = try await LineClient(port: server.port)
        #expect(try await open.readReply().hasPrefix("220 "))
        try await open.send("EHLO client.example\r\n")
        #expect(try await open.readReply().hasPrefix("250"))

        try server.directory.write("access2", "From:alice@example.test REJECT\n")
        let original = try String(contentsOfFile: server.file, encoding: .utf8)
        try Data(original.replacingOccurrences(of: "text:access\"", with: "text:access2\"").utf8).write(to: URL(fileURLWithPath: server.file))
        try await server.reload(expecting: "reloaded ")

        // The session that was open keeps its configuration and its connection.
        try await open.send("MAIL FROM:<alice@example.test>\r\n")
        #expect(try await open.readReply().hasPrefix("250 "))
        try await open.send("RCPT TO:<postmaster@localhost>\r\n")
        #expect(try await open.readReply().hasPrefix("250 "))
        try await open.send("DATA\r\n")
        #expect(try await open.readReply().hasPrefix("354 "))
        try await open.send("Subject: sent across a reload\r\n\r\nbody\r\n.\r\n")
        #expect(try await open.readReply().hasPrefix("250 "))
        try await open.send("QUIT\r\n")
        _ = try await open.readReply()

        // A new session gets the new map.
        let refused = try await swaks(server.port, ["--from", "alice@example.test", "--to", "postmaster@localhost"])
        #expect(refused.standardOutput.contains("<** 550 5.7.1"), "\(refused.standardOutput)")
        let other = try await swaks(server.port, ["--from", "carol@example.test", "--to", "postmaster@localhost"])
        #expect(other.status == 0, "\(other.standardOutput)")
        #expect(try await server.scrape()["swiftmta_config_reloads_total{result=\"applied\"}"] == 1)
        try await server.stop()
    }

    enum BrokenChange: String, CaseIterable, CustomTestStringConvertible {
        case syntax, badValue, mapMissing, listenerAdded
        var testDescription: String { rawValue }

        func apply(to text: String) -> String {
            switch self {
            case .syntax: text + "broken = [\n"
            case .badValue: text + "\n[smtp]\nmax_recipients = \"many\"\n"
            case .mapMissing: text.replacingOccurrences(of: "text:access", with: "hash:missing")
            case .listenerAdded: text + "\n[[listen]]\naddress = \"127.0.0.1:0\"\nmode = \"submission\"\n"
            }
        }

        var reason: String {
            switch self {
            case .syntax: "TOML syntax"
            case .badValue: "smtp.max_recipients: must be an integer"
            case .mapMissing: "maps.access: hash:"
            case .listenerAdded: "listeners are bound once, at start"
            }
        }
    }

    @Test("SIGHUP with a broken configuration: refused with the reason, the old one keeps serving, an open session too", arguments: BrokenChange.allCases)
    func reloadRefused(_ change: BrokenChange) async throws {
        let server = try await offThread {
            try DaemonProcess("[maps]\naccess = \"text:access\"\n[daemon]\nmetrics_address = \"127.0.0.1:0\"\n") { directory in
                try directory.write("access", "From:spammer@example.test REJECT\n")
            }
        }
        let open = try await LineClient(port: server.port)
        #expect(try await open.readReply().hasPrefix("220 "))
        try await open.send("EHLO client.example\r\n")
        #expect(try await open.readReply().hasPrefix("250"))

        let original = try String(contentsOfFile: server.file, encoding: .utf8)
        try Data(change.apply(to: original).utf8).write(to: URL(fileURLWithPath: server.file))
        try await server.reload(expecting: "reload refused (")
        let reasons = server.output.split(separator: "\n").filter { $0.contains("reload refused: ") }
        #expect(reasons.contains { $0.contains(change.reason) }, "\(server.output)")

        // The old configuration goes on: the open session, and new ones with the old access map.
        try await open.send("MAIL FROM:<alice@example.test>\r\n")
        #expect(try await open.readReply().hasPrefix("250 "))
        try await open.send("QUIT\r\n")
        _ = try await open.readReply()
        let refused = try await swaks(server.port, ["--from", "spammer@example.test", "--to", "postmaster@localhost"])
        #expect(refused.standardOutput.contains("<** 550 5.7.1"), "\(refused.standardOutput)")
        let accepted = try await swaks(server.port, ["--from", "alice@example.test", "--to", "postmaster@localhost"])
        #expect(accepted.status == 0, "\(accepted.standardOutput)")
        #expect(try await server.scrape()["swiftmta_config_reloads_total{result=\"refused\"}"] == 1)
        try await server.stop()
    }

    // MARK: - SIGTERM

    @Test("SIGTERM during DATA: the transfer completes (250), the next command gets 421, the spool holds the whole message and nothing else")
    func shutdownDuringData() async throws {
        // Queue-only delivery: the message stays in the spool for the test to read.
        let server = try await offThread {
            try DaemonProcess("[smtp]\nshutdown_grace_period = \"60s\"\n[queue]\ndirectory = \"var/spool\"\ndelivery_mode = \"queue\"\n")
        }
        do { try await dataShutdown(server) } catch { Issue.record("\(error): \(server.output)") }
    }

    private func dataShutdown(_ server: DaemonProcess) async throws {
        let client = try await LineClient(port: server.port)
        #expect(try await client.readReply().hasPrefix("220 "))
        try await client.send("EHLO client.example\r\n")
        _ = try await client.readReply()
        try await client.send("MAIL FROM:<alice@example.test>\r\nRCPT TO:<postmaster@localhost>\r\nDATA\r\n")
        #expect(try await client.readReply().hasPrefix("250 "))
        #expect(try await client.readReply().hasPrefix("250 "))
        #expect(try await client.readReply().hasPrefix("354 "))
        try await client.send("Subject: half sent\r\n\r\nthe first half\r\n")
        server.process.send(signal: SIGTERM)
        let port = server.port
        #expect(try await offThread { () -> Bool in
            for _ in 0..<500 {
                if !LoopbackPort.isAccepting(port) { return true }
                usleep(20_000)
            }
            return false
        })
        try await client.send("the second half\r\n.\r\n")
        let completed = try await client.readReply()
        #expect(completed.hasPrefix("250 "), "\(server.output)")
        try await client.send("MAIL FROM:<alice@example.test>\r\n")
        #expect(try await client.readReply().hasPrefix("421 4.3.2 "))
        #expect(try await offThread { server.process.exitStatus(within: .seconds(60)) } == 0)

        let queue = try await MailQueue.open(directory: server.directory.file("var/spool"))
        let messages = queue.list()
        #expect(messages.count == 1)
        if let message = messages.first {
            let text = String(buffer: try await queue.body(of: message.id).collect(upTo: 1 << 20))
            #expect(text.hasSuffix("Subject: half sent\r\n\r\nthe first half\r\nthe second half\r\n"), "\(text)")
        }
        await queue.close()
    }

    @Test("SIGTERM while the queue runner is delivering to a smart host that does not answer: exit 0 soon, the message still queued, whole")
    func shutdownDuringDelivery() async throws {
        let silent = try SilentTCPServer()
        defer { silent.stop() }
        let server = try await offThread {
            try DaemonProcess(
                "[maps]\naccess = \"text:access\"\n[routing]\nsmart_host = \"relay:[127.0.0.1]\"\nrelay_mailer_port = \(silent.port)\n[smtp]\nshutdown_grace_period = \"2s\"\n"
            ) { directory in
                try directory.write("access", "Connect:127.0.0.1 RELAY\n")
            }
        }
        let sent = try await swaks(server.port, ["--from", "alice@example.test", "--to", "bob@elsewhere.example"])
        #expect(sent.status == 0, "\(sent.standardOutput)")
        // The runner connects at once (background delivery) and waits for a greeting that never comes.
        #expect(try await offThread { () -> Bool in
            for _ in 0..<400 {
                if silent.connections > 0 { return true }
                usleep(25_000)
            }
            return false
        }, "the runner never connected: \(server.output)")
        let start = ContinuousClock.now
        server.process.send(signal: SIGTERM)
        #expect(try await offThread { server.process.exitStatus(within: .seconds(200)) } == 0, "\(server.output)")
        // Before the client's five-minute greeting timeout: the runner was stopped, not waited for
        // (well under a second here; the bound leaves room for a loaded machine).
        #expect(ContinuousClock.now - start < .seconds(200))

        let queue = try await MailQueue.open(directory: server.directory.file("var/spool"))
        let messages = queue.list()
        #expect(messages.count == 1)
        if let message = messages.first {
            #expect(message.envelope.recipients.map(\.path.description) == ["<bob@elsewhere.example>"])
            let text = String(buffer: try await queue.body(of: message.id).collect(upTo: 1 << 20))
            #expect(text.contains("\r\n\r\nThis is a test mailing\r\n"), "\(text)")
        }
        await queue.close()
    }

    // MARK: - Privileges

    @Test("started as root: binds a privileged port, then runs as nobody:nogroup (every thread), still accepts, the spool is nobody's",
          .enabled(if: isRoot, "needs root"))
    func privilegeDrop() async throws {
        let server = try await offThread { try DaemonProcess.onPrivilegedPort("[daemon]\nuser = \"nobody\"\ngroup = \"nogroup\"\n") }
        let pid = try #require(server.process.processIdentifier)
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        #expect(status.contains("\nUid:\t65534\t65534\t65534\t65534\n"), "\(status)")
        #expect(status.contains("\nGid:\t65534\t65534\t65534\t65534\n"), "\(status)")
        #expect(status.contains("\nGroups:\t65534 \n"), "\(status)")
        for task in try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task") {
            let taskStatus = try String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8)
            #expect(taskStatus.contains("\nUid:\t65534\t65534\t65534\t65534\n"), "thread \(task): \(taskStatus)")
        }
        #expect(server.output.contains("running as user nobody (uid 65534), group nogroup (gid 65534)"))
        #expect(server.port < 1024)

        let sent = try await swaks(server.port, ["--from", "alice@example.test", "--to", "postmaster@localhost"])
        #expect(sent.status == 0, "\(sent.standardOutput)")
        let spool = try FileManager.default.attributesOfItem(atPath: server.directory.file("var/spool"))
        #expect((spool[.ownerAccountID] as? NSNumber)?.intValue == 65534)
        #expect((spool[.posixPermissions] as? NSNumber)?.intValue == 0o700)
        try await server.stop()
    }

    @Test("as root, the embedded default (no file) runs with a warning instead of refusing a new user's first command",
          .enabled(if: isRoot, "needs root"))
    func embeddedDefaultAsRoot() async throws {
        let directory = try TemporaryDirectory()
        let process = try BackgroundProcess(Self.executable, ["serve", "--hostname", "mx.example.test"], directory: directory.path)
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline, process.exitStatus(within: .zero) == nil, !process.output().contains(" ready; ") {
            try await Task.sleep(for: .milliseconds(50))
        }
        let output = process.output()
        process.send(signal: SIGTERM)
        let status = try await offThread { process.exitStatus(within: .seconds(30)) }
        #expect(!output.contains("refusing to run as root"), "\(output)")
        #expect(output.contains("warning: running as root: the embedded default is for trying SwiftMTA on loopback"), "\(output)")
        // Its fixed loopback ports may be taken by another server on this machine: then it says so
        // (71); otherwise it was ready and stopped cleanly.
        if output.contains("the address is already in use") {
            #expect(status == 71, "\(output)")
        } else {
            #expect(output.contains("mx.example.test ready; "), "\(output)")
            #expect(status == 0, "\(output)")
        }
    }

    @Test("as root without [daemon] user: refused unless --allow-root; a configured user that does not exist is a configuration error",
          .enabled(if: isRoot, "needs root"))
    func refusesRoot() async throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write("swiftmta.toml", "hostname = \"mx.example.test\"\n[[listen]]\naddress = \"127.0.0.1:0\"\n")
        let refused = try await ExternalTool.run(Self.executable, ["serve", "--config", file])
        #expect(refused.status == 77)
        #expect(refused.standardError == "swiftmta serve: refusing to run as root: set [daemon] user to the account to run as once the listeners are bound and the keys read (like Sendmail's RunAsUser), or give --allow-root to stay root\n")

        let missing = try directory.write("missing.toml", "hostname = \"mx.example.test\"\n[daemon]\nuser = \"no-such-user-here\"\n")
        let checked = try await ExternalTool.run(Self.executable, ["check-config", missing])
        #expect(checked.status == 78)
        #expect(checked.standardOutput.contains("\(missing):3: daemon.user: there is no user no-such-user-here on this system"), "\(checked.standardOutput)")
    }

    // MARK: - Permissions

    enum UnsafeFile: String, CaseIterable, CustomTestStringConvertible {
        case worldReadableKey, groupWritableKey, worldReadablePasswordFile, worldWritableSpool
        var testDescription: String { rawValue }
    }

    @Test("unsafe permissions are refused at start and by check-config, naming the key, the file, its mode and the fix", arguments: UnsafeFile.allCases)
    func unsafePermissions(_ unsafe: UnsafeFile) async throws {
        let directory = try TemporaryDirectory()
        try await ExternalTool.runChecked("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", directory.file("key.pem"),
                                                     "-out", directory.file("cert.pem"), "-subj", "/CN=mx.example.test", "-days", "30"])
        try ServeProcess.addUser("alice", password: "wonder land", in: directory)
        try FileManager.default.createDirectory(atPath: directory.file("var/spool"), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let file = try directory.write("swiftmta.toml", """
            hostname = "mx.example.test"
            [tls]
            certificate = "cert.pem"
            key = "key.pem"
            [auth]
            backend = "passwd:var/auth/passwd"
            [queue]
            directory = "var/spool"
            [[listen]]
            address = "127.0.0.1:0"

            """)
        // Safe as made: check-config passes.
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: directory.file("key.pem"))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: directory.file("var/auth/passwd"))
        let safe = try await ExternalTool.run(Self.executable, ["check-config", file])
        #expect(safe.status == 0, "\(safe.standardOutput)")

        let (path, mode, line, expected): (String, Int, Int, String) = switch unsafe {
        case .worldReadableKey:
            (directory.file("key.pem"), 0o644, 4, "tls.key: the private key \(directory.path)/key.pem is readable by every user (mode 0644): chmod 0600")
        case .groupWritableKey:
            (directory.file("key.pem"), 0o660, 4, "tls.key: the private key \(directory.path)/key.pem is writable by its group (mode 0660)")
        case .worldReadablePasswordFile:
            (directory.file("var/auth/passwd"), 0o644, 6, "auth.backend: the password file \(directory.path)/var/auth/passwd is readable by every user (mode 0644)")
        case .worldWritableSpool:
            (directory.file("var/spool"), 0o777, 8, "queue.directory: the spool \(directory.path)/var/spool is writable by every user (mode 0777): chmod 0700")
        }
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        let checked = try await ExternalTool.run(Self.executable, ["check-config", file])
        #expect(checked.status == 78)
        #expect(checked.standardOutput.contains("\(file):\(line): \(expected)"), "\(checked.standardOutput)")
        let served = try await ExternalTool.run(Self.executable, ["serve", "--config", file, "--allow-root"])
        #expect(served.status == 78)
        #expect(served.standardError.contains("swiftmta serve: \(file):\(line): \(expected)"), "\(served.standardError)")
    }

    @Test("a map the server cannot read as its [daemon] user is refused at start (maps are opened again after the switch)",
          .enabled(if: isRoot, "needs root"))
    func mapUnreadableAfterSwitch() async throws {
        let directory = try TemporaryDirectory()
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
        try await ExternalTool.runChecked(Self.executable, ["makemap", "hash", directory.file("access")], input: "Connect:192.0.2.1 REJECT\n")
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: directory.file("access.db"))
        let file = try directory.write("swiftmta.toml", """
            hostname = "mx.example.test"
            [maps]
            access = "hash:access"
            [daemon]
            user = "nobody"
            [[listen]]
            address = "127.0.0.1:0"

            """)
        let checked = try await ExternalTool.run(Self.executable, ["check-config", file])
        #expect(checked.status == 78)
        #expect(checked.standardOutput.contains("\(file):3: maps.access: \(directory.path)/access.db cannot be read by nobody, which the server runs as after start (every lookup would fail; mode 0600, owner root): chgrp nogroup"), "\(checked.standardOutput)")
        let served = try await ExternalTool.run(Self.executable, ["serve", "--config", file])
        #expect(served.status == 78)
        #expect(served.standardError.contains("maps.access: \(directory.path)/access.db cannot be read by nobody"), "\(served.standardError)")
    }

    @Test("an empty password file may be world-readable: it gives nothing away")
    func emptyPasswordFileAllowed() async throws {
        let directory = try TemporaryDirectory()
        try directory.write("passwd", "# no users yet\n", permissions: 0o644)
        let file = try directory.write("swiftmta.toml", "hostname = \"mx.example.test\"\n[auth]\nbackend = \"passwd:passwd\"\n[[listen]]\naddress = \"127.0.0.1:0\"\n")
        let result = try await ExternalTool.run(Self.executable, ["check-config", file])
        #expect(result.status == 0, "\(result.standardOutput)")
    }
}

/// `swiftmta serve` on a configuration of the test's: one smtp listener, the metrics endpoint
/// when the configuration has one, started as root with `--allow-root` unless it names a user.
final class DaemonProcess: @unchecked Sendable {
    let directory: TemporaryDirectory
    let file: String
    let process: BackgroundProcess
    let port: Int
    let metricsPort: Int?
    let listenerSection: String

    init(_ configuration: String, listenAddress: String = "127.0.0.1:0", prepare: (TemporaryDirectory) throws -> Void = { _ in }) throws {
        directory = try TemporaryDirectory(prefix: "swiftmta-daemon")
        // Searchable by an unprivileged user the server may switch to.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
        try prepare(directory)
        listenerSection = "[[listen]]\naddress = \"\(listenAddress)\"\nmode = \"smtp\"\n"
        var text = "hostname = \"mx.example.test\"\n" + configuration
        if !text.contains("[queue]") { text += "\n[queue]\ndirectory = \"var/spool\"\n" }
        text += "\n[relay]\naccept_unresolvable_domains = true\n\n" + listenerSection
        file = try directory.write("swiftmta.toml", text)
        let arguments = ["serve", "--config", file, "--log-level", "info"] + (configuration.contains("user = ") ? [] : ["--allow-root"])
        process = try BackgroundProcess(ServeProcess.executable, arguments, directory: directory.path)
        let deadline = ContinuousClock.now + .seconds(30)
        var output = ""
        while ContinuousClock.now < deadline {
            output = process.output()
            if output.contains(" ready; ") { break }
            if let status = process.exitStatus(within: .zero) {
                throw TestSupportError("swiftmta serve exited with \(status): \(output)")
            }
            usleep(50_000)
        }
        func number(after marker: String, in line: Substring) -> Int? {
            guard let range = line.range(of: marker) else { return nil }
            return Int(line[range.upperBound...].prefix { $0.isNumber })
        }
        let lines = output.split(separator: "\n")
        guard let listening = lines.first(where: { $0.hasPrefix("swiftmta: listening on ") }), let port = number(after: " port ", in: listening) else {
            throw TestSupportError("swiftmta serve did not report its listener: \(output)")
        }
        self.port = port
        metricsPort = lines.first { $0.hasPrefix("swiftmta: metrics on http://") }.flatMap { number(after: "127.0.0.1:", in: $0) }
    }

    /// Starts the server on a free port below 1024 (another test run may take one first: tries a few).
    static func onPrivilegedPort(_ configuration: String) throws -> DaemonProcess {
        var lastError: (any Error)?
        for _ in 0..<8 {
            let port = Int.random(in: 600...1000)
            if LoopbackPort.isAccepting(port) { continue }
            do {
                return try DaemonProcess(configuration, listenAddress: "127.0.0.1:\(port)")
            } catch {
                lastError = error
                guard "\(error)".contains("already in use") else { throw error }
            }
        }
        throw lastError ?? TestSupportError("no free port below 1024")
    }

    var output: String { process.output() }

    /// The metrics endpoint's samples: `name{labels}` to value.
    func scrape() async throws -> [String: Double] {
        let port = try #require(metricsPort, "no metrics endpoint: \(output)")
        let result = try await ExternalTool.runChecked("curl", ["-sS", "--max-time", "10", "http://127.0.0.1:\(port)/metrics"])
        var samples: [String: Double] = [:]
        for line in result.standardOutput.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        return samples
    }

    /// SIGHUP, then waits until the log has one more line containing `marker`.
    func reload(expecting marker: String) async throws {
        let before = output.components(separatedBy: marker).count
        process.send(signal: SIGHUP)
        let found = try await offThread { () -> Bool in
            for _ in 0..<600 {
                if self.output.components(separatedBy: marker).count > before { return true }
                usleep(50_000)
            }
            return false
        }
        #expect(found, "no \"\(marker)\" after SIGHUP: \(output)")
    }

    /// SIGTERM; a graceful shutdown ends with 0.
    func stop() async throws {
        process.send(signal: SIGTERM)
        let status = try await offThread { self.process.exitStatus(within: .seconds(60)) }
        #expect(status == 0, "\(output)")
    }

    deinit {
        process.stop()
    }
}

/// contrib/etc/swiftmta as an administrator installs it, in a private folder: both example
/// configurations check, and the main one serves as the seed's set-up says.
@Suite("contrib: the example /etc/swiftmta layout", .serialized)
struct OperationsContribTests {
    /// A copy of contrib/etc/swiftmta with its paths moved into `directory`, listeners on port 0,
    /// the account nobody:nogroup, a fresh certificate and the hash: maps built.
    static func install(in directory: TemporaryDirectory) async throws -> (main: String, relay: String) {
        let source = "\(ExternalTool.repositoryRoot)/contrib/etc/swiftmta"
        let etc = directory.file("etc")
        try FileManager.default.copyItem(atPath: source, toPath: etc)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
        for name in ["swiftmta.toml", "examples/private-relay.toml"] {
            let path = "\(etc)/\(name)"
            var text = try String(contentsOfFile: path, encoding: .utf8)
            text = text.replacingOccurrences(of: "/etc/swiftmta", with: etc)
                .replacingOccurrences(of: "/var/spool/swiftmta", with: directory.file("spool"))
                .replacingOccurrences(of: "user = \"swiftmta\"", with: "user = \"nobody\"")
                .replacingOccurrences(of: "group = \"swiftmta\"", with: "group = \"nogroup\"")
                .replacingOccurrences(of: "127.0.0.1:9465", with: "127.0.0.1:0")
                // The tests' sender domains do not resolve (and this machine's resolver drops queries).
                .replacingOccurrences(of: "[relay]\n", with: "[relay]\naccept_unresolvable_domains = true\n")
            text = text.replacing(try Regex(#"address = "[0-9.]+:[0-9]+""#), with: #"address = "127.0.0.1:0""#)
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        }
        try await ExternalTool.runChecked("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(etc)/tls/key.pem",
                                                     "-out", "\(etc)/tls/cert.pem", "-subj", "/CN=mail.example.org", "-days", "30"])
        for map in ["access", "virtusertable", "auth/client-info"] {
            try await ExternalTool.runChecked(ServeProcess.executable, ["makemap", "hash", "\(etc)/\(map)"],
                                              input: try String(contentsOfFile: "\(etc)/\(map)", encoding: .utf8))
        }
        // As the README installs them: the key and the credentials for root and the server's group.
        for file in ["tls/key.pem", "auth/client-info", "auth/client-info.db", "auth/passwd", "access.db", "virtusertable.db"] {
            _ = chown("\(etc)/\(file)", 0, 65534)
            try FileManager.default.setAttributes([.posixPermissions: 0o640], ofItemAtPath: "\(etc)/\(file)")
        }
        return ("\(etc)/swiftmta.toml", "\(etc)/examples/private-relay.toml")
    }

    @Test("both example configurations pass check-config, without a warning")
    func examplesCheck() async throws {
        let directory = try TemporaryDirectory()
        let (main, relay) = try await Self.install(in: directory)
        for file in [main, relay] {
            let result = try await ExternalTool.run(ServeProcess.executable, ["check-config", file])
            #expect(result.status == 0, "\(file): \(result.standardOutput)")
            #expect(result.standardOutput.hasPrefix("\(file): OK\n"))
            #expect(!result.standardOutput.contains("warning:"), "\(result.standardOutput)")
        }
    }

    @Test("the main example serves as nobody: local mail through aliases, relaying for the access map's network, hosted domains",
          .enabled(if: geteuid() == 0, "needs root"))
    func mainExampleServes() async throws {
        let directory = try TemporaryDirectory()
        let (main, _) = try await Self.install(in: directory)
        let process = try BackgroundProcess(ServeProcess.executable, ["serve", "--config", main], directory: directory.path)
        defer { process.stop() }
        var output = ""
        for _ in 0..<600 {
            output = process.output()
            if output.contains(" ready; ") || process.exitStatus(within: .zero) != nil { break }
            usleep(50_000)
        }
        #expect(output.contains("running as user nobody (uid 65534), group nogroup (gid 65534)"), "\(output)")
        let smtp = try #require(output.split(separator: "\n").first { $0.contains("(smtp") }.flatMap { line in
            line.split(separator: " ").firstIndex(of: "port").map { Int(line.split(separator: " ")[$0 + 1]) } ?? nil
        }, "\(output)")
        let local = try await swaks(smtp, ["--from", "someone@example.test", "--to", "postmaster@example.org", "--tls"])
        #expect(local.status == 0, "\(local.standardOutput)")
        let relayed = try await swaks(smtp, ["--from", "alice@example.org", "--to", "friend@elsewhere.example"])
        #expect(relayed.status == 0, "\(relayed.standardOutput)")
        let refused = try await swaks(smtp, ["--from", "spammer@example.test", "--to", "postmaster@example.org"])
        #expect(refused.standardOutput.contains("<** 550 5.7.1"), "\(refused.standardOutput)")
        process.send(signal: SIGTERM)
        #expect(try await offThread { process.exitStatus(within: .seconds(60)) } == 0)
    }
}

import Foundation
import Testing
import TestSupport

/// `swiftmta serve`, `check-config` and `auth` as an administrator meets them: start-up errors in
/// one line, every configuration error at once, connection limits, a graceful SIGTERM, and the
/// memory an idle connection costs.
@Suite("swiftmta serve: start, limits, shutdown; check-config; auth", .serialized)
struct ReferenceServerLifecycleTests {
    static var executable: String { ServeProcess.executable }

    @Test("SIGTERM: no new connections, 421 at an open session's next command, exit 0")
    func gracefulShutdown() async throws {
        let server = try await offThread {
            try ServeProcess(standardConfiguration.replacingOccurrences(of: "shutdown_grace_period = \"5s\"", with: "shutdown_grace_period = \"120s\""), modes: ["smtp"]) { directory in
                try ServeProcess.addUser("alice", password: "wonder land", in: directory)
            }
        }
        let client = try await LineClient(port: server["smtp"])
        #expect(try await client.readReply() == "220 mx.example.test ESMTP SwiftMTA ready")
        try await client.send("EHLO client.example\r\n")
        _ = try await client.readReply()
        server.process.send(signal: SIGTERM)
        // The listener closes at once; the open session waits for its next command.
        let port = server["smtp"]
        let closed = try await offThread { () -> Bool in
            for _ in 0..<500 {
                if !LoopbackPort.isAccepting(port) { return true }
                usleep(20_000)
            }
            return false
        }
        #expect(closed)
        try await client.send("MAIL FROM:<a@example.test>\r\n")
        #expect(try await client.readReply() == "421 4.3.2 mx.example.test Service shutting down, closing connection")
        #expect(try await client.readToEnd() == "")
        #expect(try await offThread { server.process.exitStatus(within: .seconds(20)) } == 0)
        #expect(server.output.contains("received SIGTERM: shutting down"))
    }

    @Test("SIGTERM with an idle session: closed after the grace period, exit 0")
    func gracePeriod() async throws {
        let server = try await ReferenceServerClientTests.server("", modes: ["smtp"])
        let client = try await LineClient(port: server["smtp"])
        _ = try await client.readReply()
        server.process.send(signal: SIGTERM)
        // standardConfiguration's grace period is 5 s; the client says nothing.
        #expect(try await client.readToEnd() == "")
        #expect(try await offThread { server.process.exitStatus(within: .seconds(20)) } == 0)
        #expect(server.output.contains("grace period over: closing 1 sessions"))
    }

    @Test("a port in use: one line naming the address and port, exit 71")
    func portInUse() async throws {
        let server = try await ReferenceServerClientTests.server(modes: ["smtp"])
        let directory = try TemporaryDirectory()
        let file = try directory.write("busy.toml", "hostname = \"mx.example.test\"\n[[listen]]\naddress = \"127.0.0.1:\(server["smtp"])\"\n")
        let result = try await ExternalTool.run(Self.executable, ["serve", "--config", file, "--allow-root"])
        #expect(result.status == 71)
        #expect(result.standardError == "swiftmta serve: cannot listen on 127.0.0.1:\(server["smtp"]): the address is already in use (EADDRINUSE)\n")
    }

    @Test("a bad host name: one line, before anything starts", arguments: [
        ("", "the host name is empty"),
        ("bad host", "may hold only letters, digits, hyphens and dots"),
        ("-mx.example", "starts or ends with a hyphen"),
        ("mx..example", "has an empty label"),
    ])
    func badHostname(name: String, message: String) async throws {
        let result = try await ExternalTool.run(Self.executable, ["serve"] + (name.hasPrefix("-") ? ["--hostname=\(name)"] : ["--hostname", name]))
        #expect(result.status == 64)
        #expect(result.standardError.hasPrefix("swiftmta serve: --hostname: "), "\(result.standardError)")
        #expect(result.standardError.contains(message), "\(result.standardError)")
        #expect(result.standardError.split(separator: "\n").count == 1)
    }

    @Test("check-config lists every error with file, line and key: keys, types, a map that cannot open, an expired certificate")
    func checkConfigListsAll() async throws {
        let directory = try TemporaryDirectory()
        try await ExternalTool.runChecked("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", directory.file("old.key"),
                                                     "-out", directory.file("request.pem"), "-subj", "/CN=mx.example.test", "-days", "1"])
        try await ExternalTool.runChecked("openssl", ["x509", "-in", directory.file("request.pem"), "-signkey", directory.file("old.key"),
                                                     "-days", "-1", "-out", directory.file("old.crt")])
        let file = try directory.write("swiftmta.toml", """
            hostname = "mx.example.test"

            [maps]
            access = "hash:missing-access"

            [smtp]
            greeting = "$j ready $q"
            privacy = ["goaway", "nosuchflag"]
            max_recipients = "many"

            [tls]
            certificate = "old.crt"
            key = "old.key"

            [[listen]]
            address = "127.0.0.1:25"
            mode = "smtps"
            max_connection = 3

            """)
        let result = try await ExternalTool.run(Self.executable, ["check-config", file])
        #expect(result.status == 78)
        let lines = result.standardOutput.split(separator: "\n").map(String.init)
        let expected = [
            "\(file):7: smtp.greeting: $q is not a macro",
            "\(file):8: smtp.privacy: \"nosuchflag\" is not a privacy flag",
            "\(file):9: smtp.max_recipients: must be an integer",
            "\(file):18: listen[0].max_connection: unknown key; did you mean max_connections?",
            "\(file):4: maps.access: hash:\(directory.path)/missing-access: cannot open \(directory.path)/missing-access.db",
            "\(file):12: tls.certificate: ",
        ]
        for prefix in expected {
            #expect(lines.contains { $0.hasPrefix(prefix) }, "missing \(prefix) in \(result.standardOutput)")
        }
        #expect(lines.contains { $0.hasPrefix("\(file):12: tls.certificate:") && $0.contains("expired") }, "\(result.standardOutput)")
        #expect(lines.last == "\(expected.count) errors")
    }

    @Test("check-config on a good file says what would run")
    func checkConfigGood() async throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write("swiftmta.toml", standardConfiguration + "\n[[listen]]\naddress = \"127.0.0.1:2525\"\n")
        try await offThread { try ServeProcess.addUser("alice", password: "wonder land", in: directory) }
        let result = try await ExternalTool.run(Self.executable, ["check-config", file])
        #expect(result.status == 0, "\(result.standardOutput)")
        #expect(result.standardOutput.hasPrefix("\(file): OK\nhost name "))
        #expect(result.standardOutput.contains("listen 127.0.0.1:2525 (smtp, at most 1000 connections, 50 per client)"))
        #expect(result.standardOutput.contains("a self-signed certificate will be made in \(directory.path)/var/tls/cert.pem on first start"))
    }

    @Test("auth add, list and remove; list never shows a credential")
    func authCommands() async throws {
        let directory = try TemporaryDirectory()
        let file = directory.file("passwd")
        let added = try await ExternalTool.runChecked(Self.executable, ["auth", "add", "--file", file, "alice"], input: "first password\n")
        #expect(added.standardOutput == "added alice in \(file) (SCRAM-SHA-256)\n")
        let plaintext = try await ExternalTool.runChecked(Self.executable, ["auth", "add", "--file", file, "--store-plaintext", "bob"], input: "bobs password\n")
        #expect(plaintext.standardError.contains("warning: the password of bob is stored in plaintext"))
        _ = try await ExternalTool.runChecked(Self.executable, ["auth", "add", "--file", file, "alice"], input: "second password\n")
        let listed = try await ExternalTool.runChecked(Self.executable, ["auth", "list", "--file", file])
        #expect(listed.standardOutput == "alice\tSCRAM-SHA-256\nbob\tSCRAM-SHA-256, plaintext password\n")
        let attributes = try FileManager.default.attributesOfItem(atPath: file)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let removed = try await ExternalTool.runChecked(Self.executable, ["auth", "remove", "--file", file, "bob"])
        #expect(removed.standardOutput == "removed bob from \(file)\n")
        let missing = try await ExternalTool.run(Self.executable, ["auth", "remove", "--file", file, "bob"])
        #expect(missing.status == 1)
        #expect(missing.standardError == "swiftmta auth: no user bob in \(file)\n")
        let contents = try String(contentsOfFile: file, encoding: .utf8)
        #expect(contents.hasPrefix("alice: SCRAM-SHA-256$4096:"))
        #expect(!contents.contains("password"))
    }

    @Test("connections over a listener's limit, and over the per-client limit, get 421 4.7.0")
    func connectionLimits() async throws {
        let server = try await offThread {
            try ServeProcess("", modes: ["smtp"], listenerOptions: "max_connections = 3\nmax_connections_per_client = 2\n")
        }
        var open: [LineClient] = []
        for _ in 0..<2 {
            let client = try await LineClient(port: server["smtp"])
            #expect(try await client.readReply() == "220 mx.example.test ESMTP SwiftMTA ready")
            open.append(client)
        }
        let third = try await LineClient(port: server["smtp"])
        #expect(try await third.readToEnd() == "421 4.7.0 mx.example.test Error: too many connections from your address, try again later\r\n")
        let other = try await swaks(server["smtp"], ["--to", "root@localhost", "--quit-after", "CONNECT"], localAddress: "127.0.0.5")
        #expect(other.standardOutput.contains("220 mx.example.test"), "\(other.standardOutput)")
        _ = open
    }

    @Test("1,000 concurrent connections are greeted; the RSS an idle connection costs is measured")
    func thousandConnections() async throws {
        let server = try await offThread {
            try ServeProcess("", modes: ["smtp"], listenerOptions: "max_connections = 2000\nmax_connections_per_client = 2000\n")
        }
        let pid = try #require(server.process.processIdentifier)
        let output = try await ExternalTool.runChecked("python3", ["-c", """
            import socket, selectors, time
            def rss():
                for line in open('/proc/\(pid)/status'):
                    if line.startswith('VmRSS:'): return int(line.split()[1])
            # Warm up: one session, so that the first-use allocations are not counted per connection.
            w = socket.create_connection(('127.0.0.1', \(server["smtp"])))
            w.recv(1024); w.sendall(b'QUIT\\r\\n'); w.recv(1024); w.close()
            time.sleep(0.5)
            before = rss()
            sockets = []
            for i in range(1000):
                s = socket.create_connection(('127.0.0.1', \(server["smtp"])), timeout=60)
                sockets.append(s)
            greeted = 0
            for s in sockets:
                data = b''
                while not data.endswith(b'\\r\\n'):
                    chunk = s.recv(1024)
                    if not chunk: break
                    data += chunk
                if data.startswith(b'220 '): greeted += 1
            time.sleep(1)
            after = rss()
            print(greeted, before, after, (after - before) * 1024 // 1000)
            for s in sockets: s.close()
            """], timeout: .seconds(120)).standardOutput
        let fields = output.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { Int($0) }
        try #require(fields.count == 4, "\(output)")
        #expect(fields[0] == 1000)
        let perConnection = fields[3]
        print("RSS: \(fields[1]) KiB before, \(fields[2]) KiB with 1,000 idle connections: \(perConnection) bytes per idle connection")
        // A bound, not a speed: an idle session holds its buffers and state machine, no more.
        #expect(perConnection < 128 * 1024, "\(perConnection) bytes per idle connection")
    }
}

extension ReferenceServerLifecycleTests {
    @Test("a user added with swiftmta auth add while the server runs can authenticate at once")
    func passwordFileReloads() async throws {
        let server = try await ReferenceServerClientTests.server(modes: ["smtp"])
        let before = try await swaks(server["smtp"], [
            "--to", "root@localhost", "-tls", "-a", "PLAIN", "--auth-user", "dave", "--auth-password", "new user", "--quit-after", "AUTH",
        ])
        #expect(before.standardOutput.contains("535 5.7.8"), "\(before.standardOutput)")
        try await offThread { try ServeProcess.addUser("dave", password: "new user", in: server.directory) }
        let after = try await swaks(server["smtp"], [
            "--to", "root@localhost", "-tls", "-a", "PLAIN", "--auth-user", "dave", "--auth-password", "new user", "--quit-after", "AUTH",
        ])
        #expect(after.standardOutput.contains("235 2.7.0 Authentication successful"), "\(after.standardOutput)")
    }
}

extension ReferenceServerLifecycleTests {
    @Test("failed AUTH is answered after a delay that doubles per failure from the address, across connections")
    func failureDamping() async throws {
        let server = try await offThread {
            try ServeProcess(standardConfiguration.replacingOccurrences(of: "options = [\"p\"]", with: "options = [\"p\"]\nfailure_delay = \"50ms\""), modes: ["smtp"]) { directory in
                try ServeProcess.addUser("alice", password: "wonder land", in: directory)
            }
        }
        for _ in 0..<3 {
            let wrong = try await swaks(server["smtp"], [
                "--to", "root@localhost", "-a", "CRAM-MD5", "--auth-user", "alice", "--auth-password", "guess", "--quit-after", "AUTH",
            ])
            #expect(wrong.standardOutput.contains("535 5.7.8"))
        }
        let delays = server.output.split(separator: "\n").filter { $0.contains("AUTH failure (CRAM-MD5)") }.compactMap { $0.split(separator: "delay=").last }
        #expect(delays == ["50ms", "100ms", "200ms"], "\(server.output)")
        #expect(!server.output.contains("guess"))
    }
}

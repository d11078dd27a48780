import Foundation
import Testing
import TestSupport

/// `swiftmta serve` finds each client's host name before it greets, as Sendmail does: access
/// `Connect:` entries by name decide, the `Received:` header and the log show the name, and a
/// name that does not resolve back is not used.
@Suite("swiftmta serve: client host names from DNS", .serialized)
struct ReferenceServerClientNameTests {
    @Test("a confirmed name shows in Received: and the queue; a Connect: entry by name refuses; a forged name is not used")
    func namesFromDNS() async throws {
        let dns = try await offThread {
            try DnsmasqServer(records: [
                "--local=/example.test/", "--local=/0.0.127.in-addr.arpa/",
                "--host-record=client.example.test,127.0.0.2",
                "--host-record=blocked.example.test,127.0.0.3",
                "--ptr-record=4.0.0.127.in-addr.arpa,blocked.example.test",
            ])
        }
        defer { dns.stop() }
        let server = try await offThread {
            try ServeProcess("""
                [maps]
                access = "text:access"

                [dns]
                nameservers = ["\(dns.address)"]
                reverse_lookups = true
                hosts_file = ""
                """, modes: ["smtp"]) { directory in
                try directory.write("access", "Connect:blocked.example.test REJECT\n")
            }
        }
        let port = server["smtp"]
        // 127.0.0.2 is client.example.test both ways.
        let named = try await swaks(port, ["--to", "root@localhost", "--from", "a@example.test", "--ehlo", "helo.example.test"], localAddress: "127.0.0.2")
        #expect(named.standardOutput.contains("250 2.0.0"), "\(named.standardOutput)\(server.output)")
        // 127.0.0.3 is blocked.example.test both ways: refused by its name (at MAIL, as Sendmail does).
        let blocked = try await swaks(port, ["--to", "root@localhost", "--from", "a@example.test", "--quit-after", "MAIL"], localAddress: "127.0.0.3")
        #expect(blocked.standardOutput.contains("550 5.7.1 Access denied"), "\(blocked.standardOutput)")
        // 127.0.0.4 claims blocked.example.test, whose address is 127.0.0.3: the name is not used.
        let forged = try await swaks(port, ["--to", "root@localhost", "--from", "a@example.test"], localAddress: "127.0.0.4")
        #expect(forged.standardOutput.contains("250 2.0.0"), "\(forged.standardOutput)")

        let stored = try await server.stored()
        #expect(stored.count == 2)
        let texts = stored.map(\.text)
        #expect(texts.contains { $0.hasPrefix("Received: from helo.example.test (client.example.test [127.0.0.2])") }, "\(texts)")
        #expect(texts.contains { $0.contains("([127.0.0.4])") && !$0.contains("blocked.example.test") }, "\(texts)")
        #expect(server.output.contains("relay=client.example.test [127.0.0.2]"), "\(server.output)")
        #expect(server.output.contains("relay=[127.0.0.4] (may be forged)"), "\(server.output)")
    }

    @Test("a hosts_file that cannot be read is a configuration error naming it")
    func unreadableHostsFile() async throws {
        let directory = try TemporaryDirectory()
        let file = try directory.write("swiftmta.toml", """
            hostname = "mx.example.test"
            [dns]
            hosts_file = "no-such-hosts"
            [[listen]]
            address = "127.0.0.1:0"
            """)
        let result = try await ExternalTool.run(ServeProcess.executable, ["check-config", file])
        #expect(result.status == 78)
        #expect(result.standardOutput.contains("dns.hosts_file"), "\(result.standardOutput)\(result.standardError)")
        #expect(result.standardOutput.contains("no-such-hosts"), "\(result.standardOutput)")
    }
}

import MailMaps
import MailRouting
import Testing
import TestSupport

/// Sendmail's `${client_name}` and `${client_resolve}`: the reverse lookup of a client, confirmed
/// by a forward one, against a real DNS server (dnsmasq) the test starts, and the host table first.
@Suite("Client host names: PTR confirmed by A/AAAA, the host table first")
struct ClientNameLookupTests {
    /// dnsmasq with the names the cases need: one confirmed (`--host-record` gives A and PTR),
    /// one whose PTR names a host with another address (forged), one with no PTR (NXDOMAIN).
    static func dns() throws -> DnsmasqServer {
        try DnsmasqServer(records: [
            "--local=/example.test/", "--local=/2.0.192.in-addr.arpa/", "--local=/8.b.d.0.1.0.0.2.ip6.arpa/",
            "--host-record=client.example.test,192.0.2.10",
            "--host-record=client6.example.test,2001:db8::10",
            "--ptr-record=11.2.0.192.in-addr.arpa,liar.example.test",
            "--host-record=liar.example.test,192.0.2.99",
        ], alsoIPv6: false)
    }

    static func resolver(_ nameserver: String, timeout: Duration = .seconds(5)) throws -> DNSResolver {
        var configuration = DNSResolver.Configuration()
        configuration.nameservers = [try DNSResolver.Configuration.Nameserver(parsing: nameserver)]
        configuration.timeout = timeout
        configuration.attempts = 1
        return DNSResolver(configuration: configuration)
    }

    @Test("confirmed, forged and unknown clients, IPv4 and IPv6, through dnsmasq")
    func throughDNS() async throws {
        let server = try await offThread { try Self.dns() }
        defer { server.stop() }
        let lookup = ClientNameLookup(hosts: nil, resolver: try Self.resolver(server.address))

        let confirmed = await lookup.identify("192.0.2.10")
        #expect(confirmed.hostName == "client.example.test")
        #expect(confirmed.nameResolution == .confirmed)

        let six = await lookup.identify("2001:db8::10")
        #expect(six.hostName == "client6.example.test")
        #expect(six.nameResolution == .confirmed)

        let forged = await lookup.identify("192.0.2.11")
        #expect(forged.hostName == nil)
        #expect(forged.nameResolution == .forged)

        let unknown = await lookup.identify("192.0.2.12")
        #expect(unknown.hostName == nil)
        #expect(unknown.nameResolution == .failed)
    }

    @Test("a nameserver that does not answer: TEMP, not FAIL")
    func silentNameserver() async throws {
        // A UDP port nobody reads: the query times out.
        let port = try LoopbackPort.free()
        let lookup = ClientNameLookup(hosts: nil, resolver: try Self.resolver("127.0.0.1:\(port)", timeout: .seconds(1)))
        let client = await lookup.identify("192.0.2.10")
        #expect(client.nameResolution == .temporaryFailure)
        #expect(client.hostName == nil)
    }

    @Test("the host table answers first, both ways; DNS confirms what it does not hold")
    func hostTable() async throws {
        let server = try await offThread { try Self.dns() }
        defer { server.stop() }
        let hosts = HostsFile(parsing: """
            # comment line
            127.0.0.1\tlocalhost
            ::1 localhost ip6-localhost   # trailing comment
            192.0.2.20 files.example.test files
            192.0.2.12 client.example.test
            not-an-address ignored.example.test
            """)
        #expect(hosts.hostName(of: "127.0.0.1") == "localhost")
        #expect(hosts.hostName(of: "0:0:0:0:0:0:0:1") == "localhost")
        #expect(hosts.addresses(of: "FILES.example.test.") == ["192.0.2.20"])
        #expect(hosts.addresses(of: "ignored.example.test").isEmpty)

        let lookup = ClientNameLookup(hosts: hosts, resolver: try Self.resolver(server.address))
        let local = await lookup.identify("127.0.0.1")
        #expect(local.hostName == "localhost")
        #expect(local.nameResolution == .confirmed)
        let files = await lookup.identify("192.0.2.20")
        #expect(files.hostName == "files.example.test")
        // 192.0.2.12 has no PTR in DNS, but the table names it, and the table's forward entry
        // holds it.
        let tableOnly = await lookup.identify("192.0.2.12")
        #expect(tableOnly.hostName == "client.example.test")
        #expect(tableOnly.nameResolution == .confirmed)
        // DNS still answers what the table does not know.
        let dns = await lookup.identify("192.0.2.10")
        #expect(dns.hostName == "client.example.test")
    }

    @Test("relaying by the client's name needs a confirmed name; a loopback client's name never relays")
    func relayByName() async throws {
        let server = try await offThread { try Self.dns() }
        defer { server.stop() }
        let fixture = try RoutingFixture(access: "client.example.test RELAY\nliar.example.test RELAY\nlocalhost RELAY\n", nameserver: server.address)
        let hosts = HostsFile(parsing: "127.0.0.1 localhost\n")
        var resolverConfiguration = DNSResolver.Configuration()
        resolverConfiguration.nameservers = [try .init(parsing: server.address)]
        let lookup = ClientNameLookup(hosts: hosts, resolver: DNSResolver(configuration: resolverConfiguration))

        let cases: [(address: String, reply: String)] = [
            ("192.0.2.10", "relay"),
            ("192.0.2.11", "550 5.7.1 Relaying denied. IP name possibly forged [192.0.2.11]"),
            ("192.0.2.12", "550 5.7.1 Relaying denied. IP name lookup failed [192.0.2.12]"),
            ("127.0.0.1", "550 5.7.1 Relaying denied"),
        ]
        for (address, expected) in cases {
            let client = await lookup.identify(address)
            let verdict = try await fixture.rcpt("friend@elsewhere.example", from: address, host: client.hostName, resolution: client.nameResolution)
            switch verdict.action {
            case .relay, .ok:
                #expect(expected == "relay", "\(address): \(verdict)")
            case .reject(let reply):
                #expect("\(reply.code) \(reply.enhancedCode?.description ?? "") \(reply.lines.joined(separator: " "))" == expected, "\(address): \(verdict.trace)")
            case .pass, .discard:
                Issue.record("\(address): \(verdict)")
            }
        }
    }
}

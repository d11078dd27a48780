import MailMaps
import Testing
import TestSupport

/// The zone a private dnsmasq serves: MX, A, AAAA, TXT, TLSA, and a DNSBL zone.
private let records = [
    "--local=/example.test/", "--local=/zen.example/",
    "--local-ttl=300",
    "--mx-host=example.test,mx2.example.test,20",
    "--mx-host=example.test,mx1.example.test,10",
    "--host-record=mx1.example.test,192.0.2.1",
    "--host-record=mx2.example.test,192.0.2.2,2001:db8::2",
    "--txt-record=example.test,v=spf1 mx -all",
    "--dns-rr=_25._tcp.mx1.example.test,52,030101A1B2C3D4",
    // 192.0.2.99 and 2001:db8::99 are listed; the list gives a reason in TXT.
    "--host-record=99.2.0.192.zen.example,127.0.0.2",
    "--txt-record=99.2.0.192.zen.example,Listed: see https://zen.example/192.0.2.99",
    "--host-record=9.9.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.example,127.0.0.4",
]

@Suite("DNS through the libc resolver, against a private dnsmasq", .serialized)
struct DNSTests {
    let server: DnsmasqServer
    let resolver: DNSResolver

    init() throws {
        server = try DnsmasqServer(records: records)
        let configuration = DNSResolver.Configuration(
            nameservers: [try .init(parsing: server.address)], timeout: .seconds(2), attempts: 1)
        resolver = DNSResolver(configuration: configuration)
    }

    @Test("MX records, lowest preference first")
    func mx() async throws {
        let answer = try await resolver.mx("example.test")
        #expect(answer.records == [MXRecord(preference: 10, exchange: "mx1.example.test"),
                                   MXRecord(preference: 20, exchange: "mx2.example.test")])
        #expect(answer.nameExists)
        #expect(answer.ttl == .seconds(300))
    }

    @Test("A and AAAA records")
    func addresses() async throws {
        #expect(try await resolver.ipv4Addresses("mx1.example.test").records == ["192.0.2.1"])
        #expect(try await resolver.ipv4Addresses("MX2.Example.Test.").records == ["192.0.2.2"])
        #expect(try await resolver.ipv6Addresses("mx2.example.test").records == ["2001:db8::2"])
        let none = try await resolver.ipv6Addresses("mx1.example.test")
        #expect(none.records.isEmpty)
        #expect(none.nameExists)
    }

    @Test("TXT and TLSA records")
    func txtAndTLSA() async throws {
        #expect(try await resolver.txt("example.test").records == ["v=spf1 mx -all"])
        let tlsa = try await resolver.tlsa(port: 25, host: "mx1.example.test")
        // The RDATA as RFC 6698 §2.1 lays it out: usage, selector, matching type, data.
        #expect(tlsa.records == [[3, 1, 1, 0xa1, 0xb2, 0xc3, 0xd4]])
        // A loopback dnsmasq without DNSSEC sets no AD bit.
        #expect(!tlsa.isAuthenticated)
    }

    @Test("a name that does not exist is an answer, not an error")
    func nxdomain() async throws {
        let answer = try await resolver.mx("nowhere.example.test")
        #expect(answer.records.isEmpty)
        #expect(!answer.nameExists)
    }

    @Test("DNSBL: listed and not listed, IPv4 and IPv6")
    func dnsbl() async throws {
        let listed = try #require(try await resolver.dnsbl("192.0.2.99", zone: "zen.example", withReason: true))
        #expect(listed.addresses == ["127.0.0.2"])
        #expect(listed.reason == "Listed: see https://zen.example/192.0.2.99")
        #expect(listed.name == "99.2.0.192.zen.example")
        #expect(try await resolver.dnsbl("192.0.2.100", zone: "zen.example") == nil)

        let listed6 = try await resolver.dnsbl("2001:db8::99", zone: "zen.example")
        #expect(listed6?.addresses == ["127.0.0.4"])
        #expect(try await resolver.dnsbl("IPv6:2001:db8::100", zone: "zen.example") == nil)

        let error = await #expect(throws: MailMapError.self) { try await resolver.dnsbl("mail.example", zone: "zen.example") }
        #expect(error?.kind == .lookupFailed)
    }

    @Test("dns: maps, through the registry")
    func dnsMaps() async throws {
        var registry = MailMapRegistry.standard
        registry.resolver = resolver
        let mx = try await registry.open("dns:-R MX")
        #expect(try await mx.lookup("example.test") == "mx1.example.test")
        let allMX = try await registry.open("dns:-R MX -z,")
        #expect(try await allMX.lookup("example.test") == "mx1.example.test,mx2.example.test")
        let address = try await registry.open("dns:-R A -B example.test")
        #expect(try await address.lookup("mx2") == "192.0.2.2")
        #expect(try await address.lookup("absent") == nil)
        let blocklist = try await registry.open("dns:-R DNSBL -B zen.example -T<TMPF>")
        #expect(try await blocklist.lookup("192.0.2.99") == "127.0.0.2")
        #expect(try await blocklist.lookup("192.0.2.1") == nil)
        let tlsa = try await registry.open("dns:-R TLSA")
        #expect(try await tlsa.lookup("_25._tcp.mx1.example.test") == "3 1 1 a1b2c3d4")
    }

    @Test("answers are kept for their TTL: found again with the server stopped")
    func cache() async throws {
        #expect(try await resolver.mx("example.test").records.count == 2)
        server.stop()
        #expect(try await resolver.mx("example.test").records.count == 2)
        resolver.removeAllCachedAnswers()
        let error = await #expect(throws: MailMapError.self) { try await resolver.mx("example.test") }
        #expect(error?.kind == .unavailable)
        try server.start()
        #expect(try await resolver.mx("example.test").records.count == 2)
    }
}

@Suite("DNS: failures and nameserver settings")
struct DNSFailureTests {
    @Test("a nameserver that never answers is an error naming it, after the timeout")
    func timeout() async throws {
        let silent = try SilentUDPPort()
        let configuration = DNSResolver.Configuration(
            nameservers: [try .init(address: "127.0.0.1", port: silent.port)], timeout: .seconds(1), attempts: 1)
        let resolver = DNSResolver(configuration: configuration)
        let start = ContinuousClock.now
        let error = await #expect(throws: MailMapError.self) { try await resolver.mx("example.test") }
        let elapsed = ContinuousClock.now - start
        #expect(error?.kind == .unavailable)
        #expect(error?.message.contains("127.0.0.1:\(silent.port)") == true, "\(String(describing: error))")
        #expect(error?.message.contains("MX query for example.test") == true)
        // A hang guard (the timeout is 1 s): a loaded machine can add tens of seconds.
        #expect(elapsed < .seconds(120))

        // The same through a DNSBL map: an error, never "not listed".
        var registry = MailMapRegistry.standard
        registry.resolver = resolver
        let blocklist = try await registry.open("dns:-R DNSBL -B zen.example")
        let mapError = await #expect(throws: MailMapError.self) { try await blocklist.lookup("192.0.2.99") }
        #expect(mapError?.message.hasPrefix("dns:-R DNSBL -B zen.example: ") == true, "\(String(describing: mapError))")
    }

    @Test("an IPv6 nameserver ([::1]:port)")
    func ipv6Nameserver() async throws {
        let server = try DnsmasqServer(records: ["--local=/example.test/", "--mx-host=example.test,mx1.example.test,10"], alsoIPv6: true)
        let resolver = DNSResolver(configuration: .init(
            nameservers: [try .init(parsing: "[::1]:\(server.port)")], timeout: .seconds(2), attempts: 1))
        #expect(try await resolver.mx("example.test").records.map(\.exchange) == ["mx1.example.test"])
    }

    @Test("nameserver settings that do not parse are errors naming them", arguments: [
        "mail.example.com", "127.0.0.1:99999", "127.0.0.1:x", "[::1]x",
    ])
    func badNameserver(text: String) {
        let error = #expect(throws: MailMapError.self) { try DNSResolver.Configuration.Nameserver(parsing: text) }
        #expect(error?.kind == .badSpec)
        #expect(error?.message.contains(text.split(separator: ":").first.map(String.init) ?? text) == true)
    }

    @Test("nameserver settings that parse")
    func nameservers() throws {
        #expect(try DNSResolver.Configuration.Nameserver(parsing: "127.0.0.1:5353").description == "127.0.0.1:5353")
        #expect(try DNSResolver.Configuration.Nameserver(parsing: "[::1]:5353").port == 5353)
        #expect(try DNSResolver.Configuration.Nameserver(parsing: "::1").description == "[::1]:53")
        #expect(try DNSResolver.Configuration.Nameserver(parsing: "192.0.2.53").port == 53)
    }

    @Test("names that are not domain names are errors, not queries")
    func badNames() async {
        let resolver = DNSResolver(configuration: .init(nameservers: [try! .init(address: "127.0.0.1", port: 9)]))
        for name in ["", "has space.example", String(repeating: "a", count: 300)] {
            let error = await #expect(throws: MailMapError.self) { try await resolver.mx(name) }
            #expect(error?.kind == .lookupFailed, "\(name)")
        }
    }
}
